package notify

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
)

// AdminPrefix is where the admin API is meant to be mounted. Admin's handler
// accepts paths with or without it.
const AdminPrefix = "/admin/notify"

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
func (s *Service) Admin() http.Handler { return http.HandlerFunc(s.serveAdmin) }

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

func (s *Service) serveAdmin(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	if rest, ok := strings.CutPrefix(p, AdminPrefix); ok {
		p = rest
	}
	seg := strings.Split(strings.Trim(p, "/"), "/")
	switch {
	case len(seg) == 1 && seg[0] == "hooks":
		s.serveHooks(w, r)
	case len(seg) == 2 && seg[0] == "hooks":
		s.serveHook(w, r, seg[1])
	case len(seg) == 3 && seg[0] == "hooks" && seg[2] == "test":
		if r.Method != http.MethodPost {
			methodNotAllowed(w, http.MethodPost)
			return
		}
		res, err := s.testHook(r.Context(), seg[1])
		if err != nil {
			writeError(w, err)
			return
		}
		writeJSON(w, http.StatusOK, res)
	case len(seg) == 1 && seg[0] == "dead-letters":
		s.serveDeadLetters(w, r)
	case len(seg) == 2 && seg[0] == "dead-letters" && seg[1] == "redrive":
		if r.Method != http.MethodPost {
			methodNotAllowed(w, http.MethodPost)
			return
		}
		res, err := s.redriveAll(r.URL.Query().Get("target"))
		if err != nil {
			writeError(w, err)
			return
		}
		writeJSON(w, http.StatusAccepted, res)
	case len(seg) == 2 && seg[0] == "dead-letters":
		s.serveDeadLetter(w, r, seg[1])
	case len(seg) == 3 && seg[0] == "dead-letters" && seg[2] == "redrive":
		if r.Method != http.MethodPost {
			methodNotAllowed(w, http.MethodPost)
			return
		}
		if err := s.redrive(seg[1]); err != nil {
			writeError(w, err)
			return
		}
		writeJSON(w, http.StatusAccepted, RedriveResult{Redriven: 1})
	case len(seg) == 1 && seg[0] == "outbox":
		if r.Method != http.MethodGet {
			methodNotAllowed(w, http.MethodGet)
			return
		}
		if err := s.errClosedIf(); err != nil {
			writeError(w, err)
			return
		}
		writeJSON(w, http.StatusOK, s.outboxStatus())
	default:
		writeErr(w, http.StatusNotFound, "NotFound", fmt.Sprintf("no admin resource at %s", r.URL.Path))
	}
}

func (s *Service) serveHooks(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet:
		writeJSON(w, http.StatusOK, map[string]any{"hooks": s.listHooks()})
	case http.MethodPost:
		var h hookInput
		if !decodeBody(w, r, &h) {
			return
		}
		info, err := s.createHook(h.Hook)
		if err != nil {
			writeError(w, err)
			return
		}
		writeJSON(w, http.StatusCreated, map[string]any{"hook": info})
	default:
		methodNotAllowed(w, http.MethodGet, http.MethodPost)
	}
}

func (s *Service) serveHook(w http.ResponseWriter, r *http.Request, name string) {
	switch r.Method {
	case http.MethodGet:
		info, err := s.getHook(name)
		if err != nil {
			writeError(w, err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"hook": info})
	case http.MethodPut:
		var h hookInput
		if !decodeBody(w, r, &h) {
			return
		}
		info, err := s.updateHook(name, h.Hook)
		if err != nil {
			writeError(w, err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"hook": info})
	case http.MethodDelete:
		if err := s.deleteHook(name); err != nil {
			writeError(w, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	default:
		methodNotAllowed(w, http.MethodGet, http.MethodPut, http.MethodDelete)
	}
}

func (s *Service) serveDeadLetters(w http.ResponseWriter, r *http.Request) {
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
	list, next, err := s.deadLetters(q.Get("target"), after, limit)
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"dead_letters": list, "next": next})
}

func (s *Service) serveDeadLetter(w http.ResponseWriter, r *http.Request, id string) {
	switch r.Method {
	case http.MethodGet:
		d, err := s.deadLetter(id)
		if err != nil {
			writeError(w, err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"dead_letter": d})
	case http.MethodDelete:
		if err := s.discard(id); err != nil {
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

func (s *Service) outboxStatus() OutboxStatus {
	depth, dead := s.ob.depths()
	oldest := s.ob.oldest()
	now := s.clock.Now()
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
