package meeting

import "time"

// Clock is the time source of the meeting service, injected so lifecycle
// tests run in virtual time (see signaling/internal/fakeclock).
type Clock interface {
	Now() time.Time
	// Tick returns a channel that receives the time every d, and a function
	// that stops it.
	Tick(d time.Duration) (<-chan time.Time, func())
}

// SystemClock is the real clock.
type SystemClock struct{}

// Now returns time.Now().
func (SystemClock) Now() time.Time { return time.Now() }

// Tick wraps time.NewTicker.
func (SystemClock) Tick(d time.Duration) (<-chan time.Time, func()) {
	t := time.NewTicker(d)
	return t.C, t.Stop
}
