package turn

import (
	"sync"
	"time"
)

// logLimiter lets through at most burst lines per second.
type logLimiter struct {
	now   func() time.Time
	burst int

	mu     sync.Mutex // guards window and n
	window time.Time
	n      int
}

func (l *logLimiter) allow() bool {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.window) >= time.Second {
		l.window, l.n = now, 0
	}
	l.n++
	return l.n <= l.burst
}
