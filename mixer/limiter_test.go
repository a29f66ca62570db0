package mixer

import (
	"math"
	"testing"
)

// sumOfTones returns frames of the int32 sum of full-scale sines.
func sumOfTones(frames int, amp float64, freqs ...float64) [][]int32 {
	out := make([][]int32, frames)
	for f := range out {
		out[f] = make([]int32, frameSamples)
		for i := range out[f] {
			n := float64(f*frameSamples + i)
			var v float64
			for _, fr := range freqs {
				v += amp * math.Sin(2*math.Pi*fr*n/sampleRate)
			}
			out[f][i] = int32(v)
		}
	}
	return out
}

// TestLimiterNoWrap: four full-scale tones (peak ≈ 4× full scale) never
// wrap: no sign flips, the peak stays at the threshold, the gain is smooth
// (never folds the waveform) and stays close to what is needed.
func TestLimiterNoWrap(t *testing.T) {
	in := sumOfTones(50, 32767, 300, 500, 700, 900)
	// The test must be able to fail: a plain int16 conversion wraps here.
	wraps := 0
	for _, x := range in[0] {
		if (int32(int16(x)) < 0) != (x < 0) {
			wraps++
		}
	}
	if wraps == 0 {
		t.Fatal("input does not overload int16")
	}
	var l limiter
	out := make([]int16, frameSamples)
	prevGain := math.NaN()
	maxStep, minGain := 0.0, 1.0
	for f, x := range in {
		l.process(x, out)
		for i, v := range x {
			y := out[i]
			if int(y) > limThreshold+1 || int(y) < -limThreshold-1 {
				t.Fatalf("frame %d sample %d: %d over the threshold", f, i, y)
			}
			if (v > 0 && y < 0) || (v < 0 && y > 0) {
				t.Fatalf("frame %d sample %d: %d became %d (wrapped)", f, i, v, y)
			}
			if math.Abs(float64(v)) < 2000 {
				continue // the gain is ill-defined near zero crossings
			}
			g := float64(y) / float64(v)
			if !math.IsNaN(prevGain) {
				maxStep = max(maxStep, math.Abs(g-prevGain))
			}
			prevGain, minGain = g, min(minGain, g)
		}
	}
	t.Logf("largest gain step %.4f, smallest gain %.3f", maxStep, minGain)
	if maxStep > 0.05 {
		t.Errorf("gain jumps by %.3f between samples: not smooth", maxStep)
	}
	if minGain < 0.15 { // the sum peaks ≈ 3.8× the threshold: ≥ 0.26 would do
		t.Errorf("gain dips to %.3f: limits far more than needed", minGain)
	}
}

// TestLimiterTransparent: below the threshold the limiter passes samples
// unchanged, and after an overload the gain recovers to exactly 1.
func TestLimiterTransparent(t *testing.T) {
	var l limiter
	out := make([]int16, frameSamples)
	quiet := sumOfTones(1, 10000, 440, 660)[0]
	l.process(quiet, out)
	for i, v := range quiet {
		if int32(out[i]) != v {
			t.Fatalf("sample %d: %d became %d", i, v, out[i])
		}
	}
	for _, x := range sumOfTones(10, 32767, 300, 500) {
		l.process(x, out)
	}
	if l.gain >= 1 {
		t.Fatal("no gain reduction on overload")
	}
	for range 100 { // 2 s of quiet
		l.process(quiet, out)
	}
	if l.gain != 1 {
		t.Fatalf("gain %v after 2 s, want 1", l.gain)
	}
	l.process(quiet, out)
	for i, v := range quiet {
		if int32(out[i]) != v {
			t.Fatalf("after recovery sample %d: %d became %d", i, v, out[i])
		}
	}
}

func TestSat16(t *testing.T) {
	for _, tc := range []struct {
		f    float32
		want int16
	}{{1e9, 32767}, {-1e9, -32768}, {32766.6, 32767}, {-0.4, 0}, {-0.6, -1}, {2.5, 3}} {
		if got := Sat16(tc.f); got != tc.want {
			t.Errorf("Sat16(%v) = %d, want %d", tc.f, got, tc.want)
		}
	}
}
