package demo

import (
	"sync"
	"time"
)

// maxTrackedIPs bounds the limiter's map: past it, idle addresses are
// forgotten, and if none is idle new addresses are refused until some are.
const maxTrackedIPs = 10000

// ipLimiter is a token bucket per client IP with a bounded map.
type ipLimiter struct {
	rate  float64
	burst float64
	max   int

	mu      sync.Mutex // guards buckets
	buckets map[string]*ipBucket
}

type ipBucket struct {
	tokens float64
	last   time.Time
}

func newIPLimiter(rate float64, burst, max int) *ipLimiter {
	return &ipLimiter{rate: rate, burst: float64(burst), max: max, buckets: map[string]*ipBucket{}}
}

// allow takes a token from ip's bucket.
func (l *ipLimiter) allow(ip string, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.buckets[ip]
	if b == nil {
		if len(l.buckets) >= l.max && !l.sweepLocked(now) {
			return false
		}
		b = &ipBucket{tokens: l.burst, last: now}
		l.buckets[ip] = b
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

// sweepLocked forgets the buckets that have refilled (an address idle that
// long is as good as new) and reports whether there is room now.
func (l *ipLimiter) sweepLocked(now time.Time) bool {
	full := time.Duration(l.burst / l.rate * float64(time.Second))
	for ip, b := range l.buckets {
		if now.Sub(b.last) >= full {
			delete(l.buckets, ip)
		}
	}
	return len(l.buckets) < l.max
}
