package mixer

import "time"

// Clock is the Mixer's time source, injected so tests run in virtual time. It
// has the same shape as signaling/meeting.Clock, so one implementation serves
// both.
type Clock interface {
	Now() time.Time
	// Tick returns a channel that receives the time every d, and a function
	// that stops it. Like time.Ticker it may drop ticks a slow reader has not
	// taken; the Mixer catches up from the time it receives.
	Tick(d time.Duration) (<-chan time.Time, func())
}

// SystemClock is the real clock.
type SystemClock struct{}

var _ Clock = SystemClock{}

// Now returns time.Now().
func (SystemClock) Now() time.Time { return time.Now() }

// Tick wraps time.NewTicker.
func (SystemClock) Tick(d time.Duration) (<-chan time.Time, func()) {
	t := time.NewTicker(d)
	return t.C, t.Stop
}
