package notify

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
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

func (s *Service) hookInfo(st *hookState, depth map[string]int) HookInfo {
	h := redacted(st.hook)
	enabled := h.IsEnabled()
	h.Enabled = &enabled
	return HookInfo{Hook: h, Source: st.source, Queued: depth[hookKey(st.hook.Name)]}
}

// listHooks returns every hook, by name.
func (s *Service) listHooks() []HookInfo {
	depth, _ := s.ob.depths()
	s.hooksMu.RLock()
	out := make([]HookInfo, 0, len(s.hooks))
	for _, st := range s.hooks {
		out = append(out, s.hookInfo(st, depth))
	}
	s.hooksMu.RUnlock()
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func (s *Service) getHook(name string) (HookInfo, error) {
	st := s.hookFor(name)
	if st == nil {
		return HookInfo{}, fmt.Errorf("%w: %s", ErrHookNotFound, name)
	}
	depth, _ := s.ob.depths()
	return s.hookInfo(st, depth), nil
}

// createHook adds an admin hook; it is durable when createHook returns.
func (s *Service) createHook(h Hook) (HookInfo, error) {
	s.adminMu.Lock()
	defer s.adminMu.Unlock()
	if s.hookFor(h.Name) != nil {
		return HookInfo{}, fmt.Errorf("%w: %s", ErrHookExists, h.Name)
	}
	return s.putHook(h)
}

// updateHook replaces an admin hook. Secrets left empty keep their stored
// values (the list hides them, so a listed hook can be edited and sent back).
func (s *Service) updateHook(name string, h Hook) (HookInfo, error) {
	s.adminMu.Lock()
	defer s.adminMu.Unlock()
	old := s.hookFor(name)
	switch {
	case old == nil:
		return HookInfo{}, fmt.Errorf("%w: %s", ErrHookNotFound, name)
	case old.source == sourceConfig:
		return HookInfo{}, fmt.Errorf("%w: %s", ErrHookReadOnly, name)
	}
	if h.Name == "" {
		h.Name = name
	}
	if h.Name != name {
		return HookInfo{}, fmt.Errorf("%w: the name in the body (%q) differs from the path (%q)", ErrInvalidHook, h.Name, name)
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
	return s.putHook(h)
}

// putHook validates, stores and installs h. Caller holds adminMu.
func (s *Service) putHook(h Hook) (HookInfo, error) {
	if err := s.errClosedIf(); err != nil {
		return HookInfo{}, err
	}
	st, err := s.newHookState(h, sourceAPI)
	if err != nil {
		return HookInfo{}, err
	}
	v, err := json.Marshal(&st.hook)
	if err != nil {
		return HookInfo{}, err
	}
	name := st.hook.Name
	if err := s.write(func(w *wtx) error { return w.tx.Bucket(bucketHooks).Put([]byte(name), v) }); err != nil {
		return HookInfo{}, err
	}
	s.hooksMu.Lock()
	s.hooks[name] = st
	s.hooksMu.Unlock()
	s.wakeTargets(map[string]bool{hookKey(name): true}) // a re-enabled hook resumes
	depth, _ := s.ob.depths()
	return s.hookInfo(st, depth), nil
}

// deleteHook removes an admin hook. Events still queued for it move to the
// dead-letter store (reason hook_deleted).
func (s *Service) deleteHook(name string) error {
	s.adminMu.Lock()
	defer s.adminMu.Unlock()
	old := s.hookFor(name)
	switch {
	case old == nil:
		return fmt.Errorf("%w: %s", ErrHookNotFound, name)
	case old.source == sourceConfig:
		return fmt.Errorf("%w: %s", ErrHookReadOnly, name)
	}
	if err := s.write(func(w *wtx) error { return w.tx.Bucket(bucketHooks).Delete([]byte(name)) }); err != nil {
		return err
	}
	s.hooksMu.Lock()
	delete(s.hooks, name)
	s.hooksMu.Unlock()
	s.wakeTargets(map[string]bool{hookKey(name): true}) // its worker abandons the queue
	return nil
}

// testHook sends a probe event (type confab:HookTest) straight to the hook's
// target, bypassing the outbox, the filter and the enabled flag.
func (s *Service) testHook(ctx context.Context, name string) (TestResult, error) {
	if err := s.errClosedIf(); err != nil {
		return TestResult{}, err
	}
	st := s.hookFor(name)
	if st == nil {
		return TestResult{}, fmt.Errorf("%w: %s", ErrHookNotFound, name)
	}
	now := s.clock.Now()
	e := events.New(ProbeEventType, now, "000000000000", "local")
	e.Detail.MeetingID = "00000000-0000-0000-0000-000000000000"
	e.Detail.ExternalMeetingID = "confab-hook-test"
	en := &entry{seq: 1, meta: meta{EventID: e.ID, EventType: string(e.Detail.EventType), First: now.UnixNano(), Enqueued: now.UnixNano()}, body: e.JSON()}
	start := time.Now()
	errs := st.snd.send(ctx, []*entry{en})
	res := TestResult{Hook: name, EventID: e.ID, Delivered: errs[0] == nil, LatencyMS: float64(time.Since(start).Microseconds()) / 1000}
	if errs[0] != nil {
		res.Error = errs[0].Error()
	}
	return res, nil
}
