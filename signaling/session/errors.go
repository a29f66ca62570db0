package session

import "errors"

var (
	// ErrClosed: the session or handler is closed.
	ErrClosed = errors.New("session: closed")
	// ErrSlowClient: the session's send queue was full; the session is
	// being dropped.
	ErrSlowClient = errors.New("session: send queue full")
	// ErrBadRequest may be wrapped by a Media implementation to make the
	// SUBSCRIBE error status 400 instead of 500.
	ErrBadRequest = errors.New("session: bad request")
	// ErrMediaUnavailable may be wrapped by a Media implementation to make
	// the SUBSCRIBE error status 503.
	ErrMediaUnavailable = errors.New("session: media not available")
)
