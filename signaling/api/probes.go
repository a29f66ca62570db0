package api

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// HealthHandler answers GET /healthz: 200 "ok" while the process serves.
func HealthHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = io.WriteString(w, "ok\n")
	})
}

// ReadyCheck is one dependency /readyz checks.
type ReadyCheck struct {
	Name  string                      // "store", "media", "redis"
	Check func(context.Context) error // nil error: ready
}

// ReadyHandler answers GET /readyz: 200 "ready" when every check passes
// (each given the request's context, bounded to 3 s), else 503 with one
// line "<name> not ready" per failing check. The errors themselves are
// logged by the caller's checks, not shown.
func ReadyHandler(checks ...ReadyCheck) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
		defer cancel()
		var failed []string
		for _, c := range checks {
			if c.Check != nil && c.Check(ctx) != nil {
				failed = append(failed, c.Name+" not ready\n")
			}
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if len(failed) > 0 {
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = io.WriteString(w, strings.Join(failed, ""))
			return
		}
		_, _ = io.WriteString(w, "ready\n")
	})
}

// NearestRegionHandler answers GET /nearest-media-region the way
// https://nearest-media-region.l.chime.aws does: {"region":"<region>"}.
func NearestRegionHandler(region string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = fmt.Fprintf(w, "{\"region\":%q}\n", region)
	})
}
