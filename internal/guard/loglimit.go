package guard

import (
	"sync"
	"time"
)

// LogLimiter lets through at most Burst log lines a second: lines that a
// remote peer can cause (a refusal, a pion warning per packet) must not
// flood the log.
type LogLimiter struct {
	now   func() time.Time
	burst int

	mu     sync.Mutex // guards window and n
	window time.Time
	n      int
}

// NewLogLimiter returns a LogLimiter on the clock now.
func NewLogLimiter(burst int, now func() time.Time) *LogLimiter {
	return &LogLimiter{now: now, burst: burst}
}

// Allow reports whether one more line may be logged in this second.
func (l *LogLimiter) Allow() bool {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.window) >= time.Second {
		l.window, l.n = now, 0
	}
	l.n++
	return l.n <= l.burst
}
