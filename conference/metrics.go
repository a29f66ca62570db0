package conference

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/confab-media/confab/mixer"
)

// Member kinds in confab_conference_members.
const (
	kindWebRTC  = "webrtc"
	kindContent = "content"
	kindPhone   = "phone"
)

// collector exposes the Rooms and their mixers' counters at scrape time
// (nothing per packet or per tick but the tick histogram). A Room counts in
// live from its creation until its mixer has closed, when its counters move
// to retired in one step, so the totals never go back.
type collector struct {
	tick prometheus.Histogram

	mu      sync.Mutex // guards live and retired
	live    map[*Room]struct{}
	retired mixer.Stats // of Rooms whose mixer has closed

	rooms, members, ticks, late, skipped, frames, resyncs, decodes, encodes *prometheus.Desc
}

func newCollector() *collector {
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc(name, help, labels, nil)
	}
	return &collector{
		live: map[*Room]struct{}{},
		tick: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: "confab", Subsystem: "mixer", Name: "tick_seconds",
			Help:    "Time one 20 ms mixing step took (decode, mix, encode), per meeting.",
			Buckets: []float64{.0001, .00025, .0005, .001, .002, .004, .008, .016, .032},
		}),
		rooms:   d("confab_conference_rooms", "Meetings with a live runtime (Room) on this node."),
		members: d("confab_conference_members", "Audio legs in the Rooms, by kind (webrtc, content, phone).", "kind"),
		ticks:   d("confab_mixer_ticks_total", "20 ms frames mixed, all meetings."),
		late:    d("confab_mixer_late_ticks_total", "Frames mixed after their tick had passed (the mixer was catching up)."),
		skipped: d("confab_mixer_skipped_ticks_total", "Frames skipped because the mixer fell too far behind."),
		frames: d("confab_mixer_jitter_frames_total",
			"Jitter-buffer events per received or played frame: late, duplicate, invalid, lost, underrun, dropped, inserted.", "event"),
		resyncs: d("confab_mixer_jitter_resyncs_total", "Jitter-buffer restarts (timestamp jumps, resumed streams)."),
		decodes: d("confab_mixer_decodes_total", "Opus decodes, by kind (packet, fec, plc).", "kind"),
		encodes: d("confab_mixer_encodes_total", "Opus encodes (each shared by every listener it went to)."),
	}
}

func (c *collector) add(rm *Room) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.live[rm] = struct{}{}
}

// retire moves a Room whose mixer has closed from live to retired.
func (c *collector) retire(rm *Room) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.live[rm]; ok {
		delete(c.live, rm)
		c.retired = addStats(c.retired, rm.mix.Stats())
	}
}

func addStats(a, b mixer.Stats) mixer.Stats {
	a.Ticks += b.Ticks
	a.Skipped += b.Skipped
	a.LateTicks += b.LateTicks
	a.Decoded += b.Decoded
	a.FEC += b.FEC
	a.PLC += b.PLC
	a.Encoded += b.Encoded
	a.Invalid += b.Invalid
	a.Late += b.Late
	a.Duplicate += b.Duplicate
	a.Lost += b.Lost
	a.Underrun += b.Underrun
	a.Dropped += b.Dropped
	a.Inserted += b.Inserted
	a.Resyncs += b.Resyncs
	return a
}

// Describe implements prometheus.Collector.
func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.rooms, c.members, c.ticks, c.late, c.skipped, c.frames, c.resyncs, c.decodes, c.encodes} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *collector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	total := c.retired
	rooms := make([]*Room, 0, len(c.live))
	for rm := range c.live {
		rooms = append(rooms, rm)
		total = addStats(total, rm.mix.Stats())
	}
	c.mu.Unlock()
	kinds := map[string]int{kindWebRTC: 0, kindContent: 0, kindPhone: 0}
	for _, rm := range rooms {
		rm.mu.Lock()
		for a := range rm.legs {
			switch {
			case a.member.Order >= phoneOrderBase:
				kinds[kindPhone]++
			case a.member.Content:
				kinds[kindContent]++
			default:
				kinds[kindWebRTC]++
			}
		}
		rm.mu.Unlock()
	}
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	counter := func(d *prometheus.Desc, v uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	gauge(c.rooms, float64(len(rooms)))
	for k, n := range kinds {
		gauge(c.members, float64(n), k)
	}
	counter(c.ticks, total.Ticks)
	counter(c.late, total.LateTicks)
	counter(c.skipped, total.Skipped)
	for ev, v := range map[string]uint64{"late": total.Late, "duplicate": total.Duplicate, "invalid": total.Invalid,
		"lost": total.Lost, "underrun": total.Underrun, "dropped": total.Dropped, "inserted": total.Inserted} {
		counter(c.frames, v, ev)
	}
	counter(c.resyncs, total.Resyncs)
	counter(c.decodes, total.Decoded, "packet")
	counter(c.decodes, total.FEC, "fec")
	counter(c.decodes, total.PLC, "plc")
	counter(c.encodes, total.Encoded)
}
