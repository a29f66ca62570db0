package session

import "errors"

var (
	// ErrClosed: the session or handler is closed.
	ErrClosed = errors.New("session: closed")
	// ErrSlowClient: the session's send queue was full; the session is
	// being dropped.
	ErrSlowClient = errors.New("session: send queue full")
)
