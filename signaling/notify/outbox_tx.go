package notify

import (
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// wtx is one write transaction of the outbox writer, with what to do once it
// has committed.
type wtx struct {
	tx        *bolt.Tx
	o         *outbox
	now       time.Time
	depth     map[string]int // outbox depth change per target
	bytes     map[string]int // outbox size change per target
	deadN     int            // dead-letter store size change
	deadBytes int
	evicted   int // dead letters evicted to stay under Limits
	wake      map[string]bool
	dead      []deadCount
	dlq       bool // whether dead letters are also queued for the DLQ target
}

type deadCount struct{ target, reason string }

func (w *wtx) outbox() *bolt.Bucket { return w.tx.Bucket(bucketOutbox) }

// put appends e to target's queue, assigning it a seq if it has none.
func (w *wtx) put(target string, e *entry) error {
	seq, err := w.putValue(target, e.seq, e.encode())
	e.seq = seq
	return err
}

// full says why one more entry of size bytes would take target or the whole
// outbox past Limits ("" when it fits).
func (w *wtx) full(target string, size int) string {
	l := w.o.limits
	n, b, tn, tb := w.o.n.target(target)
	n, b = n+w.depth[target], b+w.bytes[target]
	for t, d := range w.depth {
		tn += d
		tb += w.bytes[t]
	}
	switch {
	case n+1 > l.TargetEvents:
		return fmt.Sprintf("target %s already holds %d events (cap %d)", target, n, l.TargetEvents)
	case b+size > l.TargetBytes:
		return fmt.Sprintf("target %s already holds %d bytes (cap %d)", target, b, l.TargetBytes)
	case tn+1 > l.Events:
		return fmt.Sprintf("the outbox already holds %d events (cap %d)", tn, l.Events)
	case tb+size > l.Bytes:
		return fmt.Sprintf("the outbox already holds %d bytes (cap %d)", tb, l.Bytes)
	}
	return ""
}

// putValue appends an encoded entry (the caller encodes it off the writer
// goroutine) to target's queue under seq, or a new seq when seq is 0. Past
// Limits the entry is dead-lettered instead (reason outbox_full).
func (w *wtx) putValue(target string, seq uint64, v []byte) (uint64, error) {
	if why := w.full(target, len(v)); why != "" {
		e, err := decodeEntry(seqKey(seq), v)
		if err != nil {
			return 0, err
		}
		e.seq = seq
		return seq, w.deadLetter(target, e, ReasonOutboxFull, why)
	}
	ob := w.outbox()
	if seq == 0 {
		var err error
		if seq, err = ob.NextSequence(); err != nil {
			return 0, err
		}
	}
	b := ob.Bucket([]byte(target))
	if b == nil {
		var err error
		if b, err = ob.CreateBucket([]byte(target)); err != nil {
			return 0, err
		}
	}
	if err := b.Put(seqKey(seq), v); err != nil {
		return 0, err
	}
	w.depth[target]++
	w.bytes[target] += len(v)
	w.wake[target] = true
	return seq, nil
}

// remove deletes seq from target's queue; it reports whether it was there.
func (w *wtx) remove(target string, seq uint64) (bool, error) {
	b := w.outbox().Bucket([]byte(target))
	if b == nil {
		return false, nil
	}
	old := b.Get(seqKey(seq))
	if old == nil {
		return false, nil
	}
	size := len(old)
	if err := b.Delete(seqKey(seq)); err != nil {
		return false, err
	}
	w.depth[target]--
	w.bytes[target] -= size
	return true, nil
}

// update rewrites e in target's queue if it is still there (attempt counts).
func (w *wtx) update(target string, e *entry) error {
	b := w.outbox().Bucket([]byte(target))
	if b == nil {
		return nil
	}
	old := b.Get(seqKey(e.seq))
	if old == nil {
		return nil
	}
	v := e.encode()
	w.bytes[target] += len(v) - len(old)
	return b.Put(seqKey(e.seq), v)
}

// deadLetter stores e (removed from or never put in target's queue) in the
// dead-letter store, and queues a copy for the DLQ when one is configured.
func (w *wtx) deadLetter(target string, e *entry, reason, why string) error {
	d := *e
	d.meta.Target, d.meta.Reason, d.meta.Why, d.meta.DeadAt = target, reason, why, w.now.UnixNano()
	if d.seq == 0 {
		seq, err := w.outbox().NextSequence()
		if err != nil {
			return err
		}
		d.seq = seq
	}
	v := d.encode()
	if err := w.tx.Bucket(bucketDead).Put(seqKey(d.seq), v); err != nil {
		return err
	}
	w.deadN++
	w.deadBytes += len(v)
	w.dead = append(w.dead, deadCount{target, reason})
	if err := w.trimDead(); err != nil {
		return err
	}
	if w.dlq && target != dlqTarget {
		msg := &entry{meta: meta{
			EventID: d.meta.EventID, EventType: d.meta.EventType, MeetingID: d.meta.MeetingID,
			First: w.now.UnixNano(), Enqueued: w.now.UnixNano(),
		}, body: dlqMessage(&d)}
		return w.put(dlqTarget, msg)
	}
	return nil
}

// trimDead evicts the oldest dead letters while the store is past Limits.
func (w *wtx) trimDead() error {
	l := w.o.limits
	n, b := w.o.n.dead()
	n, b = n+w.deadN, b+w.deadBytes
	if n <= l.DeadLetters && b <= l.DeadBytes {
		return nil
	}
	c := w.tx.Bucket(bucketDead).Cursor()
	for k, v := c.First(); k != nil && (n > l.DeadLetters || b > l.DeadBytes); k, v = c.First() {
		size := len(v)
		if err := c.Delete(); err != nil {
			return err
		}
		n, b = n-1, b-size
		w.deadN--
		w.deadBytes -= size
		w.evicted++
	}
	return nil
}

// dropQueue deletes target's whole queue and returns its entries; those
// that do not decode are dropped.
func (w *wtx) dropQueue(target string) ([]*entry, error) {
	b := w.outbox().Bucket([]byte(target))
	if b == nil {
		return nil, nil
	}
	var out []*entry
	var n, size int
	if err := b.ForEach(func(k, v []byte) error {
		n, size = n+1, size+len(v)
		if e, err := decodeEntry(k, v); err == nil {
			out = append(out, e)
		}
		return nil
	}); err != nil {
		return nil, err
	}
	if n > 0 {
		w.depth[target] -= n
		w.bytes[target] -= size
	}
	if err := w.outbox().DeleteBucket([]byte(target)); err != nil && err != bolt.ErrBucketNotFound {
		return nil, err
	}
	return out, nil
}

// deadEntry reads one dead letter (nil when there is none of that seq).
func (w *wtx) deadEntry(seq uint64) (*entry, error) {
	v := w.tx.Bucket(bucketDead).Get(seqKey(seq))
	if v == nil {
		return nil, nil
	}
	return decodeEntry(seqKey(seq), v)
}

// redrive moves dead letter e back to its target's queue with a fresh retry
// budget: same event id, new seq.
func (w *wtx) redrive(e *entry) error {
	target := e.meta.Target
	k := seqKey(e.seq)
	size := len(w.tx.Bucket(bucketDead).Get(k))
	if err := w.tx.Bucket(bucketDead).Delete(k); err != nil {
		return err
	}
	w.deadN--
	w.deadBytes -= size
	e.seq = 0
	e.meta.Target, e.meta.Reason, e.meta.Why, e.meta.DeadAt = "", "", "", 0
	e.meta.Attempts, e.meta.LastError = 0, ""
	e.meta.Enqueued = w.now.UnixNano()
	return w.put(target, e)
}

// discard deletes one dead letter; it reports whether it was there.
func (w *wtx) discard(seq uint64) (bool, error) {
	b := w.tx.Bucket(bucketDead)
	v := b.Get(seqKey(seq))
	if v == nil {
		return false, nil
	}
	w.deadN--
	w.deadBytes -= len(v)
	return true, b.Delete(seqKey(seq))
}
