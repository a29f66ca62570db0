package sma

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestHandlerTimeoutRetriedOnce: a handler slower than the timeout is
// tried twice, then the invocation fails (the call gets 480).
func TestHandlerTimeoutRetriedOnce(t *testing.T) {
	var tries atomic.Int32
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tries.Add(1)
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	inv := &HTTPInvoker{Timeout: 100 * time.Millisecond}
	start := time.Now()
	_, err := inv.Invoke(context.Background(), &Application{ID: "a", Endpoint: srv.URL}, &Event{SchemaVersion: "1.0"})
	if !errors.Is(err, ErrHandler) {
		t.Fatalf("err = %v, want ErrHandler", err)
	}
	if n := tries.Load(); n != 2 {
		t.Fatalf("%d tries, want 2", n)
	}
	if d := time.Since(start); d < 200*time.Millisecond {
		t.Fatalf("gave up after %s, before two timeouts", d)
	}
}

func TestHandlerResponses(t *testing.T) {
	for _, tc := range []struct {
		status  int
		body    string
		ok      bool
		actions int // -1: nil (keep)
	}{
		{200, `{"SchemaVersion":"1.0","Actions":[{"Type":"Pause","Parameters":{"DurationInMilliseconds":1}}]}`, true, 1},
		{200, `{"SchemaVersion":"1.0","Actions":[]}`, true, 0},
		{200, `{"SchemaVersion":"1.0"}`, true, -1},
		{200, ``, true, -1},
		{204, ``, true, -1},
		{500, `{"SchemaVersion":"1.0","Actions":[]}`, false, 0},
		{302, ``, false, 0},
		{200, `[1,2]`, false, 0},
	} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if tc.status == 302 {
				w.Header().Set("Location", "http://127.0.0.1:1/")
			}
			w.WriteHeader(tc.status)
			_, _ = w.Write([]byte(tc.body))
		}))
		resp, err := (&HTTPInvoker{Timeout: time.Second}).Invoke(context.Background(), &Application{ID: "a", Endpoint: srv.URL}, &Event{})
		srv.Close()
		if (err == nil) != tc.ok {
			t.Fatalf("%d %q: err %v", tc.status, tc.body, err)
		}
		if err != nil {
			continue
		}
		if tc.actions < 0 && resp.Actions != nil || tc.actions >= 0 && (resp.Actions == nil || len(resp.Actions) != tc.actions) {
			t.Fatalf("%d %q: actions %v", tc.status, tc.body, resp.Actions)
		}
	}
}

func TestParseResponseBounds(t *testing.T) {
	big := make([]byte, maxResponseBytes+1)
	if _, err := parseResponse(big); err == nil {
		t.Fatal("an oversized response parsed")
	}
	many := []byte(`{"Actions":[`)
	for i := 0; i <= maxActions; i++ {
		if i > 0 {
			many = append(many, ',')
		}
		many = append(many, `{"Type":"Pause"}`...)
	}
	many = append(many, "]}"...)
	if _, err := parseResponse(many); err == nil {
		t.Fatalf("%d actions parsed", maxActions+1)
	}
}

func TestLambdaInvokers(t *testing.T) {
	var calls atomic.Int32
	iv := Invokers{HTTP: &HTTPInvoker{}, Lambda: &LambdaInvoker{Timeout: time.Second, Invoke: func(ctx context.Context, arn string, payload []byte) ([]byte, error) {
		if calls.Add(1) == 1 {
			return nil, errors.New("throttled")
		}
		if arn != "arn:aws:lambda:us-east-1:1:function:f" || !strings.Contains(string(payload), `"InvocationEventType":"NEW_INBOUND_CALL"`) {
			t.Errorf("invoked %s with %s", arn, payload)
		}
		return []byte(`{"SchemaVersion":"1.0","Actions":[{"Type":"Hangup","Parameters":{}}]}`), nil
	}}}
	app := &Application{ID: "l", LambdaARN: "arn:aws:lambda:us-east-1:1:function:f"}
	resp, err := iv.Invoke(context.Background(), app, &Event{InvocationEventType: EventNewInboundCall})
	if err != nil || len(resp.Actions) != 1 || calls.Load() != 2 {
		t.Fatalf("resp %+v err %v after %d calls (one failure, one retry)", resp, err, calls.Load())
	}
	if _, err := (Invokers{HTTP: &HTTPInvoker{}}).Invoke(context.Background(), app, &Event{}); !errors.Is(err, ErrHandler) {
		t.Fatalf("no Lambda invoker: %v", err)
	}
	for _, bad := range []Application{
		{ID: "a"},
		{ID: "a", Endpoint: "http://x/", LambdaARN: "arn:aws:lambda:us-east-1:1:function:f"},
		{ID: "a", LambdaARN: "arn:aws:sqs:us-east-1:1:q"},
	} {
		if err := (Config{Applications: []Application{bad}}).Validate(); err == nil {
			t.Errorf("%+v validated", bad)
		}
	}
}
