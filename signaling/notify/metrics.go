package notify

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/confab-media/confab/internal/clock"
)

// metrics are the Prometheus collectors of the parts: the outbox counts
// dead letters, evictions and commits; the dispatcher deliveries and
// retries; the Service enqueue errors. The target label is the target key:
// "hook:<name>", a meeting target ARN, or "dlq".
type metrics struct {
	reg           prometheus.Registerer
	registered    []prometheus.Collector
	delivered     *prometheus.CounterVec
	retried       *prometheus.CounterVec
	dead          *prometheus.CounterVec
	enqueueErrors prometheus.Counter
	evicted       prometheus.Counter
	commit        prometheus.Histogram
}

func newMetrics(reg prometheus.Registerer, ob *outbox, clk clock.Clock) (*metrics, error) {
	m := &metrics{
		reg: reg,
		delivered: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "confab_notify_delivered_total", Help: "Events accepted by their target.",
		}, []string{"target"}),
		retried: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "confab_notify_retried_total", Help: "Failed delivery attempts that will be retried.",
		}, []string{"target"}),
		dead: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "confab_notify_dead_lettered_total", Help: "Events moved to the dead-letter store.",
		}, []string{"target", "reason"}),
		enqueueErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "confab_notify_enqueue_errors_total", Help: "Events that could not be written to the outbox.",
		}),
		evicted: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "confab_notify_dead_letters_evicted_total", Help: "Oldest dead letters dropped to keep the dead-letter store within its limits.",
		}),
		commit: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "confab_notify_outbox_commit_seconds", Help: "Duration of one group commit of the outbox.",
			Buckets: prometheus.ExponentialBuckets(0.0002, 2, 14),
		}),
	}
	oc := &outboxCollector{
		ob: ob, clock: clk,
		depth:  prometheus.NewDesc("confab_notify_outbox_depth", "Events queued per target.", []string{"target"}, nil),
		oldest: prometheus.NewDesc("confab_notify_outbox_oldest_age_seconds", "Age of the oldest queued event per target.", []string{"target"}, nil),
		dead:   prometheus.NewDesc("confab_notify_dead_letters", "Entries in the dead-letter store.", nil, nil),
		bytes:  prometheus.NewDesc("confab_notify_outbox_bytes", "Stored bytes of the outbox (all targets) and of the dead-letter store.", []string{"store"}, nil),
	}
	for _, c := range []prometheus.Collector{m.delivered, m.retried, m.dead, m.enqueueErrors, m.evicted, m.commit, oc} {
		if err := reg.Register(c); err != nil {
			m.unregister()
			return nil, err
		}
		m.registered = append(m.registered, c)
	}
	return m, nil
}

func (m *metrics) unregister() {
	for _, c := range m.registered {
		m.reg.Unregister(c)
	}
	m.registered = nil
}

// outboxCollector reports the queue state at scrape time.
type outboxCollector struct {
	ob                         *outbox
	clock                      clock.Clock
	depth, oldest, dead, bytes *prometheus.Desc
}

func (c *outboxCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.depth
	ch <- c.oldest
	ch <- c.dead
	ch <- c.bytes
}

func (c *outboxCollector) Collect(ch chan<- prometheus.Metric) {
	depth, dead := c.ob.depths()
	for t, n := range depth {
		ch <- prometheus.MustNewConstMetric(c.depth, prometheus.GaugeValue, float64(n), t)
	}
	now := c.clock.Now()
	for t, at := range c.ob.oldest() {
		ch <- prometheus.MustNewConstMetric(c.oldest, prometheus.GaugeValue, max(0, now.Sub(at).Seconds()), t)
	}
	ch <- prometheus.MustNewConstMetric(c.dead, prometheus.GaugeValue, float64(dead))
	ob, db := c.ob.n.sizes()
	ch <- prometheus.MustNewConstMetric(c.bytes, prometheus.GaugeValue, float64(ob), "outbox")
	ch <- prometheus.MustNewConstMetric(c.bytes, prometheus.GaugeValue, float64(db), "dead")
}
