package sfu

import "errors"

var (
	// ErrClosed is returned by Subscribe after Server.Close (it wraps
	// session.ErrMediaUnavailable, so the client sees status 503).
	ErrClosed = errors.New("sfu: closed")
	// ErrInvalidConfig wraps every Config validation failure.
	ErrInvalidConfig = errors.New("sfu: invalid config")
	// ErrOfferTooLarge: a SUBSCRIBE's offer is over Config.MaxOfferBytes
	// or has more m-lines than Config.MaxReceiveVideos allows. Subscribe
	// wraps it with session.ErrBadRequest (SUBSCRIBE_ACK status 400).
	ErrOfferTooLarge = errors.New("sfu: offer too large")
	// ErrNotPermitted: the attendee's capabilities (or the meeting's
	// features) forbid what the SUBSCRIBE asks, a content share with
	// Content None. Wrapped with session.ErrBadRequest.
	ErrNotPermitted = errors.New("sfu: not permitted by the attendee's capabilities")
)
