// Package clock is the one time source every Confab subsystem takes by
// injection, so that tests run in virtual time (internal/fakeclock is its
// one fake). Socket deadlines stay wall-clock by nature and do not use it.
package clock

import "time"

// Clock tells the time and makes tickers and timers.
type Clock interface {
	Now() time.Time
	// Tick returns a channel that receives the time every d, and a
	// function that stops it. Like time.Ticker it drops ticks a slow
	// reader has not taken.
	Tick(d time.Duration) (<-chan time.Time, func())
	// After returns a channel that receives the time once d has elapsed.
	After(d time.Duration) <-chan time.Time
}

// System is the real clock.
type System struct{}

var _ Clock = System{}

// Now returns time.Now().
func (System) Now() time.Time { return time.Now() }

// Tick wraps time.NewTicker.
func (System) Tick(d time.Duration) (<-chan time.Time, func()) {
	t := time.NewTicker(d)
	return t.C, t.Stop
}

// After returns time.After(d).
func (System) After(d time.Duration) <-chan time.Time { return time.After(d) }
