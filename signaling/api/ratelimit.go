package api

import (
	"sync"
	"time"
)

// rateLimiter is a token bucket per access key: rate tokens a second, up to
// burst (Chime's defaults: 10 and 20). A zero rate disables it.
type rateLimiter struct {
	rate  float64
	burst float64
	now   func() time.Time

	mu      sync.Mutex // guards buckets
	buckets map[string]*bucket
}

type bucket struct {
	tokens float64
	last   time.Time
}

// NewRateLimiter returns the node-local token bucket per access key: rate
// requests a second up to burst (rate 0: no limit).
func NewRateLimiter(rate float64, burst int, now func() time.Time) Limiter {
	return newRateLimiter(rate, burst, now)
}

func newRateLimiter(rate float64, burst int, now func() time.Time) *rateLimiter {
	return &rateLimiter{rate: rate, burst: float64(burst), now: now, buckets: map[string]*bucket{}}
}

// Allow takes one token from key's bucket, reporting whether there was one.
func (l *rateLimiter) Allow(key string) bool {
	if l.rate <= 0 {
		return true
	}
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.buckets[key]
	if b == nil {
		b = &bucket{tokens: l.burst, last: now}
		l.buckets[key] = b // keys come from verified credentials: bounded set
	}
	if el := now.Sub(b.last).Seconds(); el > 0 {
		b.tokens = min(l.burst, b.tokens+el*l.rate)
		b.last = now
	}
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}
