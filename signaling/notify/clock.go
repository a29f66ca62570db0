package notify

import "time"

// Clock is the Service's source of time: enqueue times, retry-budget ages,
// backoff sleeps and webhook timestamps all come from it, so tests can run the
// retry schedule on virtual time.
type Clock interface {
	Now() time.Time
	// After returns a channel that receives once d has elapsed.
	After(d time.Duration) <-chan time.Time
}

// SystemClock is the wall clock.
type SystemClock struct{}

// Now returns time.Now().
func (SystemClock) Now() time.Time { return time.Now() }

// After returns time.After(d).
func (SystemClock) After(d time.Duration) <-chan time.Time { return time.After(d) }
