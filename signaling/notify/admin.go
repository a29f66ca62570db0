package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/confab-media/confab/internal/clock"
)

// AdminPrefix is where the admin API is meant to be mounted. Admin's handler
// accepts paths with or without it.
const AdminPrefix = "/admin/notify"

// admin is the admin HTTP API (Service.Admin): the registry's hooks, the
// dead-letter store and the outbox's queues, as JSON. A hook change wakes
// the hook's worker (a re-enabled hook resumes, a deleted one's queue is
// dead-lettered).
type admin struct {
	ob    *outbox
	reg   *registry
	dead  *deadStore
	disp  *dispatcher
	clock clock.Clock
}

var _ http.Handler = (*admin)(nil)

// apiError is the JSON error body.
type apiError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	if v != nil {
		_ = json.NewEncoder(w).Encode(v)
	}
}

func writeErr(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, apiError{Code: code, Message: msg})
}

// writeError maps a package error to its HTTP status.
func writeError(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, ErrInvalidHook), errors.Is(err, ErrInvalidARN), errors.Is(err, ErrNoEndpoint):
		writeErr(w, http.StatusBadRequest, "BadRequest", err.Error())
	case errors.Is(err, ErrHookNotFound), errors.Is(err, ErrDeadLetterNotFound):
		writeErr(w, http.StatusNotFound, "NotFound", err.Error())
	case errors.Is(err, ErrHookExists), errors.Is(err, ErrHookReadOnly), errors.Is(err, ErrNotRedrivable):
		writeErr(w, http.StatusConflict, "Conflict", err.Error())
	case errors.Is(err, ErrClosed):
		writeErr(w, http.StatusServiceUnavailable, "ServiceUnavailable", err.Error())
	default:
		writeErr(w, http.StatusInternalServerError, "InternalError", err.Error())
	}
}

func methodNotAllowed(w http.ResponseWriter, allow ...string) {
	w.Header().Set("Allow", strings.Join(allow, ", "))
	writeErr(w, http.StatusMethodNotAllowed, "MethodNotAllowed", "allowed: "+strings.Join(allow, ", "))
}

// hookInput is a Hook as POST and PUT take it: a HookInfo as listed may be
// sent back, its read-only fields ignored.
type hookInput struct {
	Hook
	Source string `json:"source,omitempty"`
	Queued int    `json:"queued,omitempty"`
}

// maxAdminBody bounds a request body.
const maxAdminBody = 1 << 20

func decodeBody(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxAdminBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeErr(w, http.StatusRequestEntityTooLarge, "PayloadTooLarge", err.Error())
		} else {
			writeErr(w, http.StatusBadRequest, "BadRequest", "request body: "+err.Error())
		}
		return false
	}
	return true
}

func (a *admin) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	if rest, ok := strings.CutPrefix(p, AdminPrefix); ok {
		p = rest
	}
	seg := strings.Split(strings.Trim(p, "/"), "/")
	switch {
	case len(seg) == 1 && seg[0] == "hooks":
		a.serveHooks(w, r)
	case len(seg) == 2 && seg[0] == "hooks":
		a.serveHook(w, r, seg[1])
	case len(seg) == 3 && seg[0] == "hooks" && seg[2] == "test":
		if r.Method != http.MethodPost {
			methodNotAllowed(w, http.MethodPost)
			return
		}
		res, err := a.testHook(r.Context(), seg[1])
		if err != nil {
			writeError(w, err)
			return
		}
		writeJSON(w, http.StatusOK, res)
	case len(seg) == 1 && seg[0] == "dead-letters":
		a.serveDeadLetters(w, r)
	case len(seg) == 2 && seg[0] == "dead-letters" && seg[1] == "redrive":
		if r.Method != http.MethodPost {
			methodNotAllowed(w, http.MethodPost)
			return
		}
		res, err := a.dead.redriveAll(r.URL.Query().Get("target"))
		if err != nil {
			writeError(w, err)
			return
		}
		writeJSON(w, http.StatusAccepted, res)
	case len(seg) == 2 && seg[0] == "dead-letters":
		a.serveDeadLetter(w, r, seg[1])
	case len(seg) == 3 && seg[0] == "dead-letters" && seg[2] == "redrive":
		if r.Method != http.MethodPost {
			methodNotAllowed(w, http.MethodPost)
			return
		}
		if err := a.dead.redrive(seg[1]); err != nil {
			writeError(w, err)
			return
		}
		writeJSON(w, http.StatusAccepted, RedriveResult{Redriven: 1})
	case len(seg) == 1 && seg[0] == "outbox":
		if r.Method != http.MethodGet {
			methodNotAllowed(w, http.MethodGet)
			return
		}
		if a.ob.isClosed() {
			writeError(w, ErrClosed)
			return
		}
		writeJSON(w, http.StatusOK, a.outboxStatus())
	default:
		writeErr(w, http.StatusNotFound, "NotFound", fmt.Sprintf("no admin resource at %s", r.URL.Path))
	}
}

func (a *admin) serveHooks(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet:
		writeJSON(w, http.StatusOK, map[string]any{"hooks": a.listHooks()})
	case http.MethodPost:
		var h hookInput
		if !decodeBody(w, r, &h) {
			return
		}
		st, err := a.reg.create(h.Hook)
		if err != nil {
			writeError(w, err)
			return
		}
		writeJSON(w, http.StatusCreated, map[string]any{"hook": a.changed(st)})
	default:
		methodNotAllowed(w, http.MethodGet, http.MethodPost)
	}
}

func (a *admin) serveHook(w http.ResponseWriter, r *http.Request, name string) {
	switch r.Method {
	case http.MethodGet:
		st := a.reg.hook(name)
		if st == nil {
			writeError(w, fmt.Errorf("%w: %s", ErrHookNotFound, name))
			return
		}
		depth, _ := a.ob.depths()
		writeJSON(w, http.StatusOK, map[string]any{"hook": st.info(depth[hookKey(name)])})
	case http.MethodPut:
		var h hookInput
		if !decodeBody(w, r, &h) {
			return
		}
		st, err := a.reg.update(name, h.Hook)
		if err != nil {
			writeError(w, err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"hook": a.changed(st)})
	case http.MethodDelete:
		if err := a.reg.remove(name); err != nil {
			writeError(w, err)
			return
		}
		a.disp.wake(map[string]bool{hookKey(name): true}) // its worker abandons the queue
		w.WriteHeader(http.StatusNoContent)
	default:
		methodNotAllowed(w, http.MethodGet, http.MethodPut, http.MethodDelete)
	}
}

func (a *admin) serveDeadLetters(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		methodNotAllowed(w, http.MethodGet)
		return
	}
	q := r.URL.Query()
	limit := 100
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			writeErr(w, http.StatusBadRequest, "BadRequest", "limit must be 1 to 1000")
			return
		}
		limit = n
	}
	var after uint64
	if v := q.Get("after"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			writeErr(w, http.StatusBadRequest, "BadRequest", "after must be a dead-letter id")
			return
		}
		after = n
	}
	list, next, err := a.dead.list(q.Get("target"), after, limit)
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"dead_letters": list, "next": next})
}

func (a *admin) serveDeadLetter(w http.ResponseWriter, r *http.Request, id string) {
	switch r.Method {
	case http.MethodGet:
		d, err := a.dead.get(id)
		if err != nil {
			writeError(w, err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"dead_letter": d})
	case http.MethodDelete:
		if err := a.dead.discard(id); err != nil {
			writeError(w, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	default:
		methodNotAllowed(w, http.MethodGet, http.MethodDelete)
	}
}

// TargetStatus is one target's queue.
type TargetStatus struct {
	Target    string  `json:"target"`
	Queued    int     `json:"queued"`
	OldestAge float64 `json:"oldest_age_seconds"`
}

// OutboxStatus is the state of the outbox.
type OutboxStatus struct {
	Targets     []TargetStatus `json:"targets"`
	DeadLetters int            `json:"dead_letters"`
}

func (a *admin) outboxStatus() OutboxStatus {
	depth, dead := a.ob.depths()
	oldest := a.ob.oldest()
	now := a.clock.Now()
	st := OutboxStatus{Targets: []TargetStatus{}, DeadLetters: dead}
	for t, n := range depth {
		ts := TargetStatus{Target: t, Queued: n}
		if at, ok := oldest[t]; ok {
			ts.OldestAge = max(0, now.Sub(at).Round(time.Millisecond).Seconds())
		}
		st.Targets = append(st.Targets, ts)
	}
	sort.Slice(st.Targets, func(i, j int) bool { return st.Targets[i].Target < st.Targets[j].Target })
	return st
}

// changed wakes the worker of a created or updated hook (a re-enabled hook
// resumes) and returns the hook as the API shows it.
func (a *admin) changed(st *hookState) HookInfo {
	key := hookKey(st.hook.Name)
	a.disp.wake(map[string]bool{key: true})
	depth, _ := a.ob.depths()
	return st.info(depth[key])
}

// listHooks returns every hook, by name.
func (a *admin) listHooks() []HookInfo {
	depth, _ := a.ob.depths()
	hooks := a.reg.hookMap()
	out := make([]HookInfo, 0, len(hooks))
	for name, st := range hooks {
		out = append(out, st.info(depth[hookKey(name)]))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// testHook sends a probe event to the hook's target (hookState.probe).
func (a *admin) testHook(ctx context.Context, name string) (TestResult, error) {
	if a.ob.isClosed() {
		return TestResult{}, ErrClosed
	}
	st := a.reg.hook(name)
	if st == nil {
		return TestResult{}, fmt.Errorf("%w: %s", ErrHookNotFound, name)
	}
	return st.probe(ctx, a.clock.Now()), nil
}
