package sipgw

import (
	"errors"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the gateway's Prometheus collectors. Calls keep plain
// counters on their hot paths and add the increments here on their
// housekeeping tick and when they end.
type metrics struct {
	active    *prometheus.GaugeVec   // transport, codec
	total     *prometheus.CounterVec // transport, codec
	refused   *prometheus.CounterVec // code
	setup     prometheus.Histogram
	expected  prometheus.Counter
	lost      prometheus.Counter
	lateIn    prometheus.Counter
	lostUnits prometheus.Counter
	rejected  prometheus.Counter
	invalid   prometheus.Counter
	lateTicks prometheus.Counter
	dropped   prometheus.Counter
	dtmf      *prometheus.CounterVec // method
	ended     *prometheus.CounterVec // reason
	junk      prometheus.Counter
	streamRef *prometheus.CounterVec // transport, reason
	// handedOver counts INVITEs passed to the node hosting their meeting.
	handedOver prometheus.Counter
	// registers counts REGISTERs answered (nothing is stored; register.go).
	registers prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	const ns, sub = "confab", "sipgw"
	counter := func(name, help string) prometheus.Counter {
		return prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: name, Help: help})
	}
	m := &metrics{
		active: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: ns, Subsystem: sub, Name: "calls_active",
			Help: "Calls in progress, by SIP transport and codec."}, []string{"transport", "codec"}),
		total: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "calls_total",
			Help: "Calls answered, by SIP transport and codec."}, []string{"transport", "codec"}),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "calls_refused_total",
			Help: "INVITEs refused, by SIP status code."}, []string{"code"}),
		setup: prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: ns, Subsystem: sub, Name: "call_setup_seconds",
			Help:    "Time from an INVITE to its 200 OK.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5}}),
		expected: counter("rtp_packets_expected_total", "RTP packets expected from callers (RFC 3550 §A.3)."),
		lost:     counter("rtp_packets_lost_total", "RTP packets from callers that never arrived (expected − received)."),
		lateIn: counter("rtp_packets_late_total", "RTP packets from callers that arrived behind newer ones "+
			"(G.711: dropped, their audio was already concealed; Opus: still pushed, the mixer places them)."),
		lostUnits: counter("g711_concealed_units_total", "10 ms units of G.711 audio concealed after loss."),
		rejected:  counter("rtp_packets_rejected_total", "RTP packets dropped: SRTP authentication or replay failure, or not from the latched source."),
		invalid:   counter("rtp_packets_invalid_total", "RTP packets dropped as malformed, of an unknown payload type, or refused by the leg."),
		lateTicks: counter("late_ticks_total", "Mix frames (20 ms ticks) sent to a caller more than 20 ms after the mixer produced them."),
		dropped:   counter("mix_frames_dropped_total", "Mix frames dropped because a call's sender was behind."),
		dtmf: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "dtmf_digits_total",
			Help: "DTMF digits received, by method (rfc4733, info)."}, []string{"method"}),
		ended: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "calls_ended_total",
			Help: "Calls ended, by reason."}, []string{"reason"}),
		junk: counter("junk_messages_total", "SIP datagrams and stream data that could not be parsed (logged at a limited rate)."),
		streamRef: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "connections_refused_total",
			Help: "TCP and TLS connections closed at accept, by transport and cap (max_conns, per_ip, budget)."},
			[]string{"transport", "reason"}),
		handedOver: counter("calls_handed_over_total", "INVITEs passed to the cluster node hosting their meeting (the call then runs there)."),
		registers:  counter("registers_total", "REGISTERs answered 200 without storing a binding (the gateway is dial-in only)."),
	}
	// The series a dashboard plots exist at 0 from start-up.
	for _, tr := range []string{"udp", "tcp", "tls"} {
		for _, c := range []codec{codecOpus, codecPCMU, codecPCMA} {
			m.active.WithLabelValues(tr, c.String())
			m.total.WithLabelValues(tr, c.String())
		}
	}
	for _, code := range []int{403, 404, 420, 422, 486, 487, 488, 500, 503} {
		m.refused.WithLabelValues(strconv.Itoa(code))
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.active, m.total, m.refused, m.setup, m.expected, m.lost, m.lateIn,
		m.lostUnits, m.rejected, m.invalid, m.lateTicks, m.dropped, m.dtmf, m.ended, m.junk, m.streamRef, m.handedOver, m.registers} {
		if err := reg.Register(c); err != nil {
			return nil, errors.Join(errors.New("sipgw: register metrics"), err)
		}
	}
	return m, nil
}

func (m *metrics) refusedWith(code int) { m.refused.WithLabelValues(strconv.Itoa(code)).Inc() }

// callCounters remembers what a call already added to the metrics.
type callCounters struct {
	expected, received, late, lostUnits, rejected, invalid, lateTicks, dropped uint64
}

// flush adds what media counted since the last flush.
func (m *metrics) flush(md *media, last *callCounters) {
	cur := callCounters{
		expected: md.expected.Load(), received: md.received.Load(), late: md.lateIn.Load(),
		lostUnits: md.lostUnits.Load(), rejected: md.rejected.Load(), invalid: md.invalid.Load(), lateTicks: md.lateTicks.Load(),
		dropped: md.dropped.Load(),
	}
	add := func(c prometheus.Counter, now, before uint64) {
		if now > before {
			c.Add(float64(now - before))
		}
	}
	add(m.expected, cur.expected, last.expected)
	lostNow, lostBefore := sat(cur.expected, cur.received), sat(last.expected, last.received)
	add(m.lost, lostNow, lostBefore)
	add(m.lateIn, cur.late, last.late)
	add(m.lostUnits, cur.lostUnits, last.lostUnits)
	add(m.rejected, cur.rejected, last.rejected)
	add(m.invalid, cur.invalid, last.invalid)
	add(m.lateTicks, cur.lateTicks, last.lateTicks)
	add(m.dropped, cur.dropped, last.dropped)
	*last = cur
}

// sat returns a − b, or 0 if b > a (duplicates can outnumber losses).
func sat(a, b uint64) uint64 {
	if b > a {
		return 0
	}
	return a - b
}
