// Package fakeclock is the one fake of internal/clock.Clock: a manually
// advanced clock for tests of code that takes an injected clock.
package fakeclock

import (
	"sync"
	"time"
)

// Clock is a virtual clock; it only moves when Advance is called.
type Clock struct {
	mu      sync.Mutex // guards now and tickers
	now     time.Time
	tickers []*ticker
}

type ticker struct {
	c      chan time.Time
	period time.Duration // 0: a one-shot timer (After)
	next   time.Time
	done   bool
}

// New returns a clock reading start.
func New(start time.Time) *Clock { return &Clock{now: start} }

// Now returns the virtual time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Tick returns a channel that receives the virtual time every d. Like
// time.Ticker it drops ticks a slow reader has not taken.
func (c *Clock) Tick(d time.Duration) (<-chan time.Time, func()) {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &ticker{c: make(chan time.Time, 1), period: d, next: c.now.Add(d)}
	c.tickers = append(c.tickers, t)
	return t.c, func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		t.done = true
	}
}

// After returns a channel that receives the virtual time once Advance has
// moved it d past now.
func (c *Clock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &ticker{c: make(chan time.Time, 1), next: c.now.Add(d)}
	c.tickers = append(c.tickers, t)
	return t.c
}

// Tickers reports how many tickers (and pending After timers) are running, so a test can wait until the
// code under test has started its ticker before advancing.
func (c *Clock) Tickers() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, t := range c.tickers {
		if !t.done {
			n++
		}
	}
	return n
}

// Advance moves virtual time forward by d, firing tickers at every period
// they cross, in order. A reader that has not taken a tick finds the
// latest one instead (ticks are conflated, newest wins), so code that acts
// on the tick's time sees where the clock got to.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	end := c.now.Add(d)
	for {
		var first *ticker
		for _, t := range c.tickers {
			if !t.done && !t.next.After(end) && (first == nil || t.next.Before(first.next)) {
				first = t
			}
		}
		if first == nil {
			break
		}
		c.now = first.next
		if first.period == 0 {
			first.done = true // a timer fires once
		} else {
			first.next = first.next.Add(first.period)
		}
		select {
		case first.c <- c.now:
		default:
			select { // replace the stale tick
			case <-first.c:
			default:
			}
			select {
			case first.c <- c.now:
			default:
			}
		}
	}
	c.now = end
	live := c.tickers[:0]
	for _, t := range c.tickers {
		if !t.done {
			live = append(live, t)
		}
	}
	clear(c.tickers[len(live):])
	c.tickers = live
}
