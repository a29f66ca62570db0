package notify

import (
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
)

// counts are the outbox's committed sizes, which Limits are checked
// against (by wtx.full and wtx.trimDead) and the metrics report.
type counts struct {
	mu         sync.Mutex     // guards everything below
	depth      map[string]int // entries per target
	bytes      map[string]int // stored bytes per target
	totalN     int            // entries of all targets
	totalBytes int
	deadN      int // entries in the dead-letter store
	deadBytes  int
}

// read sets the counts from the buckets (at open).
func (c *counts) read(tx *bolt.Tx) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.depth, c.bytes = map[string]int{}, map[string]int{}
	ob := tx.Bucket(bucketOutbox)
	if err := ob.ForEachBucket(func(k []byte) error {
		n, size := 0, 0
		err := ob.Bucket(k).ForEach(func(_, v []byte) error {
			n, size = n+1, size+len(v)
			return nil
		})
		if n > 0 {
			c.depth[string(k)], c.bytes[string(k)] = n, size
			c.totalN, c.totalBytes = c.totalN+n, c.totalBytes+size
		}
		return err
	}); err != nil {
		return err
	}
	return tx.Bucket(bucketDead).ForEach(func(_, v []byte) error {
		c.deadN, c.deadBytes = c.deadN+1, c.deadBytes+len(v)
		return nil
	})
}

// apply adds the changes of w, a committed transaction.
func (c *counts) apply(w *wtx) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for t, d := range w.depth {
		c.totalN += d
		c.totalBytes += w.bytes[t]
		if n := c.depth[t] + d; n > 0 {
			c.depth[t] = n
			c.bytes[t] += w.bytes[t]
		} else {
			delete(c.depth, t)
			delete(c.bytes, t)
		}
	}
	for t, b := range w.bytes { // size-only changes (update)
		if _, ok := w.depth[t]; !ok {
			c.totalBytes += b
			if _, ok := c.depth[t]; ok {
				c.bytes[t] += b
			}
		}
	}
	c.deadN += w.deadN
	c.deadBytes += w.deadBytes
}

// target returns target's entries and bytes, and those of all targets.
func (c *counts) target(target string) (n, bytes, totalN, totalBytes int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.depth[target], c.bytes[target], c.totalN, c.totalBytes
}

// dead returns the entries and bytes of the dead-letter store.
func (c *counts) dead() (n, bytes int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.deadN, c.deadBytes
}

// depths returns a copy of the per-target depth and the dead-store size.
func (c *counts) depths() (map[string]int, int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	m := make(map[string]int, len(c.depth))
	for k, v := range c.depth {
		m[k] = v
	}
	return m, c.deadN
}

// sizes returns the stored bytes of all targets and of the dead-letter store.
func (c *counts) sizes() (outbox, dead int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.totalBytes, c.deadBytes
}

// logGate lets a warning through at most every logEvery, with the counts
// accumulated since the last one.
type logGate struct {
	mu         sync.Mutex // guards everything below
	last       time.Time
	full, evic int
}

const logEvery = 10 * time.Second

func (g *logGate) note(now time.Time, full, evicted int) (int, int, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.full, g.evic = g.full+full, g.evic+evicted
	if !g.last.IsZero() && now.Sub(g.last) < logEvery {
		return 0, 0, false
	}
	f, e := g.full, g.evic
	g.last, g.full, g.evic = now, 0, 0
	return f, e, true
}
