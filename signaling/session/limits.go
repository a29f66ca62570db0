package session

import (
	"strings"
	"sync"
	"time"
)

// attendeeLimits are one attendee's token buckets (Config.ConnectRate,
// SubscribeRate, UnmuteRate). They live in the Handler, not the session or
// the room, so that reconnecting (a new session; an empty room is even
// forgotten) does not refill them.
type attendeeLimits struct {
	mu        sync.Mutex // guards the buckets
	connect   bucket
	subscribe bucket
	unmute    bucket

	refs int // sessions holding this entry; guarded by Handler.mu
}

// take takes one token from b at now, or none if it is empty.
func (l *attendeeLimits) take(b *bucket, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	b.fill(now)
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// idle reports whether every bucket is full again at now: forgetting the
// entry then changes nothing.
func (l *attendeeLimits) idle(now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, b := range []*bucket{&l.connect, &l.subscribe, &l.unmute} {
		if b.started {
			b.fill(now)
			if b.tokens < b.burst {
				return false
			}
		}
	}
	return true
}

// acquireLimits returns attendeeID's limits, holding a reference for the
// caller (release it with releaseLimits). The map stays bounded: entries
// nobody holds are dropped once their buckets are full again, swept
// whenever the map has doubled since the last sweep.
func (h *Handler) acquireLimits(attendeeID string) *attendeeLimits {
	key := strings.ToLower(attendeeID)
	h.mu.Lock()
	defer h.mu.Unlock()
	l := h.limits[key]
	if l == nil {
		if len(h.limits) >= h.limitsSweepAt {
			h.sweepLimitsLocked(h.p.Clock.Now())
		}
		c := h.cfg
		l = &attendeeLimits{
			connect:   bucket{rate: c.ConnectRate, burst: c.ConnectBurst},
			subscribe: bucket{rate: c.SubscribeRate, burst: c.SubscribeBurst},
			unmute:    bucket{rate: c.UnmuteRate, burst: c.UnmuteBurst},
		}
		h.limits[key] = l
	}
	l.refs++
	return l
}

func (h *Handler) releaseLimits(l *attendeeLimits) {
	h.mu.Lock()
	defer h.mu.Unlock()
	l.refs--
}

// sweepLimitsLocked forgets the entries nobody holds whose buckets are full.
func (h *Handler) sweepLimitsLocked(now time.Time) {
	for k, l := range h.limits {
		if l.refs == 0 && l.idle(now) {
			delete(h.limits, k)
		}
	}
	h.limitsSweepAt = max(2*len(h.limits), minLimitsSweep)
}

// minLimitsSweep is the map size below which no sweep runs.
const minLimitsSweep = 256
