package notify

import (
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/confab-media/confab/internal/clock"
)

// outbox is the durable queue: one bbolt bucket of entries per target key
// and the dead-letter store (layout in outbox_entry.go). Every change is one
// write transaction (wtx) committed by the writer goroutine, or by a
// caller's own transaction (inTx, the store's). It keeps the counts the
// Limits are checked against, and after each commit wakes the workers of
// the targets that got entries.
//
// Its API: write and async queue a change; inTx and committed bracket a
// change in a caller's transaction; load, oldest and view read (update
// writes, at start-up only); depths reports the counts; start, then shut
// and stop, bound its life.
type outbox struct {
	db      *bolt.DB
	ownDB   bool // opened here (notify.db), closed by stop
	log     *slog.Logger
	clock   clock.Clock
	limits  Limits
	dlq     bool // dead letters are also queued for the DLQ target
	w       writer
	n       counts
	logGate logGate // rate-limits the outbox_full and eviction warnings

	// Set by start, before any commit.
	m    *metrics
	wake func(targets map[string]bool)

	// closeMu guards closed. write holds it shared while it queues a
	// request, so shut (exclusive) knows none is left behind. It is not
	// n.mu: the writer takes that while a writer may wait on a full queue.
	closeMu sync.RWMutex
	closed  bool
}

// errInOtherFile: a caller's transaction is not on the outbox's file.
var errInOtherFile = errors.New("notify: WriteEvents: transaction of another file (set Params.DB)")

// outboxParams are the outbox's dependencies.
type outboxParams struct {
	DB     *bolt.DB // shared file; nil: <Dir>/notify.db
	Dir    string
	Limits Limits
	DLQ    bool // queue a copy of each dead letter for the DLQ target
	Log    *slog.Logger
	Clock  clock.Clock
}

// openOutbox uses p.DB (shared, not closed by stop) or, when it is nil,
// opens <Dir>/notify.db. Into a shared db it first imports <dir>/notify.db, if a
// version before the shared file left one (see importLegacy).
func openOutbox(p outboxParams) (*outbox, error) {
	path := filepath.Join(p.Dir, "notify.db")
	o := &outbox{db: p.DB, log: p.Log, clock: p.Clock, limits: p.Limits, dlq: p.DLQ}
	o.w = writer{ob: o, queue: make(chan *writeReq, 8192)}
	if p.DB == nil {
		var err error
		o.db, err = bolt.Open(path, 0o600, &bolt.Options{
			Timeout:        2 * time.Second, // another process holding the file lock
			NoFreelistSync: true,
			FreelistType:   bolt.FreelistMapType,
			// Address space, not disk: growing the file then needs no remap,
			// which would wait for every open read transaction.
			InitialMmapSize: 256 << 20,
		})
		if err != nil {
			return nil, fmt.Errorf("notify: open %s: %w", path, err)
		}
		o.ownDB = true
	}
	fail := func(err error) (*outbox, error) {
		if o.ownDB {
			_ = o.db.Close()
		}
		return nil, err
	}
	err := o.db.Update(func(tx *bolt.Tx) error {
		for _, b := range allBuckets {
			if _, err := tx.CreateBucketIfNotExists(b[0]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fail(fmt.Errorf("notify: init: %w", err))
	}
	if !o.ownDB {
		if err := importLegacy(o.db, path, o.log); err != nil {
			return fail(err)
		}
	}
	if err := o.db.View(o.n.read); err != nil {
		return fail(fmt.Errorf("notify: init: %w", err))
	}
	return o, nil
}

// start launches the writer. After each commit, m counts dead letters,
// evictions and the commit time, and wake gets the targets with new entries.
func (o *outbox) start(m *metrics, wake func(targets map[string]bool)) {
	o.m, o.wake = m, wake
	o.w.start()
}

// write queues fn for the writer and waits until it is durable. It fails
// with ErrClosed once shut has begun.
func (o *outbox) write(fn func(*wtx) error) error {
	o.closeMu.RLock()
	if o.closed {
		o.closeMu.RUnlock()
		return ErrClosed
	}
	done := make(chan error, 1)
	o.w.queue <- &writeReq{fn: fn, done: done}
	o.closeMu.RUnlock()
	return <-done
}

// async queues fn without waiting, also after shut: the dispatcher's
// workers record their outcomes until stop.
func (o *outbox) async(fn func(*wtx) error) {
	o.w.queue <- &writeReq{fn: fn}
}

// inTx starts a change inside tx, a caller's write transaction on the
// outbox's file; call committed with it once tx has committed.
func (o *outbox) inTx(tx *bolt.Tx) (*wtx, error) {
	if tx.DB() != o.db {
		return nil, errInOtherFile
	}
	return o.newWtx(tx), nil
}

// newWtx starts the bookkeeping of one write transaction.
func (o *outbox) newWtx(tx *bolt.Tx) *wtx {
	return &wtx{tx: tx, o: o, now: o.clock.Now(), depth: map[string]int{}, bytes: map[string]int{},
		wake: map[string]bool{}, dlq: o.dlq}
}

// committed takes in w's committed changes: it updates the counts, counts
// and logs dead letters and evictions, and wakes the targets w queued for.
// It runs on the goroutine that committed (the writer or the store's).
func (o *outbox) committed(w *wtx) {
	o.n.apply(w)
	full := 0
	for _, d := range w.dead {
		o.m.dead.WithLabelValues(d.target, d.reason).Inc()
		if d.reason == ReasonOutboxFull {
			full++
		}
	}
	if w.evicted > 0 {
		o.m.evicted.Add(float64(w.evicted))
	}
	if full > 0 || w.evicted > 0 {
		if n, ev, ok := o.logGate.note(o.clock.Now(), full, w.evicted); ok {
			o.log.Warn("outbox at its limits: events dead-lettered instead of queued (reason outbox_full); oldest dead letters evicted",
				"dead_lettered", n, "evicted", ev)
		}
	}
	if len(w.wake) > 0 {
		o.wake(w.wake)
	}
}

// shut refuses further writes (ErrClosed); async still works until stop.
// It fails with ErrClosed when called twice.
func (o *outbox) shut() error {
	o.closeMu.Lock()
	defer o.closeMu.Unlock()
	if o.closed {
		return ErrClosed
	}
	o.closed = true
	return nil
}

// isClosed reports whether shut has begun.
func (o *outbox) isClosed() bool {
	o.closeMu.RLock()
	defer o.closeMu.RUnlock()
	return o.closed
}

// stop commits what is queued, stops the writer and closes the database if
// it opened it. Nothing may be queued after stop begins.
func (o *outbox) stop() error {
	o.w.stop()
	if !o.ownDB {
		return nil
	}
	return o.db.Close()
}

// view runs fn in a read transaction.
func (o *outbox) view(fn func(*bolt.Tx) error) error { return o.db.View(fn) }

// update runs fn in a write transaction of its own, outside the writer:
// for start-up, before start.
func (o *outbox) update(fn func(*bolt.Tx) error) error { return o.db.Update(fn) }

// depths returns a copy of the per-target depth and the dead-store size.
func (o *outbox) depths() (map[string]int, int) { return o.n.depths() }

// oldest returns the enqueue time of the first entry of each non-empty target.
func (o *outbox) oldest() map[string]time.Time {
	m := map[string]time.Time{}
	_ = o.db.View(func(tx *bolt.Tx) error {
		ob := tx.Bucket(bucketOutbox)
		return ob.ForEachBucket(func(k []byte) error {
			if ck, v := ob.Bucket(k).Cursor().First(); ck != nil {
				if e, err := decodeEntry(ck, v); err == nil {
					m[string(k)] = time.Unix(0, e.meta.Enqueued)
				}
			}
			return nil
		})
	})
	return m
}

// load reads up to n entries of target's queue after seq. Entries that do
// not decode are returned as bad seqs for the caller to drop.
func (o *outbox) load(target string, after uint64, n int) (out []*entry, bad []uint64, err error) {
	err = o.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketOutbox).Bucket([]byte(target))
		if b == nil {
			return nil
		}
		c := b.Cursor()
		for k, v := c.Seek(seqKey(after + 1)); k != nil && len(out)+len(bad) < n; k, v = c.Next() {
			e, err := decodeEntry(k, v)
			if err != nil {
				if len(k) == 8 {
					bad = append(bad, binary.BigEndian.Uint64(k))
				}
				continue
			}
			out = append(out, e)
		}
		return nil
	})
	return out, bad, err
}
