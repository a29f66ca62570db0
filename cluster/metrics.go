package cluster

import "github.com/prometheus/client_golang/prometheus"

type metrics struct {
	placements   *prometheus.CounterVec // by chosen node, or "none"
	forwards     *prometheus.CounterVec // by target node, or "dead"
	heartbeatAge *prometheus.GaugeVec   // seconds since each live node's last heartbeat
	hosted       prometheus.Gauge
	reaped       prometheus.Counter
	relayed      prometheus.Counter
}

func newMetrics(reg prometheus.Registerer, self string) *metrics {
	labels := prometheus.Labels{"node": self}
	m := &metrics{
		placements: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "confab_cluster_placements_total",
			Help: "CreateMeeting placements this node decided, by the node chosen (none: no node could take it).", ConstLabels: labels}, []string{"target"}),
		forwards: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "confab_cluster_forwards_total",
			Help: "API requests this node forwarded, by target node (dead: its host was gone).", ConstLabels: labels}, []string{"target"}),
		heartbeatAge: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "confab_cluster_heartbeat_age_seconds",
			Help: "Age of each live node's last heartbeat, as this node last saw it.", ConstLabels: labels}, []string{"peer"}),
		hosted: prometheus.NewGauge(prometheus.GaugeOpts{Name: "confab_cluster_meetings_hosted",
			Help: "Meetings this node hosts.", ConstLabels: labels}),
		reaped: prometheus.NewCounter(prometheus.CounterOpts{Name: "confab_cluster_reaped_meetings_total",
			Help: "Meetings of dead nodes this node ended.", ConstLabels: labels}),
		relayed: prometheus.NewCounter(prometheus.CounterOpts{Name: "confab_cluster_relayed_events_total",
			Help: "Events this node took from the events stream into its delivery outbox.", ConstLabels: labels}),
	}
	if reg != nil {
		reg.MustRegister(m.placements, m.forwards, m.heartbeatAge, m.hosted, m.reaped, m.relayed)
	}
	return m
}
