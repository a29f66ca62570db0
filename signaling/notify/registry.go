package notify

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/confab-media/confab/signaling/events"
)

// registry knows where events go: the hooks (of the configuration file and
// of the admin API, hooks.go), each meeting's targets (meetings.go), the DLQ,
// and the endpoints that serve meeting target ARNs (Resolver). It keeps its
// state in the outbox's file, written through the outbox writer.
//
// Its API: route matches an event to its target keys; target gives the
// dispatcher a key's sender; redrivable checks a dead letter's target;
// create, update, remove and hook serve the admin API; setMeeting and
// forgetMeeting serve the meeting service.
type registry struct {
	ob       *outbox // set by load
	snd      *senders
	resolver *Resolver
	log      *slog.Logger
	maxBytes int    // Config.MaxMessageBytes
	dlq      sender // nil without Config.DLQ
	meetings meetingSet

	// mu serialises hook changes (held across outbox writes) and guards
	// storing hooks.
	mu sync.Mutex
	// hooks is copy-on-write: readers (route, target: per event and per
	// attempt) take no lock.
	hooks atomic.Pointer[map[string]*hookState]
}

// newRegistry builds the DLQ's sender and the configuration file's hooks.
func newRegistry(cfg Config, resolver *Resolver, snd *senders, log *slog.Logger) (*registry, error) {
	r := &registry{snd: snd, resolver: resolver, log: log, maxBytes: cfg.MaxMessageBytes,
		meetings: meetingSet{grace: cfg.MeetingGrace, m: map[string]meetingReg{}}}
	if cfg.DLQ != nil {
		var err error
		if r.dlq, err = snd.sqs(cfg.DLQ); err != nil {
			return nil, fmt.Errorf("%w: DLQ: %w", ErrInvalidConfig, err)
		}
	}
	hooks := make(map[string]*hookState, len(cfg.Hooks))
	for _, h := range cfg.Hooks {
		st, err := r.newHookState(h, sourceConfig)
		if err != nil {
			return nil, fmt.Errorf("%w: hook %s: %w", ErrInvalidConfig, h.Name, err)
		}
		hooks[h.Name] = st
	}
	r.hooks.Store(&hooks)
	return r, nil
}

// load reads the admin hooks and the meeting registrations from ob, whose
// writer has not started, and drops registrations past MeetingGrace.
func (r *registry) load(ob *outbox, now time.Time) error {
	r.ob = ob
	hooks := r.hookMap()
	var expired [][]byte
	err := ob.view(func(tx *bolt.Tx) error {
		if err := tx.Bucket(bucketHooks).ForEach(func(k, v []byte) error {
			var h Hook
			if err := json.Unmarshal(v, &h); err != nil {
				r.log.Error("stored hook unreadable; ignored", "hook", string(k), "err", err)
				return nil
			}
			if _, ok := hooks[h.Name]; ok {
				r.log.Warn("admin hook shadowed by the configuration file's hook of the same name", "hook", h.Name)
				return nil
			}
			st, err := r.newHookState(h, sourceAPI)
			if err != nil {
				r.log.Error("stored hook invalid; ignored", "hook", h.Name, "err", err)
				return nil
			}
			hooks[h.Name] = st
			return nil
		}); err != nil {
			return err
		}
		var err error
		expired, err = r.meetings.load(tx.Bucket(bucketMeetings), now)
		return err
	})
	if err != nil || len(expired) == 0 {
		return err
	}
	return ob.update(func(tx *bolt.Tx) error {
		for _, k := range expired {
			if err := tx.Bucket(bucketMeetings).Delete(k); err != nil {
				return err
			}
		}
		return nil
	})
}

// route is where one event goes, and the changes to the meeting
// registrations that it makes.
type route struct {
	targets   []string    // target keys: hooks, then the meeting's targets
	meetingID string      // lower case
	ended     *meetingReg // the meeting's registration, just marked ended: to store
	prune     []string    // registrations past MeetingGrace: to delete
}

func (rt route) empty() bool { return len(rt.targets) == 0 && rt.ended == nil && len(rt.prune) == 0 }

// store writes the registration changes in tx.
func (rt route) store(tx *bolt.Tx) error {
	mb := tx.Bucket(bucketMeetings)
	if rt.ended != nil {
		v, _ := json.Marshal(rt.ended)
		if err := mb.Put([]byte(rt.meetingID), v); err != nil {
			return err
		}
	}
	for _, id := range rt.prune {
		if err := mb.Delete([]byte(id)); err != nil {
			return err
		}
	}
	return nil
}

// route returns e's targets: every enabled hook whose filter takes it, then
// the targets of its meeting. A chime:MeetingEnded starts its meeting's
// grace period and ends those of meetings past it.
func (r *registry) route(e events.Event, now time.Time) route {
	rt := route{targets: r.hookTargets(e.Detail.EventType), meetingID: strings.ToLower(e.Detail.MeetingID)}
	r.meetings.route(&rt, e.Detail.EventType == events.MeetingEnded, now)
	return rt
}

// hookTargets returns the keys of the enabled hooks taking events of type t.
func (r *registry) hookTargets(t events.Type) []string {
	var out []string
	for name, h := range r.hookMap() {
		if h.hook.IsEnabled() && (h.types == nil || h.types[t]) {
			out = append(out, hookKey(name))
		}
	}
	sort.Strings(out) // deterministic seq order across targets
	return out
}

// target implements targetSet.
func (r *registry) target(ctx context.Context, key string) (sender, targetState, error) {
	if name, ok := hookName(key); ok {
		h := r.hook(name)
		switch {
		case h == nil:
			return nil, targetGone, nil
		case !h.hook.IsEnabled():
			return nil, targetPaused, nil
		}
		return h.snd, targetActive, nil
	}
	if key == dlqTarget {
		if r.dlq == nil {
			return nil, targetGone, nil
		}
		return r.dlq, targetActive, nil
	}
	a, ep, err := r.resolver.resolve(key)
	if err != nil {
		return nil, targetActive, err
	}
	snd, err := r.snd.arn(ctx, a, ep)
	if err != nil {
		return nil, targetActive, err
	}
	return snd, targetActive, nil
}

// redrivable reports why a dead letter cannot go back to its target, if so.
// Called inside a writer transaction.
func (r *registry) redrivable(e *entry) error {
	t := e.meta.Target
	name, isHook := hookName(t)
	switch {
	case len(e.body) > r.maxBytes:
		return fmt.Errorf("%w: %w: %d bytes, over the %d-byte limit", ErrNotRedrivable, ErrTooLarge, len(e.body), r.maxBytes)
	case isHook:
		if r.hook(name) == nil {
			return fmt.Errorf("%w: hook %s no longer exists", ErrNotRedrivable, name)
		}
	case t == dlqTarget:
		if r.dlq == nil {
			return fmt.Errorf("%w: no DLQ is configured", ErrNotRedrivable)
		}
	default:
		if _, _, err := r.resolver.resolve(t); err != nil {
			return fmt.Errorf("%w: %w", ErrNotRedrivable, err)
		}
	}
	return nil
}
