package sfu

import "testing"

// TestFitPriorityContentFirst: under congestion the budget goes to a
// content share before any camera, whatever the content track's mid, so a
// subscriber that can carry one stream keeps the shared screen.
func TestFitPriorityContentFirst(t *testing.T) {
	track := func(mid string, content bool, bps uint32) *downTrack {
		src := &source{content: content}
		l := &layer{src: src}
		l.active.Store(true)
		l.avgBps.Store(bps)
		src.layers = []*layer{l}
		return &downTrack{mid: mid, want: l}
	}
	cam0, cam1 := track("1", false, 100_000), track("2", false, 100_000)
	content := track("3", true, 100_000)
	idle := &downTrack{mid: "0"} // bound to nothing yet

	got := byFitPriority([]*downTrack{cam1, idle, content, cam0})
	want := []*downTrack{content, idle, cam0, cam1}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("order %d: got mid %s, want mid %s", i, got[i].mid, want[i].mid)
		}
	}

	budget := 150_000.0 // room for one stream
	var kept []string
	for _, d := range got {
		if d.want == nil {
			continue
		}
		if l := fitLayer(d.want, budget); l != nil {
			budget -= float64(l.avgBps.Load())
			kept = append(kept, d.mid)
		}
	}
	if len(kept) != 1 || kept[0] != "3" {
		t.Fatalf("with room for one stream the fitted tracks are %v, want only the content share (mid 3)", kept)
	}
}
