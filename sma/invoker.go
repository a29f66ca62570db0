package sma

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/confab-media/confab/internal/clock"
	"github.com/confab-media/confab/signaling/notify"
)

// The guide's timeouts and retries: an invocation waits 5 s; it is retried
// once; after that the call ends with 480.
const (
	invokeTimeout = 5 * time.Second
	invokeTries   = 2
)

// Bounds on what a handler may send back.
const (
	maxResponseBytes = 1 << 20
	maxActions       = 100
)

// ErrHandler: the handler did not answer usefully in all tries (timeout,
// transport error, non-2xx status, or a body that is not a response).
var ErrHandler = errors.New("sma: handler failed")

// Invoker calls an application's handler with one event.
type Invoker interface {
	Invoke(ctx context.Context, app *Application, ev *Event) (*Response, error)
}

// HTTPInvoker POSTs events to Application.Endpoint.
type HTTPInvoker struct {
	// Client makes the requests; nil is a client without redirects.
	Client *http.Client
	// Clock signs the requests; nil is the system clock.
	Clock clock.Clock
	// Timeout is each try's wait; 0 is the guide's 5 s.
	Timeout time.Duration
}

// Invoke POSTs ev as JSON, signed with the application's secret like a
// webhook (notify.Sign over "timestamp.body"), waits Timeout per try and
// retries once. A 2xx body must be a Response; an empty 2xx body is a
// response without actions (keep running).
func (h *HTTPInvoker) Invoke(ctx context.Context, app *Application, ev *Event) (*Response, error) {
	body, err := json.Marshal(ev)
	if err != nil {
		return nil, err
	}
	return withRetry(ctx, h.Timeout, app.ID, func(ctx context.Context, try int) (*Response, error) {
		return h.post(ctx, app, body, try)
	})
}

// withRetry runs one try, and a second if it failed, each within timeout
// (0: the guide's 5 s).
func withRetry(ctx context.Context, timeout time.Duration, appID string, try func(context.Context, int) (*Response, error)) (*Response, error) {
	if timeout <= 0 {
		timeout = invokeTimeout
	}
	var last error
	for n := 1; n <= invokeTries; n++ {
		tctx, cancel := context.WithTimeout(ctx, timeout)
		resp, err := try(tctx, n)
		cancel()
		if err == nil {
			return resp, nil
		}
		last = err
		if ctx.Err() != nil {
			break
		}
	}
	return nil, fmt.Errorf("%w: %s: %v", ErrHandler, appID, last)
}

func (h *HTTPInvoker) post(ctx context.Context, app *Application, body []byte, try int) (*Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, app.Endpoint, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	var now time.Time
	if h.Clock != nil {
		now = h.Clock.Now()
	} else {
		now = time.Now()
	}
	ts := now.Unix()
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(notify.HeaderTimestamp, strconv.FormatInt(ts, 10))
	if app.Secret != "" {
		req.Header.Set(notify.HeaderSignature, notify.Sign([]byte(app.Secret), ts, body))
	}
	req.Header.Set("X-Confab-Sip-Media-Application", app.ID)
	req.Header.Set(notify.HeaderAttempt, strconv.Itoa(try))
	client := h.Client
	if client == nil {
		client = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	res, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(io.LimitReader(res.Body, maxResponseBytes+1))
	if err != nil {
		return nil, err
	}
	if res.StatusCode < 200 || res.StatusCode > 299 {
		return nil, fmt.Errorf("status %d", res.StatusCode)
	}
	return parseResponse(b)
}

// parseResponse decodes a handler's answer, bounded in size and actions.
func parseResponse(b []byte) (*Response, error) {
	if len(b) > maxResponseBytes {
		return nil, fmt.Errorf("response over %d bytes", maxResponseBytes)
	}
	var r Response
	if len(bytes.TrimSpace(b)) == 0 {
		return &r, nil
	}
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("response: %v", err)
	}
	if len(r.Actions) > maxActions {
		return nil, fmt.Errorf("response has %d actions (at most %d)", len(r.Actions), maxActions)
	}
	return &r, nil
}

// LambdaInvoker invokes an application's LambdaARN synchronously
// (RequestResponse) through Invoke — notify.Service.InvokeLambda, which
// reaches the function through the configured AWS endpoints — with the
// event as payload; the function's result is the Response.
type LambdaInvoker struct {
	Invoke func(ctx context.Context, functionARN string, payload []byte) ([]byte, error)
	// Timeout is each try's wait; 0 is the guide's 5 s.
	Timeout time.Duration
}

// Invokers sends each application's events to its handler: Lambda for an
// application with a LambdaARN, HTTP otherwise.
type Invokers struct {
	HTTP   *HTTPInvoker
	Lambda *LambdaInvoker // nil: Lambda applications fail (480)
}

// Invoke implements Invoker.
func (iv Invokers) Invoke(ctx context.Context, app *Application, ev *Event) (*Response, error) {
	if app.LambdaARN == "" {
		return iv.HTTP.Invoke(ctx, app, ev)
	}
	if iv.Lambda == nil || iv.Lambda.Invoke == nil {
		return nil, fmt.Errorf("%w: %s: no Lambda endpoint", ErrHandler, app.ID)
	}
	payload, err := json.Marshal(ev)
	if err != nil {
		return nil, err
	}
	return withRetry(ctx, iv.Lambda.Timeout, app.ID, func(ctx context.Context, _ int) (*Response, error) {
		out, err := iv.Lambda.Invoke(ctx, app.LambdaARN, payload)
		if err != nil {
			return nil, err
		}
		return parseResponse(out)
	})
}
