package api

import (
	"context"
	"fmt"
	"io"
	"net/http"
)

// HealthHandler answers GET /healthz: 200 "ok" while the process serves.
func HealthHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = io.WriteString(w, "ok\n")
	})
}

// ReadyHandler answers GET /readyz: 200 "ready", or 503 "<dependency>
// unreachable" while check (given the request's context) fails. A nil
// check is always ready.
func ReadyHandler(dependency string, check func(context.Context) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if check != nil {
			if err := check(r.Context()); err != nil {
				w.WriteHeader(http.StatusServiceUnavailable)
				_, _ = io.WriteString(w, dependency+" unreachable\n")
				return
			}
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
