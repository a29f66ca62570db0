package notify

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Bucket layout (bbolt). In confab serve the buckets live in the control
// plane's own file (confab.db, Params.DB), next to meetings and attendees,
// so that a change and its event commit in one transaction (WriteEvents);
// without Params.DB they live in <Dir>/notify.db. The "notify." prefix keeps
// them apart from the store's buckets.
//
//	notify.outbox/<target>/<seq>  → entry   one nested bucket per target key
//	notify.dead/<seq>             → entry   the dead-letter store (meta has Target, Reason)
//	notify.meetings/<meetingID>   → meetingReg JSON
//	notify.hooks/<name>           → Hook JSON (hooks created through the admin API)
//
// <seq> is 8 bytes big-endian from the outbox bucket's sequence, so every
// bucket iterates in acceptance order and a dead letter keeps its outbox seq.
// An entry is uvarint(len(meta)) ‖ meta JSON ‖ body, the body being the exact
// bytes sent.
var (
	bucketOutbox   = []byte("notify.outbox")
	bucketDead     = []byte("notify.dead")
	bucketMeetings = []byte("notify.meetings")
	bucketHooks    = []byte("notify.hooks")
	// allBuckets pairs each bucket with its name in notify.db files written
	// before the buckets moved into confab.db (see importLegacy).
	allBuckets = [][2][]byte{
		{bucketOutbox, []byte("outbox")}, {bucketDead, []byte("dead")},
		{bucketMeetings, []byte("meetings")}, {bucketHooks, []byte("hooks")},
	}
)

// maxBatchReqs bounds how many queued writes one transaction takes.
const maxBatchReqs = 4096

// meta is the stored description of an entry.
type meta struct {
	EventID   string `json:"id"`
	EventType string `json:"type,omitempty"`
	MeetingID string `json:"meeting,omitempty"`
	First     int64  `json:"first"` // unix ns when accepted
	Enqueued  int64  `json:"enq"`   // unix ns the retry budget counts from (re-drive resets it)
	Attempts  int    `json:"att,omitempty"`
	LastError string `json:"err,omitempty"`
	// Dead letters only.
	Target string `json:"target,omitempty"`
	Reason string `json:"reason,omitempty"`
	Why    string `json:"why,omitempty"`
	DeadAt int64  `json:"dead,omitempty"`
}

// entry is one event bound for one target.
type entry struct {
	seq  uint64
	meta meta
	body []byte
}

func seqKey(seq uint64) []byte {
	var k [8]byte
	binary.BigEndian.PutUint64(k[:], seq)
	return k[:]
}

func (e *entry) encode() []byte {
	m, err := json.Marshal(&e.meta)
	if err != nil { // strings and integers only
		panic(fmt.Sprintf("notify: marshal meta: %v", err))
	}
	b := make([]byte, 0, binary.MaxVarintLen64+len(m)+len(e.body))
	b = binary.AppendUvarint(b, uint64(len(m)))
	b = append(b, m...)
	return append(b, e.body...)
}

// decodeEntry parses a stored value; the body is copied out of bbolt's mmap.
func decodeEntry(k, v []byte) (*entry, error) {
	if len(k) != 8 {
		return nil, fmt.Errorf("notify: bad key length %d", len(k))
	}
	n, w := binary.Uvarint(v)
	if w <= 0 || uint64(len(v)-w) < n {
		return nil, errors.New("notify: corrupt entry")
	}
	e := &entry{seq: binary.BigEndian.Uint64(k)}
	if err := json.Unmarshal(v[w:w+int(n)], &e.meta); err != nil {
		return nil, fmt.Errorf("notify: corrupt entry meta: %w", err)
	}
	e.body = append([]byte(nil), v[w+int(n):]...)
	return e, nil
}

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
	w.o.mu.Lock()
	n, b := w.o.depth[target]+w.depth[target], w.o.bytes[target]+w.bytes[target]
	tn, tb := w.o.totalN, w.o.totalBytes
	w.o.mu.Unlock()
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
	w.o.mu.Lock()
	n, b := w.o.deadN+w.deadN, w.o.deadBytes+w.deadBytes
	w.o.mu.Unlock()
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

// writeReq is one queued write; done (nil for fire-and-forget writes)
// receives the commit result.
type writeReq struct {
	fn   func(*wtx) error
	done chan error
}

// outbox owns notify.db and its single writer goroutine, which group-commits
// whatever was queued while the previous commit was syncing: concurrent
// callers share one fsync.
type outbox struct {
	db     *bolt.DB
	ownDB  bool // opened here (notify.db), closed by stop
	log    *slog.Logger
	clock  Clock
	limits Limits
	dlq    bool
	queue  chan *writeReq
	wg     sync.WaitGroup // the writer goroutine
	// committed runs on the writer goroutine after each successful commit.
	committed func(*wtx)
	observe   func(time.Duration) // commit latency

	mu         sync.Mutex     // guards the counts below
	depth      map[string]int // entries per target
	bytes      map[string]int // stored bytes per target
	totalN     int            // entries of all targets
	totalBytes int
	deadN      int // entries in the dead-letter store
	deadBytes  int
}

// openOutbox uses db (shared, not closed by stop) or, when db is nil, opens
// <dir>/notify.db. Into a shared db it first imports <dir>/notify.db, if a
// version before the shared file left one (see importLegacy).
func openOutbox(db *bolt.DB, dir string, limits Limits, log *slog.Logger, clock Clock) (*outbox, error) {
	path := filepath.Join(dir, "notify.db")
	o := &outbox{db: db, log: log, clock: clock, limits: limits, queue: make(chan *writeReq, 8192),
		depth: map[string]int{}, bytes: map[string]int{}}
	if db == nil {
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
		if err := importLegacy(o.db, path, log); err != nil {
			return fail(err)
		}
	}
	err = o.db.View(func(tx *bolt.Tx) error {
		ob := tx.Bucket(bucketOutbox)
		if err := ob.ForEachBucket(func(k []byte) error {
			n, size := 0, 0
			err := ob.Bucket(k).ForEach(func(_, v []byte) error {
				n, size = n+1, size+len(v)
				return nil
			})
			if n > 0 {
				o.depth[string(k)], o.bytes[string(k)] = n, size
				o.totalN, o.totalBytes = o.totalN+n, o.totalBytes+size
			}
			return err
		}); err != nil {
			return err
		}
		return tx.Bucket(bucketDead).ForEach(func(_, v []byte) error {
			o.deadN, o.deadBytes = o.deadN+1, o.deadBytes+len(v)
			return nil
		})
	})
	if err != nil {
		return fail(fmt.Errorf("notify: init: %w", err))
	}
	return o, nil
}

// start launches the writer; committed and observe must be set before.
func (o *outbox) start() {
	o.wg.Add(1)
	go o.writeLoop()
}

// async queues fn without waiting.
func (o *outbox) async(fn func(*wtx) error) {
	o.queue <- &writeReq{fn: fn}
}

// stop drains the queue, stops the writer and closes the database. No write
// may be queued after stop begins.
func (o *outbox) stop() error {
	close(o.queue)
	o.wg.Wait()
	if !o.ownDB {
		return nil
	}
	return o.db.Close()
}

// settleDelay is how long the writer holds a batch of fire-and-forget
// writes (workers settling delivered entries) for more to join it, unless a
// write somebody waits for arrives first. It keeps delivery from costing an
// fsync per event, which would take turns with the store's commits on the
// shared file; a crash inside the window re-sends what was delivered (at
// least once).
const settleDelay = 50 * time.Millisecond

func (o *outbox) writeLoop() {
	defer o.wg.Done()
	batch := make([]*writeReq, 0, 64)
	var timer *time.Timer
	for r := range o.queue {
		batch = append(batch[:0], r)
		waited := r.done != nil // only fire-and-forget writes wait
	drain:
		for len(batch) < maxBatchReqs {
			select {
			case r, ok := <-o.queue:
				if !ok {
					break drain
				}
				batch = append(batch, r)
				waited = waited || r.done != nil
				continue
			default:
			}
			if waited {
				break
			}
			waited = true
			if timer == nil {
				timer = time.NewTimer(settleDelay)
			} else {
				timer.Reset(settleDelay)
			}
		hold:
			for len(batch) < maxBatchReqs {
				select {
				case r, ok := <-o.queue:
					if !ok {
						break drain
					}
					batch = append(batch, r)
					if r.done != nil {
						break hold
					}
				case <-timer.C:
					break drain
				}
			}
		}
		if timer != nil {
			timer.Stop()
		}
		o.commit(batch)
	}
}

// commit runs the batch in one transaction; if that fails, each request runs
// alone so one bad request cannot fail the others.
func (o *outbox) commit(batch []*writeReq) {
	start := time.Now()
	w, err := o.run(batch)
	if err != nil && len(batch) > 1 {
		for _, r := range batch {
			w, err := o.run([]*writeReq{r})
			o.finish(w, err, []*writeReq{r})
		}
		return
	}
	if o.observe != nil {
		o.observe(time.Since(start))
	}
	o.finish(w, err, batch)
}

// newWtx starts the bookkeeping of one write transaction.
func (o *outbox) newWtx(tx *bolt.Tx) *wtx {
	return &wtx{tx: tx, o: o, now: o.clock.Now(), depth: map[string]int{}, bytes: map[string]int{},
		wake: map[string]bool{}, dlq: o.dlq}
}

func (o *outbox) run(batch []*writeReq) (*wtx, error) {
	w := o.newWtx(nil)
	err := o.db.Update(func(tx *bolt.Tx) error {
		w.tx = tx
		for _, r := range batch {
			if err := r.fn(w); err != nil {
				return err
			}
		}
		return nil
	})
	w.tx = nil
	return w, err
}

func (o *outbox) finish(w *wtx, err error, batch []*writeReq) {
	if err == nil {
		o.mu.Lock()
		for t, d := range w.depth {
			o.totalN += d
			o.totalBytes += w.bytes[t]
			if n := o.depth[t] + d; n > 0 {
				o.depth[t] = n
				o.bytes[t] += w.bytes[t]
			} else {
				delete(o.depth, t)
				delete(o.bytes, t)
			}
		}
		for t, b := range w.bytes { // size-only changes (update)
			if _, ok := w.depth[t]; !ok {
				o.totalBytes += b
				if _, ok := o.depth[t]; ok {
					o.bytes[t] += b
				}
			}
		}
		o.deadN += w.deadN
		o.deadBytes += w.deadBytes
		o.mu.Unlock()
		if o.committed != nil {
			o.committed(w)
		}
	} else {
		o.log.Error("outbox write failed", "err", err, "requests", len(batch))
	}
	for _, r := range batch {
		if r.done != nil {
			r.done <- err
		}
	}
}

// depths returns a copy of the per-target depth and the dead-store size.
func (o *outbox) depths() (map[string]int, int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	m := make(map[string]int, len(o.depth))
	for k, v := range o.depth {
		m[k] = v
	}
	return m, o.deadN
}

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
