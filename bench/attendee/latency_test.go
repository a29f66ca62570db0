package attendee

import (
	"math"
	"testing"
	"time"
)

func TestMouthToEarMatchesLatestBurst(t *testing.T) {
	t0 := time.Unix(1000, 0)
	bursts := []time.Time{t0, t0.Add(time.Second), t0.Add(2 * time.Second)}
	onsets := []time.Time{
		t0.Add(-time.Millisecond),                  // before any burst: ignored
		t0.Add(60 * time.Millisecond),              // 60 ms after burst 0
		t0.Add(time.Second + 80*time.Millisecond),  // 80 ms after burst 1
		t0.Add(time.Second + 900*time.Millisecond), // too late after burst 1: ignored
		t0.Add(2*time.Second + 70*time.Millisecond),
	}
	got := MouthToEar(bursts, onsets, 500*time.Millisecond)
	want := []time.Duration{60 * time.Millisecond, 80 * time.Millisecond, 70 * time.Millisecond}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("got %v, want %v", got, want)
		}
	}
}

func TestOnsetDetector(t *testing.T) {
	d := NewOnsetDetector(700, SampleRate)
	quiet := make([]int16, FrameSamples)
	tone := make([]int16, FrameSamples)
	other := make([]int16, FrameSamples)
	for i := range tone {
		ph := float64(i) / SampleRate
		tone[i] = int16(8000 * sin2pi(700*ph))
		other[i] = int16(8000 * sin2pi(900*ph)) // another talker's bin: no leak at 50 Hz multiples
	}
	t0 := time.Unix(0, 0)
	frames := [][]int16{quiet, quiet, tone, tone, quiet, other, quiet, quiet, tone, tone}
	for i, f := range frames {
		d.Frame(f, t0.Add(time.Duration(i)*frameDur))
	}
	got := d.Onsets()
	if len(got) != 2 || !got[0].Equal(t0.Add(2*frameDur)) || !got[1].Equal(t0.Add(8*frameDur)) {
		t.Fatalf("onsets = %v", got)
	}
}

// TestOnsetSpikeIgnored: one loud frame alone (another burst's edge
// splattering into the bin) is no onset, and leaves the detector armed
// for the tone that follows.
func TestOnsetSpikeIgnored(t *testing.T) {
	d := NewOnsetDetector(700, SampleRate)
	quiet := make([]int16, FrameSamples)
	tone := make([]int16, FrameSamples)
	for i := range tone {
		tone[i] = int16(8000 * sin2pi(700*float64(i)/SampleRate))
	}
	t0 := time.Unix(0, 0)
	frames := [][]int16{quiet, quiet, tone, quiet, quiet, tone, quiet, tone, tone, tone}
	for i, f := range frames {
		d.Frame(f, t0.Add(time.Duration(i)*frameDur))
	}
	if got := d.Onsets(); len(got) != 1 || !got[0].Equal(t0.Add(7*frameDur)) {
		t.Fatalf("onsets = %v, want one at frame 7", got)
	}
}

// TestOnsetAfterSplatter: a frame between the thresholds right before the
// tone (another burst's edge leaking into the bin, as Janus's mix gave
// when it shifted two talkers together) does not hide the onset; a frame
// between the thresholds after the tone does not re-arm the detector.
func TestOnsetAfterSplatter(t *testing.T) {
	d := NewOnsetDetector(500, SampleRate)
	quiet := make([]int16, FrameSamples)
	tone := make([]int16, FrameSamples)
	leak := make([]int16, FrameSamples) // about 42 dB at 500 Hz
	for i := range tone {
		ph := float64(i) / SampleRate
		tone[i] = int16(8000 * sin2pi(500*ph))
		leak[i] = int16(100 * sin2pi(500*ph))
	}
	if p := DB(Goertzel(leak, 500)); p < onsetOffDB || p >= onsetOnDB {
		t.Fatalf("leak frame reads %.0f dB, want between the thresholds", p)
	}
	t0 := time.Unix(0, 0)
	frames := [][]int16{quiet, quiet, leak, tone, tone, leak, tone, quiet, quiet, leak, leak, tone, tone}
	for i, f := range frames {
		d.Frame(f, t0.Add(time.Duration(i)*frameDur))
	}
	got := d.Onsets()
	if len(got) != 2 || !got[0].Equal(t0.Add(3*frameDur)) || !got[1].Equal(t0.Add(11*frameDur)) {
		t.Fatalf("onsets = %v", got)
	}
}

func TestBurstGain(t *testing.T) {
	b := Bursts{Period: time.Second, Length: 200 * time.Millisecond, Offset: 100 * time.Millisecond}
	if g, _ := b.gain(0, 0); g != 0 {
		t.Fatalf("before offset gain %v", g)
	}
	if g, start := b.gain(5, 0); g != 0 || !start { // frame 5 = 100 ms: burst start, ramp begins at 0
		t.Fatalf("burst start: gain %v start %v", g, start)
	}
	if g, start := b.gain(6, 0); g != 1 || start {
		t.Fatalf("inside burst: gain %v start %v", g, start)
	}
	if g, _ := b.gain(14, 0); g != 1 { // 280 ms, 20 ms before the burst's end
		t.Fatalf("late in the burst: gain %v", g)
	}
	if g, _ := b.Gain(14, 960-48, SampleRate); math.Abs(g-0.2) > 1e-9 { // 1 ms before the end: ramping down
		t.Fatalf("1 ms before the end: gain %v, want 0.2", g)
	}
	if g, _ := b.gain(20, 0); g != 0 { // 400 ms: after the burst
		t.Fatalf("after burst gain %v", g)
	}
}

func sin2pi(x float64) float64 { return math.Sin(2 * math.Pi * x) }
