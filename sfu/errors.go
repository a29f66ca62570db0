package sfu

import "errors"

var (
	// ErrClosed is returned by Subscribe after Server.Close (it wraps
	// session.ErrMediaUnavailable, so the client sees status 503).
	ErrClosed = errors.New("sfu: closed")
	// ErrInvalidConfig wraps every Config validation failure.
	ErrInvalidConfig = errors.New("sfu: invalid config")
)
