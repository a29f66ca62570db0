package conference

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/confab-media/confab/internal/fakeclock"
	"github.com/confab-media/confab/mixer"
)

// TestMetrics: members by kind, mixer ticks (and the tick histogram)
// counted; the series exist at 0 before any meeting; a Room that ends
// keeps its counts in the totals.
func TestMetrics(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	clock := fakeclock.New(t0)
	r := New(Config{}, Params{Clock: clock, Registerer: reg})
	t.Cleanup(r.Close)
	if err := testutil.GatherAndCompare(reg, strings.NewReader(`
# HELP confab_conference_members Audio legs in the Rooms, by kind (webrtc, content, phone).
# TYPE confab_conference_members gauge
confab_conference_members{kind="content"} 0
confab_conference_members{kind="phone"} 0
confab_conference_members{kind="webrtc"} 0
`), "confab_conference_members"); err != nil {
		t.Fatal(err)
	}
	rm, err := r.Room("m1")
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []Member{{AttendeeID: "a", Order: 1}, {AttendeeID: "a#content", Order: 2, Content: true}, {AttendeeID: "p", Order: phoneOrderBase + 1, Codec: mixer.CodecPCMU}} {
		if _, err := rm.AddAudio(m, nopSink); err != nil {
			t.Fatal(err)
		}
	}
	ticks := func() float64 {
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, mf := range mfs {
			if mf.GetName() == "confab_mixer_ticks_total" {
				return mf.GetMetric()[0].GetCounter().GetValue()
			}
		}
		t.Fatal("no confab_mixer_ticks_total")
		return 0
	}
	deadline := time.Now().Add(5 * time.Second)
	for ticks() < 10 && time.Now().Before(deadline) {
		clock.Advance(20 * time.Millisecond)
		time.Sleep(2 * time.Millisecond)
	}
	before := ticks()
	if before < 10 {
		t.Fatalf("ticks counted: %v", before)
	}
	if err := testutil.GatherAndCompare(reg, strings.NewReader(`
# HELP confab_conference_members Audio legs in the Rooms, by kind (webrtc, content, phone).
# TYPE confab_conference_members gauge
confab_conference_members{kind="content"} 1
confab_conference_members{kind="phone"} 1
confab_conference_members{kind="webrtc"} 1
`), "confab_conference_members"); err != nil {
		t.Fatal(err)
	}
	if n := testutil.CollectAndCount(reg, "confab_mixer_tick_seconds"); n != 1 {
		t.Fatalf("tick histogram series: %d", n)
	}
	r.End("m1")
	r.wg.Wait()
	if after := ticks(); after < before {
		t.Fatalf("ticks went back from %v to %v when the Room ended", before, after)
	}
	if v := testutil.ToFloat64(gaugeOf(t, reg, "confab_conference_rooms")); v != 0 {
		t.Fatalf("rooms after the end: %v", v)
	}
}

func gaugeOf(t *testing.T, reg *prometheus.Registry, name string) prometheus.Collector {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "x"}, func() float64 { return mf.GetMetric()[0].GetGauge().GetValue() })
		}
	}
	t.Fatalf("no %s", name)
	return nil
}
