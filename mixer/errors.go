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
	// 20 ms Opus packet, and by PushPCM for other than 20 ms of PCM.
	ErrInvalidFrame = errors.New("mixer: not one 20 ms frame")
	// ErrWrongCodec is returned by Push on a PCM leg and by PushPCM on an
	// Opus leg.
	ErrWrongCodec = errors.New("mixer: frame of another codec than the leg's")
)
