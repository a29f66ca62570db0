package notify

import (
	"context"
	crand "crypto/rand"
	"encoding/binary"
	"log/slog"
	"math/rand/v2"
	"sync"

	"github.com/confab-media/confab/internal/clock"
	"github.com/confab-media/confab/internal/guard"
)

// dispatcherParams are the dispatcher's dependencies.
type dispatcherParams struct {
	Outbox  *outbox
	Targets targetSet
	// Ctx is the parent of the context that aborts in-flight sends at stop.
	Ctx             context.Context
	Retry           RetryPolicy
	MaxMessageBytes int
	Metrics         *metrics
	Clock           clock.Clock
	Log             *slog.Logger
	Panics          guard.Counter // panics contained in workers; nil counts none
}

// dispatcher delivers what the outbox holds: one worker goroutine per
// target key with queued events (see worker), started on the first wake of
// its key and ended when its target goes or it idles. Workers read their
// queue from the outbox, ask targets for the key's sender, and record
// outcomes (delivered, retried, dead-lettered) through the outbox writer.
//
// Its API: wake (after a commit, or a hook change) and stop (Close).
type dispatcher struct {
	ob       *outbox
	targets  targetSet
	retry    RetryPolicy
	maxBytes int
	m        *metrics
	clock    clock.Clock
	log      *slog.Logger
	panics   guard.Counter

	ctx    context.Context // cancelled by stop: aborts in-flight sends
	cancel context.CancelFunc
	done   chan struct{}  // closed by stop
	wg     sync.WaitGroup // the workers

	mu       sync.Mutex // guards workers, stopping and seed
	workers  map[string]*worker
	stopping bool
	seed     *rand.Rand // seeds each worker's backoff jitter
}

func newDispatcher(p dispatcherParams) *dispatcher {
	d := &dispatcher{
		ob: p.Outbox, targets: p.Targets, retry: p.Retry, maxBytes: p.MaxMessageBytes, m: p.Metrics,
		clock: p.Clock, log: p.Log, panics: p.Panics,
		done: make(chan struct{}), workers: map[string]*worker{},
	}
	d.ctx, d.cancel = context.WithCancel(p.Ctx)
	var seed [16]byte
	_, _ = crand.Read(seed[:])
	d.seed = rand.New(rand.NewPCG(binary.LittleEndian.Uint64(seed[:8]), binary.LittleEndian.Uint64(seed[8:])))
	return d
}

// wake signals the worker of each key, starting those not running. After
// stop it does nothing.
func (d *dispatcher) wake(keys map[string]bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.stopping {
		return
	}
	for k := range keys {
		w := d.workers[k]
		if w == nil {
			w = &worker{d: d, key: k, wake: make(chan struct{}, 1),
				rng: rand.New(rand.NewPCG(d.seed.Uint64(), d.seed.Uint64()))}
			d.workers[k] = w
			d.wg.Add(1)
			go w.run()
		}
		select {
		case w.wake <- struct{}{}:
		default:
		}
	}
}

// leave removes w from the workers; its goroutine is ending. With ifIdle it
// does not when a wake is pending (an event was committed for w's target
// since it last looked), and reports whether w left; the next event of its
// target then starts a fresh worker.
func (d *dispatcher) leave(w *worker, ifIdle bool) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if ifIdle {
		select {
		case <-w.wake:
			return false
		default:
		}
	}
	if d.workers[w.key] == w {
		delete(d.workers, w.key)
	}
	return true
}

// stop ends the workers, aborting in-flight sends (retried after the next
// New), and waits for them. What they recorded is queued in the outbox, to
// be committed by its stop.
func (d *dispatcher) stop() {
	d.mu.Lock()
	d.stopping = true
	d.mu.Unlock()
	close(d.done)
	d.cancel()
	d.wg.Wait()
}
