// Package guard contains panics in goroutines that handle remote input, so
// that one bad peer ends only what it owns (its session, call, allocation or
// delivery attempt) and never the process.
//
// Use it as the first deferred call of such a goroutine or handler:
//
//	defer guard.Recover(p.Log, p.Panics, "session reader", func(any) { s.close() })
//
// The recovered value and stack are logged once at Error level and the
// counter (confab_panics_recovered_total{subsystem=…}, see NewCounters) is
// incremented.
package guard

import (
	"log/slog"
	"runtime/debug"
)

// Counter is incremented once per recovered panic. A Prometheus counter
// satisfies it; nil counts nothing.
type Counter interface{ Inc() }

// Recover stops a panic in progress, logs it with its stack, counts it and
// runs cleanup (if any) with the recovered value. It must be deferred
// directly (defer guard.Recover(...)), or recover finds nothing. A goroutine
// that is not panicking passes through untouched.
func Recover(log *slog.Logger, c Counter, what string, cleanup func(v any)) {
	v := recover()
	if v == nil {
		return
	}
	Handle(log, c, what, v)
	if cleanup != nil {
		cleanup(v)
	}
}

// Handle is Recover's reporting half, for callers that recover themselves
// (for example to turn the panic into an error result).
func Handle(log *slog.Logger, c Counter, what string, v any) {
	if c != nil {
		c.Inc()
	}
	if log == nil {
		log = slog.Default()
	}
	log.Error("recovered panic: "+what+" ended, the process goes on",
		"panic", v, "stack", string(debug.Stack()))
}
