// Package api serves the Amazon Chime SDK Meetings REST-JSON API
// (apiVersion 2021-07-15) so that server applications using an AWS SDK work
// against Confab by changing only their endpoint. It authenticates every
// request with SigV4, throttles per access key, routes on method + path +
// `operation`, decodes and validates input, and writes every failure as the
// typed exception the SDKs expect (X-Amzn-ErrorType + JSON {Code, Message,
// RequestId}). The domain work is done by package meeting.
//
// Reference: https://docs.aws.amazon.com/chime-sdk/latest/APIReference/API_Operations_Amazon_Chime_SDK_Meetings.html
package api

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/confab-media/confab/signaling/meeting"
	"github.com/confab-media/confab/signaling/sigv4"
)

// maxBody bounds request bodies; the largest legal one (100 attendees) is
// far smaller.
const maxBody = 1 << 20

// Config holds the API's tunables.
type Config struct {
	RequestsPerSecond float64 // per access key; 0 disables throttling
	Burst             int
}

// Params are the API's dependencies.
type Params struct {
	Meetings *meeting.Service
	Verifier *sigv4.Verifier
	Metrics  prometheus.Registerer
	Log      *slog.Logger
	Now      func() time.Time
	// Limiter, if set, replaces the node's own per-key token bucket
	// (Config.RequestsPerSecond, Burst): a cluster shares one bucket per
	// access key across its nodes (cluster.RateLimiter).
	Limiter Limiter
}

// Limiter decides whether a verified request of an access key may run now.
type Limiter interface {
	Allow(accessKeyID string) bool
}

// Handler is the http.Handler of the meetings API.
type Handler struct {
	p       Params
	limiter Limiter
	metrics *metrics
}

// NewHandler builds the API handler.
func NewHandler(cfg Config, p Params) *Handler {
	var lim Limiter = newRateLimiter(cfg.RequestsPerSecond, cfg.Burst, p.Now)
	if p.Limiter != nil {
		lim = p.Limiter
	}
	return &Handler{
		p:       p,
		limiter: lim,
		metrics: newMetrics(p.Metrics),
	}
}

// request is one API call in flight.
type request struct {
	r     *http.Request
	w     http.ResponseWriter
	id    string
	body  []byte
	route route
}

// ServeHTTP authenticates, throttles, routes and answers one request.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	req := &request{r: r, w: w, id: newRequestID()}
	req.route = match(r.Method, r.URL.Path, r.URL.Query())
	w.Header().Set("X-Amzn-RequestId", req.id)

	status, err := h.serve(req)
	if err != nil {
		ex := toException(err)
		if ex.status >= 500 {
			h.p.Log.Error("api request failed", "op", req.route.op, "request", req.id, "err", err)
		}
		status = ex.status
		writeException(w, ex, req.id)
	}
	h.metrics.observe(req.route.op, status, time.Since(start))
}

func (h *Handler) serve(req *request) (int, error) {
	body, err := io.ReadAll(http.MaxBytesReader(req.w, req.r.Body, maxBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return 0, badRequest(fmt.Sprintf("The request body is larger than %d bytes", maxBody))
		}
		return 0, badRequest("The request body could not be read")
	}
	req.body = body
	auth, err := h.p.Verifier.Verify(req.r, body)
	if err != nil {
		return 0, err
	}
	if !h.limiter.Allow(auth.AccessKeyID) {
		return 0, &exception{http.StatusTooManyRequests, "ThrottlingException", "Rate exceeded for access key " + auth.AccessKeyID}
	}
	op, ok := operations[req.route.op]
	if !ok {
		return 0, &exception{http.StatusNotFound, "NotFoundException",
			fmt.Sprintf("No operation matches %s %s", req.r.Method, req.r.URL.RequestURI())}
	}
	return op(h, req)
}

// decode reads the JSON body into v. An empty body is an empty object, so
// missing members are reported by validation with their names.
func (req *request) decode(v any) error {
	if len(req.body) == 0 {
		return nil
	}
	if err := json.Unmarshal(req.body, v); err != nil {
		var typeErr *json.UnmarshalTypeError
		var synErr *json.SyntaxError
		switch {
		case errors.As(err, &typeErr) && typeErr.Field != "":
			return badRequest(fmt.Sprintf("Invalid %s: expected %s, got a JSON %s", typeErr.Field, typeErr.Type, typeErr.Value))
		case errors.As(err, &typeErr):
			return badRequest(fmt.Sprintf("The request body must be a JSON object, got a JSON %s", typeErr.Value))
		case errors.As(err, &synErr):
			return badRequest(fmt.Sprintf("The request body is not valid JSON: %v (at byte %d)", synErr, synErr.Offset))
		default:
			return badRequest("The request body is not valid JSON: " + err.Error())
		}
	}
	return nil
}

// reply writes a 200 JSON body, or just the status when v is nil.
func (req *request) reply(status int, v any) (int, error) {
	if v == nil {
		req.w.WriteHeader(status)
		return status, nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return 0, err
	}
	req.w.Header().Set("Content-Type", "application/json")
	req.w.WriteHeader(status)
	_, _ = req.w.Write(b)
	return status, nil
}

func writeException(w http.ResponseWriter, ex *exception, requestID string) {
	b, _ := json.Marshal(struct {
		Code      string
		Message   string
		RequestId string
	}{ex.code, ex.msg, requestID})
	w.Header().Set("X-Amzn-ErrorType", ex.code)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(ex.status)
	_, _ = w.Write(b)
}

// newRequestID returns a random UUID for X-Amzn-RequestId.
func newRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
