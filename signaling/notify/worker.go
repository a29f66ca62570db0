package notify

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/confab-media/confab/internal/guard"
)

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

// worker delivers one target's queue, in order, one batch at a time. Failed
// entries stay at the head and are retried after an exponential backoff with
// jitter; the target's other entries wait behind them (a target that fails
// one event usually fails all).
type worker struct {
	d    *dispatcher
	key  string
	wake chan struct{} // capacity 1; signalled under dispatcher.mu
	rng  *rand.Rand

	pending []*entry // loaded, not yet settled, in seq order
	cursor  uint64   // highest seq loaded
	fails   int      // consecutive failed attempts (backoff exponent)
	arnSnd  sender   // for ARN targets, built on first use
}

// run is the worker goroutine. A panic anywhere in it is contained: the
// worker leaves the dispatcher (the next event committed for its target
// starts a fresh one, which re-reads the queue) and the process goes on.
func (w *worker) run() {
	defer w.d.wg.Done()
	defer guard.Recover(w.d.log, w.d.panics, "notify worker "+w.key, func(any) { w.d.leave(w, false) })
	for !w.stopped() {
		snd, state, sndErr := w.sender()
		switch state {
		case targetGone:
			w.abandon()
			if w.d.leave(w, true) {
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
	case <-w.d.done:
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
		timeout = w.d.clock.After(idleExit)
	}
	select {
	case <-w.d.done:
		return true
	case <-w.wake:
		return false
	case <-timeout:
		return w.d.leave(w, true)
	}
}

// sender returns the target's sender and state. sndErr is set when an ARN
// target's client cannot be built; attempts then fail with it.
func (w *worker) sender() (sender, targetState, error) {
	if w.arnSnd != nil {
		return w.arnSnd, targetActive, nil
	}
	snd, state, err := w.d.targets.target(w.d.ctx, w.key)
	if err == nil && isMeetingTarget(w.key) {
		w.arnSnd = snd
	}
	return snd, state, err
}

// fill loads the next entries after the cursor.
func (w *worker) fill() {
	es, bad, err := w.d.ob.load(w.key, w.cursor, loadBatch)
	if err != nil {
		w.d.log.Error("outbox read failed", "target", w.key, "err", err)
		w.sleep(w.d.retry.InitialBackoff)
		return
	}
	for _, seq := range bad {
		w.cursor = max(w.cursor, seq)
	}
	if len(bad) > 0 {
		w.d.log.Error("unreadable outbox entries dropped", "target", w.key, "count", len(bad))
		w.d.ob.async(func(t *wtx) error {
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
	for len(w.pending) > 0 && len(w.pending[0].body) > w.d.maxBytes {
		e := w.pending[0]
		w.pending = w.pending[1:]
		why := fmt.Sprintf("message is %d bytes, over the %d-byte limit", len(e.body), w.d.maxBytes)
		w.settle(nil, []deadItem{{e, ReasonTooLarge, why}}, nil)
	}
	n, size := 0, 0
	for n < len(w.pending) && n < limit {
		sz := len(w.pending[n].body)
		if n > 0 && (size+sz > maxBatchBytes || sz > w.d.maxBytes) {
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
	now := w.d.clock.Now()
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
		w.d.m.delivered.WithLabelValues(w.key).Add(float64(len(delivered)))
	}
	if !aborted && len(retry) > 0 {
		w.d.m.retried.WithLabelValues(w.key).Add(float64(len(retry)))
	}
	w.pending = append(retry, w.pending...)
	w.settle(delivered, dead, retry)
	if aborted {
		return
	}
	if lastErr == nil {
		if w.fails > 0 {
			w.d.log.Info("target recovered", "target", w.key, "after_failures", w.fails)
		}
		w.fails = 0
		return
	}
	w.fails++
	if w.fails&(w.fails-1) == 0 { // 1, 2, 4, 8…: rate-limited
		w.d.log.Warn("delivery failed; will retry", "target", w.key, "failures", w.fails,
			"queued_head", len(w.pending), "err", lastErr)
	}
	for _, d := range dead {
		w.d.log.LogAttrs(context.Background(), slog.LevelWarn, "event dead-lettered",
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
			guard.Handle(w.d.log, w.d.panics, "notify delivery to "+w.key, v)
			errs, panicked = make([]error, len(batch)), true
			for i := range errs {
				errs[i] = fmt.Errorf("delivery panicked: %v", v)
			}
		}
	}()
	errs = snd.send(w.d.ctx, batch)
	if len(errs) != len(batch) {
		panic(fmt.Sprintf("sender returned %d results for %d entries", len(errs), len(batch)))
	}
	return errs, false
}

// exhausted returns the dead-letter reason once e's retry budget is spent.
func (w *worker) exhausted(e *entry, now time.Time) (reason, why string) {
	r := w.d.retry
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
	w.d.ob.async(func(t *wtx) error {
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
	r := w.d.retry
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
	case <-w.d.done:
		return false
	case <-w.d.clock.After(d):
		return true
	}
}

// abandon handles the queue of a target that is gone: a deleted hook's
// events move to the dead-letter store; the DLQ's copies are dropped (the
// dead-letter store holds the originals).
func (w *worker) abandon() {
	w.pending = nil
	key := w.key
	err := w.d.ob.write(func(t *wtx) error {
		if _, state, _ := w.d.targets.target(w.d.ctx, key); state != targetGone {
			return nil // re-created meanwhile
		}
		moved, err := t.dropQueue(key)
		if err != nil {
			return err
		}
		if key == dlqTarget {
			if len(moved) > 0 {
				w.d.log.Warn("DLQ no longer configured: queued DLQ copies dropped", "count", len(moved))
			}
			return nil
		}
		name, _ := hookName(key)
		for _, e := range moved {
			if err := t.deadLetter(key, e, ReasonHookDeleted, "hook "+name+" was deleted"); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil && err != ErrClosed {
		w.d.log.Error("abandoning a deleted target's queue failed", "target", key, "err", err)
		w.sleep(w.d.retry.InitialBackoff)
	}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
