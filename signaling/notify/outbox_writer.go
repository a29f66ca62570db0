package notify

import (
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
)

// maxBatchReqs bounds how many queued writes one transaction takes.
const maxBatchReqs = 4096

// writeReq is one queued write; done (nil for fire-and-forget writes)
// receives the commit result.
type writeReq struct {
	fn   func(*wtx) error
	done chan error
}

// writer is the outbox's single writer goroutine. It group-commits whatever
// was queued while the previous commit was syncing: concurrent callers share
// one fsync. Requests come from outbox.write and outbox.async.
type writer struct {
	ob    *outbox
	queue chan *writeReq
	wg    sync.WaitGroup // the writer goroutine
}

// start launches the writer goroutine.
func (wr *writer) start() {
	wr.wg.Add(1)
	go wr.writeLoop()
}

// stop commits what is queued and ends the goroutine. No request may be
// queued after stop begins.
func (wr *writer) stop() {
	close(wr.queue)
	wr.wg.Wait()
}

// settleDelay is how long the writer holds a batch of fire-and-forget
// writes (workers settling delivered entries) for more to join it, unless a
// write somebody waits for arrives first. It keeps delivery from costing an
// fsync per event, which would take turns with the store's commits on the
// shared file; a crash inside the window re-sends what was delivered (at
// least once).
const settleDelay = 50 * time.Millisecond

func (wr *writer) writeLoop() {
	defer wr.wg.Done()
	batch := make([]*writeReq, 0, 64)
	var timer *time.Timer
	for r := range wr.queue {
		batch = append(batch[:0], r)
		waited := r.done != nil // only fire-and-forget writes wait
	drain:
		for len(batch) < maxBatchReqs {
			select {
			case r, ok := <-wr.queue:
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
				case r, ok := <-wr.queue:
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
		wr.commit(batch)
	}
}

// commit runs the batch in one transaction; if that fails, each request runs
// alone so one bad request cannot fail the others.
func (wr *writer) commit(batch []*writeReq) {
	start := time.Now()
	w, err := wr.run(batch)
	if err != nil && len(batch) > 1 {
		for _, r := range batch {
			w, err := wr.run([]*writeReq{r})
			wr.finish(w, err, []*writeReq{r})
		}
		return
	}
	wr.ob.m.commit.Observe(time.Since(start).Seconds())
	wr.finish(w, err, batch)
}

func (wr *writer) run(batch []*writeReq) (*wtx, error) {
	w := wr.ob.newWtx(nil)
	err := wr.ob.db.Update(func(tx *bolt.Tx) error {
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

// finish reports the outcome to the batch's waiters, once the outbox has
// taken in a successful commit.
func (wr *writer) finish(w *wtx, err error, batch []*writeReq) {
	if err == nil {
		wr.ob.committed(w)
	} else {
		wr.ob.log.Error("outbox write failed", "err", err, "requests", len(batch))
	}
	for _, r := range batch {
		if r.done != nil {
			r.done <- err
		}
	}
}
