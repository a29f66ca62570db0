package main

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/confab-media/confab/internal/guard"
)

// panicCounter registers confab_panics_recovered_total{subsystem} and
// returns the counter for one subsystem, to hand to that subsystem's Params
// (internal/guard counts each panic it contains there).
func panicCounter(reg prometheus.Registerer) func(subsystem string) guard.Counter {
	vec := prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "confab", Name: "panics_recovered_total",
		Help: "Panics contained in goroutines that handle remote input, by subsystem; each ended only what it owned.",
	}, []string{"subsystem"})
	reg.MustRegister(vec)
	return func(subsystem string) guard.Counter { return vec.WithLabelValues(subsystem) }
}
