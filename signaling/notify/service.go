package notify

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	bolt "go.etcd.io/bbolt"

	"github.com/confab-media/confab/internal/clock"
	"github.com/confab-media/confab/internal/guard"
	"github.com/confab-media/confab/signaling/events"
	"github.com/confab-media/confab/signaling/store"
)

// Params are the Service's dependencies.
type Params struct {
	Clock clock.Clock  // default the system clock
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

// Service delivers meeting events, at least once, to the deployment's hooks
// and to each meeting's NotificationsConfiguration targets. It is an
// events.Sink: subscribe it to the bus. It composes the parts (see the
// package documentation) and holds no state of its own.
type Service struct {
	maxBytes int // Config.MaxMessageBytes
	clock    clock.Clock
	log      *slog.Logger
	m        *metrics
	snd      *senders
	reg      *registry
	ob       *outbox
	disp     *dispatcher
	admin    *admin
	lambdas  lambdaClients // InvokeLambda's
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
		p.Clock = clock.System{}
	}
	if p.Log == nil {
		p.Log = slog.New(slog.DiscardHandler)
	}
	s := &Service{maxBytes: cfg.MaxMessageBytes, clock: p.Clock, log: p.Log}
	s.snd = newSenders(cfg, p.HTTPClient, p.Clock)
	fail := func(err error) (*Service, error) {
		s.snd.close()
		return nil, err
	}
	if s.reg, err = newRegistry(cfg, resolver, s.snd, p.Log); err != nil {
		return fail(err)
	}
	if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
		return fail(fmt.Errorf("notify: %w", err))
	}
	s.ob, err = openOutbox(outboxParams{DB: p.DB, Dir: cfg.Dir, Limits: cfg.Limits, DLQ: s.reg.dlq != nil, Log: p.Log, Clock: p.Clock})
	if err != nil {
		return fail(err)
	}
	closeDB := func() { _ = s.ob.stop() } // the writer has not started
	if err := s.reg.load(s.ob, p.Clock.Now()); err != nil {
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
	s.disp = newDispatcher(dispatcherParams{
		Outbox: s.ob, Targets: s.reg, Ctx: s.snd.ctx, Retry: cfg.Retry, MaxMessageBytes: cfg.MaxMessageBytes,
		Metrics: s.m, Clock: p.Clock, Log: p.Log, Panics: p.Panics,
	})
	s.admin = &admin{ob: s.ob, reg: s.reg, disp: s.disp, clock: p.Clock,
		dead: &deadStore{ob: s.ob, redrivable: s.reg.redrivable}}
	s.ob.start(s.m, s.disp.wake)

	depth, _ := s.ob.depths()
	keys := make(map[string]bool, len(depth))
	for k := range depth {
		keys[k] = true
	}
	s.disp.wake(keys)
	s.log.Info("notify started", "dir", cfg.Dir, "hooks", len(s.reg.hookMap()), "meetings", s.reg.meetings.len(), "queued_targets", len(keys))
	return s, nil
}

// NewOnBolt is New for a node whose state is st: the outbox's buckets live
// in st's file (Params.DB) and st writes the meeting service's events into
// it in their changes' transactions (store.Bolt.SetOutbox). A nil st (a
// cluster node, whose relay feeds the outbox) leaves p as it is.
func NewOnBolt(cfg Config, p Params, st *store.Bolt) (*Service, error) {
	if st == nil {
		return New(cfg, p)
	}
	p.DB = st.DB()
	s, err := New(cfg, p)
	if err != nil {
		return nil, err
	}
	st.SetOutbox(s)
	return s, nil
}

// Resolver returns the resolver of the configured endpoints, for checking a
// CreateMeeting's NotificationsConfiguration.
func (s *Service) Resolver() *Resolver { return s.reg.resolver }

// Admin returns the admin HTTP API. It does no authentication: mount it
// behind the same SigV4 check as the rest of the control plane. JSON in and
// out; errors are {"code","message"} with the matching status.
//
//	GET    hooks                      → {"hooks":[HookInfo]}
//	POST   hooks                      ← Hook → 201 {"hook":HookInfo}
//	GET    hooks/{name}               → {"hook":HookInfo}
//	PUT    hooks/{name}               ← Hook → {"hook":HookInfo}   (empty secrets keep theirs)
//	DELETE hooks/{name}               → 204
//	POST   hooks/{name}/test          → TestResult (200 whether or not the target took it)
//	GET    dead-letters?target=&after=&limit=  → {"dead_letters":[DeadLetter],"next":"<id>"}
//	GET    dead-letters/{id}          → {"dead_letter":DeadLetter}  (with the event)
//	POST   dead-letters/{id}/redrive  → 202 {"redriven":1}
//	POST   dead-letters/redrive?target=  → 202 RedriveResult
//	DELETE dead-letters/{id}          → 204
//	GET    outbox                     → {"targets":[{"target","queued","oldest_age_seconds"}],"dead_letters":n}
//
// Config-file hooks are read-only (409 Conflict).
func (s *Service) Admin() http.Handler { return s.admin }

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
	w, err := s.ob.inTx(tx)
	if err != nil {
		return nil, err
	}
	for _, e := range evs {
		if fn := s.stage(e); fn != nil {
			if err := fn(w); err != nil {
				return nil, err
			}
		}
	}
	return func() { s.ob.committed(w) }, nil
}

// enqueue is Deliver with its error.
func (s *Service) enqueue(e events.Event) error {
	if s.ob.isClosed() {
		return ErrClosed
	}
	fn := s.stage(e)
	if fn == nil {
		return nil
	}
	return s.ob.write(fn)
}

// stage routes e (registry) and returns the write that queues it for its
// targets and stores the meeting registrations it changed, or nil when it
// goes nowhere. The event is encoded here, off the writer goroutine.
func (s *Service) stage(e events.Event) func(*wtx) error {
	now := s.clock.Now()
	rt := s.reg.route(e, now)
	if rt.empty() {
		return nil
	}
	p := newPending(e, now, s.maxBytes)
	return func(w *wtx) error {
		if err := p.put(w, rt.targets); err != nil {
			return err
		}
		return rt.store(w.tx)
	}
}

// Pending reports how many deliveries are queued in the outbox (every
// target's, dead letters excluded): a node leaving a cluster waits for it
// to reach 0.
func (s *Service) Pending() int {
	d, _ := s.ob.depths()
	n := 0
	for _, v := range d {
		n += v
	}
	return n
}

// WaitDelivered waits until nothing is queued, or for at most d (polling
// every 100 ms on the wall clock), and returns how many deliveries are
// still queued: a node leaving a cluster calls it last; what stays queued
// is delivered when the node starts again.
func (s *Service) WaitDelivered(d time.Duration) (left int) {
	deadline := time.Now().Add(d)
	for s.Pending() > 0 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	return s.Pending()
}

// SetMeetingTargets records where a meeting's events go (its
// NotificationsConfiguration); call it before the meeting's first event
// (chime:MeetingStarted) is published. The registration is durable when
// SetMeetingTargets returns and survives restarts; it lapses MeetingGrace
// after the meeting's chime:MeetingEnded, or on ForgetMeeting. Empty targets
// forget the meeting. The error wraps ErrInvalidARN or ErrNoEndpoint for an
// ARN no endpoint serves (see Resolver.CheckTargets), or ErrClosed.
func (s *Service) SetMeetingTargets(meetingID string, t MeetingTargets) error {
	return s.reg.setMeeting(meetingID, t)
}

// ForgetMeeting drops a meeting's targets: its later events go to hooks only.
// Events already queued are still delivered.
func (s *Service) ForgetMeeting(meetingID string) error {
	return s.reg.forgetMeeting(meetingID)
}

// Close stops the workers (aborting in-flight sends, which are retried after
// the next New), commits what they recorded, and closes the outbox. Deliver
// calls after Close fail (logged). Close waits for every goroutine it owns.
func (s *Service) Close() error {
	if err := s.ob.shut(); err != nil {
		return err
	}
	s.disp.stop()
	err := s.ob.stop()
	s.m.unregister()
	s.snd.close()
	if err != nil {
		return fmt.Errorf("notify: close: %w", err)
	}
	return nil
}
