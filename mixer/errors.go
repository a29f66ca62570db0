package mixer

import "errors"

var (
	// ErrInvalidConfig wraps every Config validation failure.
	ErrInvalidConfig = errors.New("mixer: invalid config")
	// ErrClosed is returned by AddLeg after Close.
	ErrClosed = errors.New("mixer: closed")
	// ErrDuplicateLeg is returned by AddLeg for an ID already in the mixer.
	ErrDuplicateLeg = errors.New("mixer: duplicate leg id")
	// ErrLegRemoved is returned by Push on a leg that was removed.
	ErrLegRemoved = errors.New("mixer: leg removed")
	// ErrInvalidFrame is returned by Push for a payload that is not one
	// 20 ms Opus packet.
	ErrInvalidFrame = errors.New("mixer: not a 20 ms opus packet")
)
