package notify

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"time"

	"github.com/confab-media/confab/signaling/events"
)

// HookInfo is a hook as the admin API shows it: secrets left out.
type HookInfo struct {
	Hook
	Source string `json:"source"` // "config" (read-only) or "api"
	Queued int    `json:"queued"` // events waiting in its outbox queue
}

// TestResult is the outcome of sending a probe event to a hook.
type TestResult struct {
	Hook      string  `json:"hook"`
	Delivered bool    `json:"delivered"`
	Error     string  `json:"error,omitempty"` // the target's exact error
	EventID   string  `json:"event_id"`
	LatencyMS float64 `json:"latency_ms"`
}

// ProbeEventType is the detail.eventType of the event a hook test sends.
const ProbeEventType events.Type = "confab:HookTest"

// redacted returns a deep copy of h without secrets.
func redacted(h Hook) Hook {
	h = cloneHook(h)
	if h.Webhook != nil {
		h.Webhook.Secret = ""
	}
	if c := credsOf(&h); c != nil {
		c.SecretAccessKey, c.SessionToken = "", ""
	}
	return h
}

// cloneHook deep-copies the pointer and slice fields of h.
func cloneHook(h Hook) Hook {
	if h.Webhook != nil {
		w := *h.Webhook
		h.Webhook = &w
	}
	if h.SQS != nil {
		q := *h.SQS
		h.SQS = &q
	}
	if h.SNS != nil {
		t := *h.SNS
		h.SNS = &t
	}
	if h.EventBridge != nil {
		b := *h.EventBridge
		h.EventBridge = &b
	}
	if h.Enabled != nil {
		v := *h.Enabled
		h.Enabled = &v
	}
	h.EventTypes = append([]events.Type(nil), h.EventTypes...)
	return h
}

// credsOf returns the AWS credentials of h's target, if it has any.
func credsOf(h *Hook) *Credentials {
	switch {
	case h.SQS != nil:
		return &h.SQS.Credentials
	case h.SNS != nil:
		return &h.SNS.Credentials
	case h.EventBridge != nil:
		return &h.EventBridge.Credentials
	}
	return nil
}

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

func (r *registry) newHookState(h Hook, source string) (*hookState, error) {
	h, err := normalizeHook(h)
	if err != nil {
		return nil, err
	}
	snd, err := r.snd.hook(&h)
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

// hookMap returns the hooks in force, by name. Read only: it is shared.
func (r *registry) hookMap() map[string]*hookState { return *r.hooks.Load() }

// hook returns the state of a hook, or nil.
func (r *registry) hook(name string) *hookState { return r.hookMap()[name] }

// storeLocked installs st in place of the hook of its name, or, when st is
// nil, removes the hook name. Caller holds mu.
func (r *registry) storeLocked(name string, st *hookState) {
	m := maps.Clone(r.hookMap())
	if st != nil {
		m[name] = st
	} else {
		delete(m, name)
	}
	r.hooks.Store(&m)
}

// create adds an admin hook; it is durable when create returns. The caller
// wakes the hook's worker.
func (r *registry) create(h Hook) (*hookState, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.hook(h.Name) != nil {
		return nil, fmt.Errorf("%w: %s", ErrHookExists, h.Name)
	}
	return r.putLocked(h)
}

// update replaces an admin hook. Secrets left empty keep their stored values
// (the list hides them, so a listed hook can be edited and sent back). The
// caller wakes the hook's worker: a re-enabled hook resumes.
func (r *registry) update(name string, h Hook) (*hookState, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	old := r.hook(name)
	switch {
	case old == nil:
		return nil, fmt.Errorf("%w: %s", ErrHookNotFound, name)
	case old.source == sourceConfig:
		return nil, fmt.Errorf("%w: %s", ErrHookReadOnly, name)
	}
	if h.Name == "" {
		h.Name = name
	}
	if h.Name != name {
		return nil, fmt.Errorf("%w: the name in the body (%q) differs from the path (%q)", ErrInvalidHook, h.Name, name)
	}
	h = cloneHook(h)
	if h.Type == old.hook.Type {
		if h.Webhook != nil && h.Webhook.Secret == "" && old.hook.Webhook != nil {
			h.Webhook.Secret = old.hook.Webhook.Secret
		}
		if c, oc := credsOf(&h), credsOf(&old.hook); c != nil && oc != nil &&
			c.AccessKeyID == oc.AccessKeyID && c.SecretAccessKey == "" {
			c.SecretAccessKey, c.SessionToken = oc.SecretAccessKey, oc.SessionToken
		}
	}
	return r.putLocked(h)
}

// putLocked validates, stores and installs h. Caller holds mu.
func (r *registry) putLocked(h Hook) (*hookState, error) {
	if r.ob.isClosed() {
		return nil, ErrClosed
	}
	st, err := r.newHookState(h, sourceAPI)
	if err != nil {
		return nil, err
	}
	v, err := json.Marshal(&st.hook)
	if err != nil {
		return nil, err
	}
	name := st.hook.Name
	if err := r.ob.write(func(w *wtx) error { return w.tx.Bucket(bucketHooks).Put([]byte(name), v) }); err != nil {
		return nil, err
	}
	r.storeLocked(name, st)
	return st, nil
}

// remove deletes an admin hook. The caller wakes the hook's worker, which
// moves the events still queued for it to the dead-letter store (reason
// hook_deleted).
func (r *registry) remove(name string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	old := r.hook(name)
	switch {
	case old == nil:
		return fmt.Errorf("%w: %s", ErrHookNotFound, name)
	case old.source == sourceConfig:
		return fmt.Errorf("%w: %s", ErrHookReadOnly, name)
	}
	if err := r.ob.write(func(w *wtx) error { return w.tx.Bucket(bucketHooks).Delete([]byte(name)) }); err != nil {
		return err
	}
	r.storeLocked(name, nil)
	return nil
}

// probe sends a probe event (type confab:HookTest) straight to the hook's
// target, bypassing the outbox, the filter and the enabled flag.
func (st *hookState) probe(ctx context.Context, now time.Time) TestResult {
	e := events.New(ProbeEventType, now, "000000000000", "local")
	e.Detail.MeetingID = "00000000-0000-0000-0000-000000000000"
	e.Detail.ExternalMeetingID = "confab-hook-test"
	en := &entry{seq: 1, meta: meta{EventID: e.ID, EventType: string(e.Detail.EventType), First: now.UnixNano(), Enqueued: now.UnixNano()}, body: e.JSON()}
	start := time.Now()
	errs := st.snd.send(ctx, []*entry{en})
	res := TestResult{Hook: st.hook.Name, EventID: e.ID, Delivered: errs[0] == nil, LatencyMS: float64(time.Since(start).Microseconds()) / 1000}
	if errs[0] != nil {
		res.Error = errs[0].Error()
	}
	return res
}

// info is st as the admin API shows it, queued being its queue's depth.
func (st *hookState) info(queued int) HookInfo {
	h := redacted(st.hook)
	enabled := h.IsEnabled()
	h.Enabled = &enabled
	return HookInfo{Hook: h, Source: st.source, Queued: queued}
}
