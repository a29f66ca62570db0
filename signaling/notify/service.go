package notify

import (
	"context"
	crand "crypto/rand"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	bolt "go.etcd.io/bbolt"

	"github.com/confab-media/confab/internal/guard"
	"github.com/confab-media/confab/signaling/events"
	"github.com/confab-media/confab/signaling/store"
)

// Params are the Service's dependencies.
type Params struct {
	Clock Clock        // default SystemClock
	Log   *slog.Logger // default discards
	// Registerer receives the metrics; nil keeps them in a private registry.
	Registerer prometheus.Registerer
	// HTTPClient makes every outbound call (webhooks and AWS APIs); nil
	// means a client of our own. Per-call timeouts come from Config.
	HTTPClient *http.Client
	// DB, when set, is the control plane's bbolt file (store.Bolt.DB): the
	// outbox keeps its buckets there, the store writes the meeting
	// service's events in their changes' transactions (attach the Service
	// with store.Bolt.SetOutbox), and an old <Dir>/notify.db is imported
	// once. The caller closes DB after Close. Nil: <Dir>/notify.db.
	DB *bolt.DB
	// Panics counts panics contained in delivery workers; nil counts none.
	Panics guard.Counter
}

// Target keys name a delivery target: a hook, a meeting's target ARN, or the
// DLQ. Each key has one worker and one outbox bucket.
const (
	hookPrefix = "hook:"
	dlqTarget  = "dlq"
)

func hookKey(name string) string { return hookPrefix + name }

// Hook sources.
const (
	sourceConfig = "config"
	sourceAPI    = "api"
)

// hookState is a hook in force. Replaced, never mutated.
type hookState struct {
	hook   Hook
	source string
	types  map[events.Type]bool // nil: every type
	snd    sender
}

// meetingReg is a meeting's registered targets.
type meetingReg struct {
	Targets MeetingTargets `json:"targets"`
	EndedAt int64          `json:"ended,omitempty"` // unix ns of MeetingEnded; 0 while live
}

// Service delivers meeting events, at least once, to the deployment's hooks
// and to each meeting's NotificationsConfiguration targets. It is an
// events.Sink: subscribe it to the bus.
type Service struct {
	cfg      Config
	clock    Clock
	log      *slog.Logger
	http     *http.Client
	ownHTTP  bool
	resolver *Resolver
	ob       *outbox
	m        *metrics
	dlq      sender // nil without Config.DLQ
	panics   guard.Counter
	logGate  logGate // rate-limits the outbox_full and eviction warnings

	ctx    context.Context // cancelled by Close: aborts in-flight sends
	cancel context.CancelFunc
	stop   chan struct{} // closed by Close

	// mu guards closed. Entry points hold it shared while they queue work
	// for the writer, so Close (exclusive) knows none is left behind.
	mu     sync.RWMutex
	closed bool

	adminMu sync.Mutex // serialises hook changes (held across writer waits)

	// hooksMu guards hooks. Never held while waiting for the writer: the
	// writer itself reads hooks.
	hooksMu sync.RWMutex
	hooks   map[string]*hookState

	meetMu   sync.Mutex // guards meetings; never held while waiting for the writer
	meetings map[string]meetingReg

	workersMu sync.Mutex // guards workers and stopping
	workers   map[string]*worker
	stopping  bool
	wg        sync.WaitGroup // the workers

	seedMu sync.Mutex // guards seed
	seed   *rand.Rand

	batchless batchless // queues and topics sent to one message at a time
}

var (
	_ events.Sink  = (*Service)(nil)
	_ store.Outbox = (*Service)(nil)
)

// New opens (creating) the outbox in cfg.Dir, re-reads it, and starts a
// delivery worker for every target with queued events.
func New(cfg Config, p Params) (*Service, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	resolver, err := NewResolver(cfg.Endpoints)
	if err != nil {
		return nil, err
	}
	if p.Clock == nil {
		p.Clock = SystemClock{}
	}
	if p.Log == nil {
		p.Log = slog.New(slog.DiscardHandler)
	}
	s := &Service{
		cfg: cfg, clock: p.Clock, log: p.Log, http: p.HTTPClient, resolver: resolver,
		stop: make(chan struct{}), hooks: map[string]*hookState{}, meetings: map[string]meetingReg{},
		workers: map[string]*worker{}, panics: p.Panics,
	}
	if s.http == nil {
		s.http, s.ownHTTP = defaultHTTPClient(), true
	}
	var seed [16]byte
	_, _ = crand.Read(seed[:])
	s.seed = rand.New(rand.NewPCG(binary.LittleEndian.Uint64(seed[:8]), binary.LittleEndian.Uint64(seed[8:])))
	s.ctx, s.cancel = context.WithCancel(context.Background())
	fail := func(err error) (*Service, error) {
		s.cancel()
		if s.ownHTTP {
			s.http.CloseIdleConnections()
		}
		return nil, err
	}

	if cfg.DLQ != nil {
		if s.dlq, err = s.newSQSSender(cfg.DLQ); err != nil {
			return fail(fmt.Errorf("%w: DLQ: %w", ErrInvalidConfig, err))
		}
	}
	for _, h := range cfg.Hooks {
		st, err := s.newHookState(h, sourceConfig)
		if err != nil {
			return fail(fmt.Errorf("%w: hook %s: %w", ErrInvalidConfig, h.Name, err))
		}
		s.hooks[h.Name] = st
	}
	if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
		return fail(fmt.Errorf("notify: %w", err))
	}
	if s.ob, err = openOutbox(p.DB, cfg.Dir, cfg.Limits, p.Log, p.Clock); err != nil {
		return fail(err)
	}
	s.ob.dlq = s.dlq != nil
	closeDB := func() {
		if s.ob.ownDB {
			_ = s.ob.db.Close()
		}
	}
	if err := s.loadState(); err != nil {
		closeDB()
		return fail(err)
	}
	reg := p.Registerer
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	if s.m, err = newMetrics(reg, s.ob, s.clock); err != nil {
		closeDB()
		return fail(err)
	}
	s.ob.committed = s.committed
	s.ob.observe = func(d time.Duration) { s.m.commit.Observe(d.Seconds()) }
	s.ob.start()

	depth, _ := s.ob.depths()
	keys := make(map[string]bool, len(depth))
	for k := range depth {
		keys[k] = true
	}
	s.wakeTargets(keys)
	s.log.Info("notify started", "dir", cfg.Dir, "hooks", len(s.hooks), "meetings", len(s.meetings), "queued_targets", len(keys))
	return s, nil
}

func defaultHTTPClient() *http.Client {
	return &http.Client{Transport: &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		TLSHandshakeTimeout:   5 * time.Second,
		MaxIdleConns:          100,
		MaxIdleConnsPerHost:   8,
		IdleConnTimeout:       90 * time.Second,
		ExpectContinueTimeout: time.Second,
		ForceAttemptHTTP2:     true,
	}}
}

// loadState reads the admin hooks and the meeting registrations.
func (s *Service) loadState() error {
	now := s.clock.Now()
	var expired [][]byte
	err := s.ob.db.View(func(tx *bolt.Tx) error {
		if err := tx.Bucket(bucketHooks).ForEach(func(k, v []byte) error {
			var h Hook
			if err := json.Unmarshal(v, &h); err != nil {
				s.log.Error("stored hook unreadable; ignored", "hook", string(k), "err", err)
				return nil
			}
			if _, ok := s.hooks[h.Name]; ok {
				s.log.Warn("admin hook shadowed by the configuration file's hook of the same name", "hook", h.Name)
				return nil
			}
			st, err := s.newHookState(h, sourceAPI)
			if err != nil {
				s.log.Error("stored hook invalid; ignored", "hook", h.Name, "err", err)
				return nil
			}
			s.hooks[h.Name] = st
			return nil
		}); err != nil {
			return err
		}
		return tx.Bucket(bucketMeetings).ForEach(func(k, v []byte) error {
			var r meetingReg
			if err := json.Unmarshal(v, &r); err != nil {
				return nil
			}
			if r.EndedAt != 0 && now.Sub(time.Unix(0, r.EndedAt)) > s.cfg.MeetingGrace {
				expired = append(expired, append([]byte(nil), k...))
				return nil
			}
			s.meetings[string(k)] = r
			return nil
		})
	})
	if err != nil || len(expired) == 0 {
		return err
	}
	return s.ob.db.Update(func(tx *bolt.Tx) error {
		for _, k := range expired {
			if err := tx.Bucket(bucketMeetings).Delete(k); err != nil {
				return err
			}
		}
		return nil
	})
}

func (s *Service) newHookState(h Hook, source string) (*hookState, error) {
	h, err := normalizeHook(h)
	if err != nil {
		return nil, err
	}
	snd, err := s.newHookSender(&h)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrInvalidHook, h.Name, err)
	}
	st := &hookState{hook: h, source: source, snd: snd}
	if len(h.EventTypes) > 0 {
		st.types = make(map[events.Type]bool, len(h.EventTypes))
		for _, t := range h.EventTypes {
			st.types[t] = true
		}
	}
	return st, nil
}

// Resolver returns the resolver of the configured endpoints, for checking a
// CreateMeeting's NotificationsConfiguration.
func (s *Service) Resolver() *Resolver { return s.resolver }

// Deliver queues e for every hook whose filter takes it and for the targets
// of e's meeting, and returns once that is durable (one group-committed
// fsync), whatever ctx says: the caller's API response then implies the
// event will be delivered. A target's slowness never reaches Deliver. An
// outbox failure (disk full, Service closed) is logged and counted in
// confab_notify_enqueue_errors_total; Sink has no error to return.
//
// An event marked Outboxed is skipped: the store already wrote it into this
// outbox, in the transaction of the change it reports (WriteEvents).
func (s *Service) Deliver(ctx context.Context, e events.Event) {
	if e.Outboxed {
		return
	}
	if err := s.enqueue(e); err != nil {
		s.m.enqueueErrors.Inc()
		s.log.LogAttrs(ctx, slog.LevelError, "event not queued for delivery",
			slog.String("id", e.ID), slog.String("type", string(e.Detail.EventType)),
			slog.String("meeting", e.Detail.MeetingID), slog.Any("err", err))
	}
}

// WriteEvents implements store.Outbox: it queues evs for their targets in
// tx, the store's write transaction on the shared file (Params.DB), and
// returns the wake-up of their workers, to run after the commit. Past
// Limits an event is dead-lettered, never refused: the change commits.
func (s *Service) WriteEvents(tx *bolt.Tx, evs []events.Event) (func(), error) {
	if tx.DB() != s.ob.db {
		return nil, errors.New("notify: WriteEvents: transaction of another file (set Params.DB)")
	}
	w := s.ob.newWtx(tx)
	for _, e := range evs {
		if fn := s.stage(e); fn != nil {
			if err := fn(w); err != nil {
				return nil, err
			}
		}
	}
	return func() { s.ob.finish(w, nil, nil) }, nil
}

// enqueue is Deliver with its error.
func (s *Service) enqueue(e events.Event) error {
	s.mu.RLock()
	if s.closed {
		s.mu.RUnlock()
		return ErrClosed
	}
	fn := s.stage(e)
	if fn == nil {
		s.mu.RUnlock()
		return nil
	}
	done := make(chan error, 1)
	s.ob.queue <- &writeReq{done: done, fn: fn}
	s.mu.RUnlock()
	return <-done
}

// stage works out e's targets and returns the write that queues it for
// them (and keeps the meeting registrations), or nil when it goes nowhere.
func (s *Service) stage(e events.Event) func(*wtx) error {
	now := s.clock.Now()
	targets := s.hookTargets(e.Detail.EventType)
	meetingID := strings.ToLower(e.Detail.MeetingID)
	ended := e.Detail.EventType == events.MeetingEnded
	var prune []string
	var endedReg *meetingReg
	s.meetMu.Lock()
	if r, ok := s.meetings[meetingID]; ok {
		for _, a := range []string{r.Targets.SqsQueueArn, r.Targets.SnsTopicArn, r.Targets.LambdaFunctionArn} {
			if a != "" {
				targets = append(targets, a)
			}
		}
		if ended && r.EndedAt == 0 {
			r.EndedAt = now.UnixNano()
			s.meetings[meetingID] = r
			endedReg = &r
		}
	}
	if ended {
		for id, r := range s.meetings {
			if r.EndedAt != 0 && now.Sub(time.Unix(0, r.EndedAt)) > s.cfg.MeetingGrace {
				delete(s.meetings, id)
				prune = append(prune, id)
			}
		}
	}
	s.meetMu.Unlock()
	if len(targets) == 0 && endedReg == nil && len(prune) == 0 {
		return nil
	}

	body := e.JSON()
	m := meta{
		EventID: e.ID, EventType: string(e.Detail.EventType), MeetingID: e.Detail.MeetingID,
		First: now.UnixNano(), Enqueued: now.UnixNano(),
	}
	var why string
	if len(body) > s.cfg.MaxMessageBytes {
		why = fmt.Sprintf("event is %d bytes, over the %d-byte limit", len(body), s.cfg.MaxMessageBytes)
	}
	var value []byte // the stored entry, encoded here rather than on the writer
	if why == "" {
		value = (&entry{meta: m, body: body}).encode()
	}
	return func(w *wtx) error {
		for _, t := range targets {
			var err error
			if why != "" {
				err = w.deadLetter(t, &entry{meta: m, body: body}, ReasonTooLarge, why)
			} else {
				_, err = w.putValue(t, 0, value)
			}
			if err != nil {
				return err
			}
		}
		mb := w.tx.Bucket(bucketMeetings)
		if endedReg != nil {
			v, _ := json.Marshal(endedReg)
			if err := mb.Put([]byte(meetingID), v); err != nil {
				return err
			}
		}
		for _, id := range prune {
			if err := mb.Delete([]byte(id)); err != nil {
				return err
			}
		}
		return nil
	}
}

// hookTargets returns the keys of the enabled hooks taking events of type t.
func (s *Service) hookTargets(t events.Type) []string {
	s.hooksMu.RLock()
	defer s.hooksMu.RUnlock()
	var out []string
	for name, h := range s.hooks {
		if h.hook.IsEnabled() && (h.types == nil || h.types[t]) {
			out = append(out, hookKey(name))
		}
	}
	sort.Strings(out) // deterministic seq order across targets
	return out
}

// SetMeetingTargets records where a meeting's events go (its
// NotificationsConfiguration); call it before the meeting's first event
// (chime:MeetingStarted) is published. The registration is durable when
// SetMeetingTargets returns and survives restarts; it lapses MeetingGrace
// after the meeting's chime:MeetingEnded, or on ForgetMeeting. Empty targets
// forget the meeting. The error wraps ErrInvalidARN or ErrNoEndpoint for an
// ARN no endpoint serves (see Resolver.CheckTargets), or ErrClosed.
func (s *Service) SetMeetingTargets(meetingID string, t MeetingTargets) error {
	if t.empty() {
		return s.ForgetMeeting(meetingID)
	}
	if err := s.resolver.CheckTargets(t); err != nil {
		return err
	}
	id := strings.ToLower(meetingID)
	r := meetingReg{Targets: t}
	v, _ := json.Marshal(&r)
	s.meetMu.Lock()
	s.meetings[id] = r
	s.meetMu.Unlock()
	return s.write(func(w *wtx) error { return w.tx.Bucket(bucketMeetings).Put([]byte(id), v) })
}

// ForgetMeeting drops a meeting's targets: its later events go to hooks only.
// Events already queued are still delivered.
func (s *Service) ForgetMeeting(meetingID string) error {
	id := strings.ToLower(meetingID)
	s.meetMu.Lock()
	delete(s.meetings, id)
	s.meetMu.Unlock()
	return s.write(func(w *wtx) error { return w.tx.Bucket(bucketMeetings).Delete([]byte(id)) })
}

// write runs fn in the writer and waits for it to be durable.
func (s *Service) write(fn func(*wtx) error) error {
	s.mu.RLock()
	if s.closed {
		s.mu.RUnlock()
		return ErrClosed
	}
	done := make(chan error, 1)
	s.ob.queue <- &writeReq{fn: fn, done: done}
	s.mu.RUnlock()
	return <-done
}

// committed runs on a writer goroutine (the outbox's or the store's) after
// each commit.
func (s *Service) committed(w *wtx) {
	full := 0
	for _, d := range w.dead {
		s.m.dead.WithLabelValues(d.target, d.reason).Inc()
		if d.reason == ReasonOutboxFull {
			full++
		}
	}
	if w.evicted > 0 {
		s.m.evicted.Add(float64(w.evicted))
	}
	if full > 0 || w.evicted > 0 {
		if n, ev, ok := s.logGate.note(s.clock.Now(), full, w.evicted); ok {
			s.log.Warn("outbox at its limits: events dead-lettered instead of queued (reason outbox_full); oldest dead letters evicted",
				"dead_lettered", n, "evicted", ev)
		}
	}
	if len(w.wake) > 0 {
		s.wakeTargets(w.wake)
	}
}

// wakeTargets signals each target's worker, starting those not running.
func (s *Service) wakeTargets(keys map[string]bool) {
	s.workersMu.Lock()
	defer s.workersMu.Unlock()
	if s.stopping {
		return
	}
	for k := range keys {
		w := s.workers[k]
		if w == nil {
			w = s.newWorker(k)
			s.workers[k] = w
			s.wg.Add(1)
			go w.run()
		}
		select {
		case w.wake <- struct{}{}:
		default:
		}
	}
}

// hookFor returns the state of a hook, or nil.
func (s *Service) hookFor(name string) *hookState {
	s.hooksMu.RLock()
	defer s.hooksMu.RUnlock()
	return s.hooks[name]
}

func (s *Service) newRand() *rand.Rand {
	s.seedMu.Lock()
	defer s.seedMu.Unlock()
	return rand.New(rand.NewPCG(s.seed.Uint64(), s.seed.Uint64()))
}

// Close stops the workers (aborting in-flight sends, which are retried after
// the next New), commits what they recorded, and closes the outbox. Deliver
// calls after Close fail (logged). Close waits for every goroutine it owns.
func (s *Service) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrClosed
	}
	s.closed = true
	s.mu.Unlock()

	s.workersMu.Lock()
	s.stopping = true
	s.workersMu.Unlock()
	close(s.stop)
	s.cancel()
	s.wg.Wait()
	err := s.ob.stop()
	s.m.unregister()
	if s.ownHTTP {
		s.http.CloseIdleConnections()
	}
	if err != nil {
		return fmt.Errorf("notify: close: %w", err)
	}
	return nil
}

// isClosed reports whether Close has begun.
func (s *Service) isClosed() bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.closed
}

// errClosedIf returns ErrClosed after Close.
func (s *Service) errClosedIf() error {
	if s.isClosed() {
		return ErrClosed
	}
	return nil
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
