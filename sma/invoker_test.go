package sma

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
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
