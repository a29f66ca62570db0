package turn

import (
	"errors"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
)

// reason is why a request was refused; its label goes into
// confab_turn_refusals_total.
type reason uint8

const (
	reasonNone        reason = iota
	reasonBadUsername        // not "<expiry>:<attendee>"
	reasonExpired            // expiry in the past
	reasonInactive           // Params.Active said no
	reasonBadPassword        // MESSAGE-INTEGRITY did not verify
	reasonForbiddenPeer
	reasonUserQuota
	reasonGlobalQuota
	reasonStreamCap    // TCP/TLS: the listener's connection cap
	reasonStreamPerIP  // TCP/TLS: the source IP's connection cap
	reasonStreamBudget // TCP/TLS: the process's descriptor budget
	numReasons
)

var reasonLabels = [numReasons]string{
	reasonNone:          "none",
	reasonBadUsername:   "bad_username",
	reasonExpired:       "expired",
	reasonInactive:      "inactive",
	reasonBadPassword:   "bad_password",
	reasonForbiddenPeer: "forbidden_peer",
	reasonUserQuota:     "user_quota",
	reasonGlobalQuota:   "global_quota",
	reasonStreamCap:     "stream_max_conns",
	reasonStreamPerIP:   "stream_per_ip",
	reasonStreamBudget:  "fd_budget",
}

func (r reason) String() string { return reasonLabels[r] }

// counter is a packet and byte count written by one goroutine at a time,
// padded to its own cache line so the two directions of a relay do not
// share one.
type counter struct {
	packets atomic.Uint64
	bytes   atomic.Uint64
	_       [48]byte
}

func (c *counter) add(n int) {
	c.packets.Add(1)
	c.bytes.Add(uint64(n))
}

// metrics are the Server's Prometheus series. The relay counts live in each
// relay (see relay.go) and are summed at scrape time, so the data path
// touches no shared counter.
type metrics struct {
	reg        prometheus.Registerer
	collectors []prometheus.Collector
	refusals   [numReasons]prometheus.Counter
}

func newMetrics(reg prometheus.Registerer, allocations func() int, relayed func() (packets, bytes uint64)) (*metrics, error) {
	m := &metrics{reg: reg}
	vec := prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "confab", Subsystem: "turn", Name: "refusals_total",
		Help: "TURN requests refused, by reason.",
	}, []string{"reason"})
	for r := reasonBadUsername; r < numReasons; r++ {
		m.refusals[r] = vec.WithLabelValues(r.String())
	}
	if reg == nil {
		return m, nil
	}
	m.collectors = []prometheus.Collector{
		vec,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Namespace: "confab", Subsystem: "turn", Name: "allocations",
			Help: "Live TURN allocations.",
		}, func() float64 { return float64(allocations()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Namespace: "confab", Subsystem: "turn", Name: "relayed_packets_total",
			Help: "Datagrams relayed between clients and peers, both directions.",
		}, func() float64 { p, _ := relayed(); return float64(p) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Namespace: "confab", Subsystem: "turn", Name: "relayed_bytes_total",
			Help: "Payload bytes relayed between clients and peers, both directions.",
		}, func() float64 { _, b := relayed(); return float64(b) }),
	}
	for i, c := range m.collectors {
		if err := reg.Register(c); err != nil {
			for _, done := range m.collectors[:i] {
				reg.Unregister(done)
			}
			return nil, errors.Join(ErrInvalidConfig, err)
		}
	}
	return m, nil
}

func (m *metrics) refused(r reason) { m.refusals[r].Inc() }

// unregister removes the series so a new Server can register them again.
func (m *metrics) unregister() {
	for _, c := range m.collectors {
		m.reg.Unregister(c)
	}
}
