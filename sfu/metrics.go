package sfu

import (
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
)

// counters are the Server's media counters: plain atomics bumped by the
// readers, senders and RTCP loops (no allocation, no label lookup per
// packet), read by the collector at scrape time.
type counters struct {
	// RTP packets and bytes (header + payload, before SRTP), by
	// direction and kind.
	audioInPkts, audioInBytes, videoInPkts, videoInBytes     atomic.Uint64
	audioOutPkts, audioOutBytes, videoOutPkts, videoOutBytes atomic.Uint64
	nackIn                                                   atomic.Uint64 // NACK packets from subscribers (pion answers them)
	pliIn                                                    atomic.Uint64 // PLI/FIR from subscribers
	pliOut                                                   atomic.Uint64 // PLIs sent to publishers (rate-limited per layer)
	layerSwitches                                            atomic.Uint64 // a subscriber's forwarded layer or source changed
}

// rtpHeaderLen is the fixed RTP header (RFC 3550 §5.1); the packets the
// server sends carry no CSRCs or extensions.
const rtpHeaderLen = 12

// collector exposes counters and the peers at scrape time.
type collector struct {
	sv *Server

	peers, packets, bytes, nacks, plis, switches *prometheus.Desc
	sendCalls, batched, sendErrors               *prometheus.Desc
}

func newCollector(sv *Server) *collector {
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc(name, help, labels, nil)
	}
	return &collector{
		sv:         sv,
		peers:      d("confab_sfu_peers", "WebRTC peer connections, by kind (attendee, content).", "kind"),
		packets:    d("confab_sfu_rtp_packets_total", "RTP packets, by direction (in, out) and kind (audio, video).", "direction", "kind"),
		bytes:      d("confab_sfu_rtp_bytes_total", "RTP bytes (header and payload, before SRTP), by direction and kind.", "direction", "kind"),
		nacks:      d("confab_sfu_nacks_received_total", "RTCP NACK packets from subscribers (answered from the send buffer)."),
		plis:       d("confab_sfu_plis_total", "Keyframe requests: received from subscribers (PLI/FIR), sent to publishers (PLI).", "direction"),
		switches:   d("confab_sfu_layer_switches_total", "Times a subscriber's forwarded video moved to another layer or source."),
		sendCalls:  d("confab_sfu_sendmmsg_calls_total", "sendmmsg system calls that sent batched datagrams (a mixer tick's, a video fan-out's)."),
		batched:    d("confab_sfu_batched_datagrams_total", "Datagrams sent in sendmmsg batches; the rest of the media socket's sends go one by one."),
		sendErrors: d("confab_sfu_batch_send_errors_total", "Batched datagrams the kernel refused (skipped; the batch went on)."),
	}
}

// Describe implements prometheus.Collector.
func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.peers, c.packets, c.bytes, c.nacks, c.plis, c.switches, c.sendCalls, c.batched, c.sendErrors} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *collector) Collect(ch chan<- prometheus.Metric) {
	sv := c.sv
	attendees, content := 0, 0
	sv.mu.Lock()
	for _, p := range sv.peers {
		if p.content {
			content++
		} else {
			attendees++
		}
	}
	sv.mu.Unlock()
	ch <- prometheus.MustNewConstMetric(c.peers, prometheus.GaugeValue, float64(attendees), "attendee")
	ch <- prometheus.MustNewConstMetric(c.peers, prometheus.GaugeValue, float64(content), "content")
	s := &sv.stats
	counter := func(d *prometheus.Desc, v *atomic.Uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v.Load()), labels...)
	}
	counter(c.packets, &s.audioInPkts, "in", "audio")
	counter(c.packets, &s.videoInPkts, "in", "video")
	counter(c.packets, &s.audioOutPkts, "out", "audio")
	counter(c.packets, &s.videoOutPkts, "out", "video")
	counter(c.bytes, &s.audioInBytes, "in", "audio")
	counter(c.bytes, &s.videoInBytes, "in", "video")
	counter(c.bytes, &s.audioOutBytes, "out", "audio")
	counter(c.bytes, &s.videoOutBytes, "out", "video")
	counter(c.nacks, &s.nackIn)
	counter(c.plis, &s.pliIn, "received")
	counter(c.plis, &s.pliOut, "sent")
	counter(c.switches, &s.layerSwitches)
	counter(c.sendCalls, &sv.out.batches)
	counter(c.batched, &sv.out.batched)
	counter(c.sendErrors, &sv.out.sendErrors)
}
