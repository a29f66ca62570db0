package notify

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/confab-media/confab/internal/guard"
)

// sender delivers entries to one target.
type sender interface {
	// batchLimit is the most entries one send takes (1: unbatched).
	batchLimit() int
	// send attempts every entry; errs[i] is nil when batch[i] was accepted.
	send(ctx context.Context, batch []*entry) (errs []error)
}

const (
	loadBatch = 64 // entries read from the outbox at a time
	// idleExit is how long a worker of a meeting target ARN waits with an
	// empty queue before it ends (a new event starts it again).
	idleExit = 10 * time.Minute
	// maxBatchBytes is the payload limit of one SQS SendMessageBatch, SNS
	// PublishBatch or EventBridge PutEvents call.
	maxBatchBytes = 256 * 1024
	maxErrorText  = 1024
)

// Dead-letter reasons.
const (
	ReasonTooLarge    = "too_large"    // over Config.MaxMessageBytes: never sent
	ReasonMaxAttempts = "max_attempts" // Retry.MaxAttempts attempts failed
	ReasonMaxAge      = "max_age"      // still failing after Retry.MaxAge
	ReasonHookDeleted = "hook_deleted" // queued for a hook that was deleted
	ReasonOutboxFull  = "outbox_full"  // the target or the outbox was at its Limits
	ReasonPanic       = "panic"        // sending it panicked (a bug; re-drive after the fix)
)

type targetState int

const (
	targetActive targetState = iota
	targetPaused             // a disabled hook
	targetGone               // a deleted hook, or the DLQ after it left the configuration
)

// worker delivers one target's queue, in order, one batch at a time. Failed
// entries stay at the head and are retried after an exponential backoff with
// jitter; the target's other entries wait behind them (a target that fails
// one event usually fails all).
type worker struct {
	s    *Service
	key  string
	wake chan struct{} // capacity 1; signalled under Service.workersMu
	rng  *rand.Rand

	pending []*entry // loaded, not yet settled, in seq order
	cursor  uint64   // highest seq loaded
	fails   int      // consecutive failed attempts (backoff exponent)
	arnSnd  sender   // for ARN targets, built on first use
}

func (s *Service) newWorker(key string) *worker {
	return &worker{s: s, key: key, wake: make(chan struct{}, 1), rng: s.newRand()}
}

// run is the worker goroutine. A panic anywhere in it is contained: the
// worker leaves the Service (the next event committed for its target starts
// a fresh one, which re-reads the queue) and the process goes on.
func (w *worker) run() {
	defer w.s.wg.Done()
	defer guard.Recover(w.s.log, w.s.panics, "notify worker "+w.key, func(any) { w.forget() })
	for !w.stopped() {
		snd, state, sndErr := w.sender()
		switch state {
		case targetGone:
			w.abandon()
			if w.tryExit() {
				return
			}
			continue
		case targetPaused:
			if w.wait(false) {
				return
			}
			continue
		}
		if len(w.pending) == 0 {
			w.fill()
			if len(w.pending) == 0 {
				if w.wait(!strings.HasPrefix(w.key, hookPrefix)) {
					return
				}
				continue
			}
		}
		w.attempt(snd, sndErr)
	}
}

func (w *worker) stopped() bool {
	select {
	case <-w.s.stop:
		return true
	default:
		return false
	}
}

// wait blocks until woken; it reports whether the worker should end (Close,
// or idle too long when idle is set).
func (w *worker) wait(idle bool) (exit bool) {
	var timeout <-chan time.Time
	if idle {
		timeout = w.s.clock.After(idleExit)
	}
	select {
	case <-w.s.stop:
		return true
	case <-w.wake:
		return false
	case <-timeout:
		return w.tryExit()
	}
}

// tryExit removes the worker from the Service unless a wake is pending (an
// event was committed for it since it last looked); the next event then
// starts a fresh worker.
func (w *worker) tryExit() bool {
	w.s.workersMu.Lock()
	defer w.s.workersMu.Unlock()
	select {
	case <-w.wake:
		return false
	default:
	}
	if w.s.workers[w.key] == w {
		delete(w.s.workers, w.key)
	}
	return true
}

// forget removes the worker from the Service unconditionally (its goroutine
// is ending after a panic).
func (w *worker) forget() {
	w.s.workersMu.Lock()
	defer w.s.workersMu.Unlock()
	if w.s.workers[w.key] == w {
		delete(w.s.workers, w.key)
	}
}

// sender returns the target's sender and state. sndErr is set when an ARN
// target's client cannot be built; attempts then fail with it.
func (w *worker) sender() (sender, targetState, error) {
	switch {
	case strings.HasPrefix(w.key, hookPrefix):
		h := w.s.hookFor(strings.TrimPrefix(w.key, hookPrefix))
		if h == nil {
			return nil, targetGone, nil
		}
		if !h.hook.IsEnabled() {
			return nil, targetPaused, nil
		}
		return h.snd, targetActive, nil
	case w.key == dlqTarget:
		if w.s.dlq == nil {
			return nil, targetGone, nil
		}
		return w.s.dlq, targetActive, nil
	default:
		if w.arnSnd == nil {
			snd, err := w.s.newARNSender(w.key)
			if err != nil {
				return nil, targetActive, err
			}
			w.arnSnd = snd
		}
		return w.arnSnd, targetActive, nil
	}
}

// fill loads the next entries after the cursor.
func (w *worker) fill() {
	es, bad, err := w.s.ob.load(w.key, w.cursor, loadBatch)
	if err != nil {
		w.s.log.Error("outbox read failed", "target", w.key, "err", err)
		w.sleep(w.s.cfg.Retry.InitialBackoff)
		return
	}
	for _, seq := range bad {
		w.cursor = max(w.cursor, seq)
	}
	if len(bad) > 0 {
		w.s.log.Error("unreadable outbox entries dropped", "target", w.key, "count", len(bad))
		w.s.ob.async(func(t *wtx) error {
			for _, seq := range bad {
				if _, err := t.remove(w.key, seq); err != nil {
					return err
				}
			}
			return nil
		})
	}
	for _, e := range es {
		w.cursor = max(w.cursor, e.seq)
	}
	w.pending = es
}

// take removes the next batch from pending, dead-lettering oversized heads.
func (w *worker) take(limit int) []*entry {
	for len(w.pending) > 0 && len(w.pending[0].body) > w.s.cfg.MaxMessageBytes {
		e := w.pending[0]
		w.pending = w.pending[1:]
		why := fmt.Sprintf("message is %d bytes, over the %d-byte limit", len(e.body), w.s.cfg.MaxMessageBytes)
		w.settle(nil, []deadItem{{e, ReasonTooLarge, why}}, nil)
	}
	n, size := 0, 0
	for n < len(w.pending) && n < limit {
		sz := len(w.pending[n].body)
		if n > 0 && (size+sz > maxBatchBytes || sz > w.s.cfg.MaxMessageBytes) {
			break
		}
		size += sz
		n++
	}
	b := w.pending[:n:n]
	w.pending = w.pending[n:]
	return b
}

type deadItem struct {
	e           *entry
	reason, why string
}

// attempt sends one batch and records the outcome.
func (w *worker) attempt(snd sender, sndErr error) {
	limit := 1
	if snd != nil {
		limit = max(1, snd.batchLimit())
	}
	batch := w.take(limit)
	if len(batch) == 0 {
		return
	}
	errs := make([]error, len(batch))
	if sndErr != nil {
		for i := range errs {
			errs[i] = sndErr
		}
	} else {
		var panicked bool
		if errs, panicked = w.sendGuarded(snd, batch); panicked {
			dead := make([]deadItem, len(batch))
			for i, e := range batch {
				e.meta.Attempts++
				e.meta.LastError = truncate(errs[i].Error(), maxErrorText)
				dead[i] = deadItem{e, ReasonPanic, e.meta.LastError}
			}
			w.settle(nil, dead, nil)
			return
		}
	}
	aborted := w.stopped() // Close cancelled the send: not an attempt
	now := w.s.clock.Now()
	var delivered, retry []*entry
	var dead []deadItem
	var lastErr error
	for i, e := range batch {
		if errs[i] == nil {
			delivered = append(delivered, e)
			continue
		}
		if aborted {
			retry = append(retry, e)
			continue
		}
		lastErr = errs[i]
		e.meta.Attempts++
		e.meta.LastError = truncate(errs[i].Error(), maxErrorText)
		if reason, why := w.exhausted(e, now); reason != "" {
			dead = append(dead, deadItem{e, reason, why})
		} else {
			retry = append(retry, e)
		}
	}
	if len(delivered) > 0 {
		w.s.m.delivered.WithLabelValues(w.key).Add(float64(len(delivered)))
	}
	if !aborted && len(retry) > 0 {
		w.s.m.retried.WithLabelValues(w.key).Add(float64(len(retry)))
	}
	w.pending = append(retry, w.pending...)
	w.settle(delivered, dead, retry)
	if aborted {
		return
	}
	if lastErr == nil {
		if w.fails > 0 {
			w.s.log.Info("target recovered", "target", w.key, "after_failures", w.fails)
		}
		w.fails = 0
		return
	}
	w.fails++
	if w.fails&(w.fails-1) == 0 { // 1, 2, 4, 8…: rate-limited
		w.s.log.Warn("delivery failed; will retry", "target", w.key, "failures", w.fails,
			"queued_head", len(w.pending), "err", lastErr)
	}
	for _, d := range dead {
		w.s.log.LogAttrs(context.Background(), slog.LevelWarn, "event dead-lettered",
			slog.String("target", w.key), slog.String("id", d.e.meta.EventID),
			slog.String("reason", d.reason), slog.String("why", d.why))
	}
	if len(retry) > 0 {
		w.sleep(w.backoff())
	}
}

// sendGuarded sends a batch, containing a panic of the sender (a bug that
// one event or target triggers): the batch is then dead-lettered with reason
// panic rather than retried, so it cannot block its target.
func (w *worker) sendGuarded(snd sender, batch []*entry) (errs []error, panicked bool) {
	defer func() {
		if v := recover(); v != nil {
			guard.Handle(w.s.log, w.s.panics, "notify delivery to "+w.key, v)
			errs, panicked = make([]error, len(batch)), true
			for i := range errs {
				errs[i] = fmt.Errorf("delivery panicked: %v", v)
			}
		}
	}()
	errs = snd.send(w.s.ctx, batch)
	if len(errs) != len(batch) {
		panic(fmt.Sprintf("sender returned %d results for %d entries", len(errs), len(batch)))
	}
	return errs, false
}

// exhausted returns the dead-letter reason once e's retry budget is spent.
func (w *worker) exhausted(e *entry, now time.Time) (reason, why string) {
	r := w.s.cfg.Retry
	if r.MaxAttempts > 0 && e.meta.Attempts >= r.MaxAttempts {
		return ReasonMaxAttempts, fmt.Sprintf("%d attempts failed; last error: %s", e.meta.Attempts, e.meta.LastError)
	}
	if age := now.Sub(time.Unix(0, e.meta.Enqueued)); r.MaxAge > 0 && age >= r.MaxAge {
		return ReasonMaxAge, fmt.Sprintf("still failing after %s (%d attempts); last error: %s",
			age.Round(time.Second), e.meta.Attempts, e.meta.LastError)
	}
	return "", ""
}

// settle records outcomes without waiting: delivered entries leave the
// queue, dead ones move to the dead-letter store, retried ones keep their
// attempt count. The worker never reloads what it settled (the cursor is past
// it), so it need not wait for the commit.
func (w *worker) settle(delivered []*entry, dead []deadItem, retry []*entry) {
	if len(delivered)+len(dead)+len(retry) == 0 {
		return
	}
	// The writer runs later: give it copies, as the worker goes on updating
	// the entries it retries.
	key := w.key
	seqs := make([]uint64, len(delivered))
	for i, e := range delivered {
		seqs[i] = e.seq
	}
	dead = append([]deadItem(nil), dead...)
	for i := range dead {
		c := *dead[i].e
		dead[i].e = &c
	}
	upd := make([]*entry, len(retry))
	for i, e := range retry {
		c := *e
		upd[i] = &c
	}
	w.s.ob.async(func(t *wtx) error {
		for _, seq := range seqs {
			if _, err := t.remove(key, seq); err != nil {
				return err
			}
		}
		for _, d := range dead {
			if ok, err := t.remove(key, d.e.seq); err != nil || !ok {
				if err != nil {
					return err
				}
				continue // already moved (hook deleted meanwhile)
			}
			if err := t.deadLetter(key, d.e, d.reason, d.why); err != nil {
				return err
			}
		}
		for _, e := range upd {
			if err := t.update(key, e); err != nil {
				return err
			}
		}
		return nil
	})
}

// backoff is the delay after the fails-th consecutive failure: the initial
// backoff doubled per failure up to the maximum, with "equal jitter" (half
// fixed, half uniform), so it lies in [d/2, d].
func (w *worker) backoff() time.Duration {
	r := w.s.cfg.Retry
	d := r.MaxBackoff
	if w.fails < 32 {
		if x := r.InitialBackoff << (w.fails - 1); x > 0 && x < d {
			d = x
		}
	}
	half := d / 2
	return half + time.Duration(w.rng.Int64N(int64(d-half)+1))
}

// sleep waits d or until Close; it reports whether it slept the full time.
func (w *worker) sleep(d time.Duration) bool {
	select {
	case <-w.s.stop:
		return false
	case <-w.s.clock.After(d):
		return true
	}
}

// abandon handles the queue of a target that is gone: a deleted hook's
// events move to the dead-letter store; the DLQ's copies are dropped (the
// dead-letter store holds the originals).
func (w *worker) abandon() {
	w.pending = nil
	key := w.key
	err := w.s.write(func(t *wtx) error {
		if strings.HasPrefix(key, hookPrefix) && w.s.hookFor(strings.TrimPrefix(key, hookPrefix)) != nil {
			return nil // re-created meanwhile
		}
		b := t.outbox().Bucket([]byte(key))
		if b == nil {
			return nil
		}
		var moved []*entry
		var bad, size int
		if err := b.ForEach(func(k, v []byte) error {
			size += len(v)
			e, err := decodeEntry(k, v)
			if err != nil {
				bad++
				return nil
			}
			moved = append(moved, e)
			return nil
		}); err != nil {
			return err
		}
		if n := len(moved) + bad; n > 0 {
			t.depth[key] -= n
			t.bytes[key] -= size
		}
		if err := t.outbox().DeleteBucket([]byte(key)); err != nil && err != bolt.ErrBucketNotFound {
			return err
		}
		if key == dlqTarget {
			if len(moved) > 0 {
				w.s.log.Warn("DLQ no longer configured: queued DLQ copies dropped", "count", len(moved))
			}
			return nil
		}
		for _, e := range moved {
			if err := t.deadLetter(key, e, ReasonHookDeleted, "hook "+strings.TrimPrefix(key, hookPrefix)+" was deleted"); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil && err != ErrClosed {
		w.s.log.Error("abandoning a deleted target's queue failed", "target", key, "err", err)
		w.sleep(w.s.cfg.Retry.InitialBackoff)
	}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
