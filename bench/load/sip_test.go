package load

import (
	"testing"
	"time"

	"github.com/confab-media/confab/bench/attendee"
)

// TestBurstsFrom: a listener that came into the meeting during a burst
// hears the rest of it begin at once; that onset must not count as a
// mouth-to-ear latency against the burst sent before it joined.
func TestBurstsFrom(t *testing.T) {
	t0 := time.Unix(1000, 0)
	bursts := []time.Time{t0, t0.Add(time.Second), t0.Add(2 * time.Second)}
	joined := t0.Add(150 * time.Millisecond) // during burst 0
	onsets := []time.Time{t0.Add(170 * time.Millisecond), t0.Add(1060 * time.Millisecond), t0.Add(2055 * time.Millisecond)}
	if all := attendee.MouthToEar(bursts, onsets, m2eMaxLag); len(all) != 3 || all[0] != 170*time.Millisecond {
		t.Fatalf("without the cut: %v", all)
	}
	got := attendee.MouthToEar(burstsFrom(bursts, joined), onsets, m2eMaxLag)
	if len(got) != 2 || got[0] != 60*time.Millisecond || got[1] != 55*time.Millisecond {
		t.Fatalf("lags %v, want [60ms 55ms]", got)
	}
	if b := burstsFrom(bursts, time.Time{}); b != nil {
		t.Fatalf("never in the meeting: %v", b)
	}
	if n := burstsBetween(bursts, joined, t0.Add(2*time.Second)); n != 2 {
		t.Fatalf("bursts between: %d", n)
	}
}
