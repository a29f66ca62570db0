package sfu

import (
	"errors"

	"github.com/confab-media/confab/signaling/media"
)

var (
	// ErrClosed is returned by Subscribe after Server.Close (status 503).
	ErrClosed = errors.New("sfu: closed")
	// ErrInvalidConfig wraps every Config validation failure.
	ErrInvalidConfig = errors.New("sfu: invalid config")
	// ErrOfferTooLarge: a SUBSCRIBE's offer is over Config.MaxOfferBytes
	// or has more m-lines than Config.MaxReceiveVideos allows (status 400).
	ErrOfferTooLarge = errors.New("sfu: offer too large")
	// ErrNotPermitted: the attendee's capabilities (or the meeting's
	// features) forbid what the SUBSCRIBE asks, a content share with
	// Content None (status 400).
	ErrNotPermitted = errors.New("sfu: not permitted by the attendee's capabilities")
)

// statusError gives an error the SUBSCRIBE_ACK status the client sees
// (media.Status): signaling maps it to the frame at its edge.
type statusError struct {
	status uint32
	err    error
}

func (e *statusError) Error() string  { return e.err.Error() }
func (e *statusError) Unwrap() error  { return e.err }
func (e *statusError) Status() uint32 { return e.status }

// badRequest marks err as the client's fault (status 400).
func badRequest(err error) error { return &statusError{media.StatusBadRequest, err} }

// unavailable marks err as media not available now (status 503).
func unavailable(err error) error { return &statusError{media.StatusUnavailable, err} }
