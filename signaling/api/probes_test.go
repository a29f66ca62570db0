package api

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
)

// The probes' status, type and body.
func TestProbes(t *testing.T) {
	down := func(context.Context) error { return errors.New("down") }
	up := func(context.Context) error { return nil }
	for _, tc := range []struct {
		name        string
		h           http.Handler
		status      int
		ctype, body string
	}{
		{"healthz", HealthHandler(), 200, "text/plain; charset=utf-8", "ok\n"},
		{"readyz nothing to check", ReadyHandler(), 200, "text/plain; charset=utf-8", "ready\n"},
		{"readyz up", ReadyHandler(ReadyCheck{"store", up}, ReadyCheck{"redis", up}), 200, "text/plain; charset=utf-8", "ready\n"},
		{"readyz down", ReadyHandler(ReadyCheck{"store", down}, ReadyCheck{"media", up}, ReadyCheck{"redis", down}), 503,
			"text/plain; charset=utf-8", "store not ready\nredis not ready\n"},
		{"region", NearestRegionHandler("eu-west-1"), 200, "application/json", "{\"region\":\"eu-west-1\"}\n"},
	} {
		rec := httptest.NewRecorder()
		tc.h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
		if rec.Code != tc.status || rec.Header().Get("Content-Type") != tc.ctype || rec.Body.String() != tc.body {
			t.Errorf("%s: %d %q %q; want %d %q %q", tc.name, rec.Code, rec.Header().Get("Content-Type"), rec.Body.String(),
				tc.status, tc.ctype, tc.body)
		}
	}
}
