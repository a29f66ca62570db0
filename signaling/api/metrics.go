package api

import (
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the API's Prometheus series.
type metrics struct {
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "confab", Subsystem: "api", Name: "requests_total",
			Help: "Control-plane API requests by operation and HTTP status.",
		}, []string{"operation", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "confab", Subsystem: "api", Name: "request_duration_seconds",
			Help:    "Control-plane API request latency by operation.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1},
		}, []string{"operation"}),
	}
	// Every operation's successes exist at 0 from start-up, so rates and
	// dashboards have a series before the first call.
	for _, op := range []Operation{OpCreateMeeting, OpCreateMeetingWithAttendees, OpGetMeeting, OpDeleteMeeting,
		OpCreateAttendee, OpBatchCreateAttendee, OpListAttendees, OpGetAttendee, OpDeleteAttendee,
		OpUpdateAttendeeCapabilities, OpBatchUpdateAttendeeCapabilitiesExcept, OpStartMeetingTranscription,
		OpStopMeetingTranscription, OpListTagsForResource, OpTagResource, OpUntagResource} {
		m.requests.WithLabelValues(string(op), "200")
		m.latency.WithLabelValues(string(op))
	}
	reg.MustRegister(m.requests, m.latency)
	return m
}

func (m *metrics) observe(op Operation, status int, d time.Duration) {
	m.requests.WithLabelValues(string(op), strconv.Itoa(status)).Inc()
	m.latency.WithLabelValues(string(op)).Observe(d.Seconds())
}
