package guard

import "github.com/prometheus/client_golang/prometheus"

// NewCounters registers confab_panics_recovered_total{subsystem} on reg and
// returns a function giving one subsystem's Counter, to hand to that
// subsystem's Params.Panics.
func NewCounters(reg prometheus.Registerer) func(subsystem string) Counter {
	vec := prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "confab", Name: "panics_recovered_total",
		Help: "Panics contained in goroutines that handle remote input, by subsystem; each ended only what it owned.",
	}, []string{"subsystem"})
	reg.MustRegister(vec)
	return func(subsystem string) Counter { return vec.WithLabelValues(subsystem) }
}
