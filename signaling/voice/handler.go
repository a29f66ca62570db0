package voice

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/confab-media/confab/signaling/sigv4"
)

// maxBody bounds a request body.
const maxBody = 64 << 10

// exception is an error as the SDKs read it.
type exception struct {
	status    int
	code, msg string
}

func (e *exception) Error() string { return e.code + ": " + e.msg }

func badRequest(msg string) *exception {
	return &exception{http.StatusBadRequest, "BadRequestException", msg}
}
func notFound(msg string) *exception {
	return &exception{http.StatusNotFound, "NotFoundException", msg}
}
func conflict(msg string) *exception {
	return &exception{http.StatusConflict, "ConflictException", msg}
}

var (
	errStore = &exception{http.StatusInternalServerError, "ServiceFailureException", "The service failed to process the request"}
	errLimit = &exception{http.StatusBadRequest, "ResourceLimitExceededException", "The limit of SIP media applications or rules is reached"}
)

// Handler serves the API's routes under /sip-media-applications and
// /sip-rules, each request verified by verifier.
func (r *Registry) Handler(verifier *sigv4.Verifier) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		status, v, err := r.serve(verifier, req)
		if err != nil {
			var ex *exception
			if !errors.As(err, &ex) {
				ex = toException(err)
			}
			writeJSON(w, ex.status, map[string]string{"Code": ex.code, "Message": ex.msg}, ex.code)
			return
		}
		writeJSON(w, status, v, "")
	})
}

func (r *Registry) serve(verifier *sigv4.Verifier, req *http.Request) (int, any, error) {
	body, err := io.ReadAll(http.MaxBytesReader(nil, req.Body, maxBody))
	if err != nil {
		return 0, nil, badRequest("The request body is too large or unreadable")
	}
	if _, err := verifier.Verify(req, body); err != nil {
		return 0, nil, err
	}
	seg := strings.Split(strings.Trim(req.URL.Path, "/"), "/")
	q := req.URL.Query()
	switch {
	case len(seg) == 1 && seg[0] == "sip-media-applications":
		switch req.Method {
		case http.MethodPost:
			var in createAppInput
			if err := decode(body, &in); err != nil {
				return 0, nil, err
			}
			a, err := r.createApp(in)
			return http.StatusCreated, map[string]any{"SipMediaApplication": a}, err
		case http.MethodGet:
			list, next, err := r.listApps(q.Get("max-results"), q.Get("next-token"))
			return http.StatusOK, listOut{"SipMediaApplications", list, next}, err
		}
	case len(seg) == 2 && seg[0] == "sip-media-applications":
		id := seg[1]
		switch req.Method {
		case http.MethodGet:
			a, err := r.getApp(id)
			return http.StatusOK, map[string]any{"SipMediaApplication": a}, err
		case http.MethodPut:
			var in updateAppInput
			if err := decode(body, &in); err != nil {
				return 0, nil, err
			}
			a, err := r.updateApp(id, in)
			return http.StatusOK, map[string]any{"SipMediaApplication": a}, err
		case http.MethodDelete:
			return http.StatusNoContent, nil, r.deleteApp(id)
		}
	case len(seg) == 3 && seg[0] == "sip-media-applications" && seg[2] == "calls" && req.Method == http.MethodPost:
		var in createCallInput
		if err := decode(body, &in); err != nil {
			return 0, nil, err
		}
		return r.createCall(seg[1], in)
	case len(seg) == 4 && seg[0] == "sip-media-applications" && seg[2] == "calls" && req.Method == http.MethodPost:
		var in updateCallInput
		if err := decode(body, &in); err != nil {
			return 0, nil, err
		}
		return r.updateCall(seg[1], seg[3], in)
	case len(seg) == 1 && seg[0] == "sip-rules":
		switch req.Method {
		case http.MethodPost:
			var in createRuleInput
			if err := decode(body, &in); err != nil {
				return 0, nil, err
			}
			s, err := r.createRule(in)
			return http.StatusCreated, map[string]any{"SipRule": s}, err
		case http.MethodGet:
			list, next, err := r.listRules(q.Get("sip-media-application"), q.Get("max-results"), q.Get("next-token"))
			return http.StatusOK, listOut{"SipRules", list, next}, err
		}
	case len(seg) == 2 && seg[0] == "sip-rules":
		id := seg[1]
		switch req.Method {
		case http.MethodGet:
			s, err := r.getRule(id)
			return http.StatusOK, map[string]any{"SipRule": s}, err
		case http.MethodPut:
			var in updateRuleInput
			if err := decode(body, &in); err != nil {
				return 0, nil, err
			}
			s, err := r.updateRule(id, in)
			return http.StatusOK, map[string]any{"SipRule": s}, err
		case http.MethodDelete:
			return http.StatusNoContent, nil, r.deleteRule(id)
		}
	}
	return 0, nil, notFound(fmt.Sprintf("No operation matches %s %s", req.Method, truncate(req.URL.Path, 200)))
}

// listOut renders a list with its NextToken under the list's name.
type listOut struct {
	name string
	list any
	next string
}

func (l listOut) MarshalJSON() ([]byte, error) {
	m := map[string]any{l.name: l.list}
	if l.next != "" {
		m["NextToken"] = l.next
	}
	return json.Marshal(m)
}

// decode reads a JSON object body; unknown members are ignored, as the
// SDKs' servers do.
func decode(body []byte, v any) error {
	if len(body) == 0 {
		return nil
	}
	if err := json.Unmarshal(body, v); err != nil {
		return badRequest("The request body is not a valid JSON object: " + truncate(err.Error(), 200))
	}
	return nil
}

// toException maps authentication errors; anything else is a 500.
func toException(err error) *exception {
	switch {
	case errors.Is(err, sigv4.ErrMissingAuth), errors.Is(err, sigv4.ErrMalformedAuth), errors.Is(err, sigv4.ErrUnknownKey):
		return &exception{http.StatusUnauthorized, "UnauthorizedClientException", err.Error()}
	case errors.Is(err, sigv4.ErrSignatureMismatch), errors.Is(err, sigv4.ErrRequestExpired), errors.Is(err, sigv4.ErrWrongService):
		return &exception{http.StatusForbidden, "ForbiddenException", err.Error()}
	}
	return errStore
}

func writeJSON(w http.ResponseWriter, status int, v any, errType string) {
	w.Header().Set("X-Amzn-RequestId", requestID())
	if errType != "" {
		w.Header().Set("X-Amzn-ErrorType", errType)
	}
	if v == nil {
		w.WriteHeader(status)
		return
	}
	b, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

func requestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
