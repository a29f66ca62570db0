// Package debughttp holds the operator's HTTP endpoints beside the API: the
// net/http/pprof profiling handlers (confab serve's debug.pprof: they expose
// the process's internals, so they are off unless asked for) and a
// listener of its own for /metrics (http.metrics_listen).
package debughttp

import (
	"net/http"
	"net/http/pprof"
)

// MountPprof serves /debug/pprof/ (the index and every named profile),
// profile, trace, symbol and cmdline on mux.
func MountPprof(mux *http.ServeMux) {
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
}
