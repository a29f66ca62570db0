package mixer

import (
	"math"
	"testing"

	"github.com/confab-media/confab/internal/dsp"
)

// sine8k returns n samples of a sine at 8 kHz.
func sine8k(n int, freq, amp, phase float64) []int16 {
	s := make([]int16, n)
	for i := range s {
		s[i] = int16(math.Round(amp * math.Sin(phase+2*math.Pi*freq*float64(i)/pcmRate)))
	}
	return s
}

// upsampleAll runs x (a multiple of 160 samples) through a fresh upsampler.
func upsampleAll(x []int16) []int16 {
	u := newUpsampler(PCMFrame)
	out := make([]int16, 6*len(x))
	for i := 0; i < len(x); i += PCMFrame {
		u.process(x[i:i+PCMFrame], out[6*i:6*i+6*PCMFrame])
	}
	return out
}

// TestUpsamplerImages: a tone keeps its level at 48 kHz, and the images
// zero-stuffing creates (k·8 kHz ± f) are at least 85 dB down — naive
// zero-stuffing or sample repetition leaves them within a few dB.
func TestUpsamplerImages(t *testing.T) {
	const amp = 12000
	for _, f := range []float64{300, 1000, 2000, 3000, 3400} {
		x := sine8k(8000, f, amp, 0.3)
		y := upsampleAll(x)[48000/4:] // skip the filter's start
		y = y[:len(y)/4*4]
		want := dsp.DB(amp * amp / 2)
		got := dsp.DB(dsp.Goertzel(y, f, sampleRate))
		if math.Abs(got-want) > 0.2 {
			t.Errorf("%.0f Hz: level %.2f dB, want %.2f (passband ripple)", f, got, want)
		}
		worst := -1000.0
		for _, img := range []float64{8000 - f, 8000 + f, 16000 - f, 16000 + f, 24000 - f} {
			worst = max(worst, dsp.DB(dsp.Goertzel(y, img, sampleRate))-got)
		}
		t.Logf("%.0f Hz: level %.2f dB, worst image %.1f dB", f, got, worst)
		if worst > -85 {
			t.Errorf("%.0f Hz: image at %.1f dB relative, want below -85 dB", f, worst)
		}
	}
	// The reference: zero-stuffing without the filter aliases at 0 dB.
	x := sine8k(8000, 1000, amp, 0)
	naive := make([]int16, 6*len(x))
	for i, v := range x {
		naive[6*i] = v
	}
	if rel := dsp.DB(dsp.Goertzel(naive, 7000, sampleRate)) - dsp.DB(dsp.Goertzel(naive, 1000, sampleRate)); rel < -1 {
		t.Errorf("naive zero-stuffing image at %.1f dB: the measurement is broken", rel)
	}
}

// TestUpsamplerFrames: processing frame by frame is seamless (no clicks at
// frame edges): the output is smooth everywhere.
func TestUpsamplerFrames(t *testing.T) {
	x := sine8k(1600, 500, 10000, 0)
	y := upsampleAll(x)[240:]
	maxStep := 0.0
	for i := 1; i < len(y); i++ {
		maxStep = max(maxStep, math.Abs(float64(y[i])-float64(y[i-1])))
	}
	// A 500 Hz sine of amplitude 10000 at 48 kHz moves at most 2π·500/48000·10000 ≈ 654 per sample.
	if maxStep > 700 {
		t.Errorf("largest step %.0f: discontinuity between frames", maxStep)
	}
}

// TestDownsamplerAliasing: a telephone-band tone keeps its level at 8 kHz;
// a tone above 4 kHz, which plain decimation would fold into the band, is
// at least 70 dB down; frame-by-frame processing is seamless.
func TestDownsamplerAliasing(t *testing.T) {
	const amp = 12000.0
	down := func(freq float64) []int16 {
		d := newDownsampler(frameSamples)
		out := make([]int16, 0, 8000)
		frame := make([]int16, frameSamples)
		var buf [PCMFrame]int16
		for n := 0; n < 50; n++ {
			for i := range frame {
				k := n*frameSamples + i
				frame[i] = int16(amp * math.Sin(2*math.Pi*freq*float64(k)/sampleRate))
			}
			d.process(frame, buf[:])
			out = append(out, buf[:]...)
		}
		return out[800:] // skip the filter's start
	}
	for _, f := range []float64{300, 1000, 3000} {
		y := down(f)
		if got, want := dsp.DB(dsp.Goertzel(y, f, pcmRate)), dsp.DB(amp*amp/2); math.Abs(got-want) > 0.5 {
			t.Errorf("%.0f Hz: level %.2f dB, want %.2f", f, got, want)
		}
	}
	for _, f := range []float64{5000, 7000, 11000} {
		alias := math.Abs(f - pcmRate*math.Round(f/pcmRate)) // where it would fold to
		y := down(f)
		if rel := dsp.DB(dsp.Goertzel(y, alias, pcmRate)) - dsp.DB(amp*amp/2); rel > -70 {
			t.Errorf("%.0f Hz folds to %.0f Hz at %.1f dB, want below -70 dB", f, alias, rel)
		}
	}
	y := down(500)
	maxStep := 0.0
	for i := 1; i < len(y); i++ {
		maxStep = max(maxStep, math.Abs(float64(y[i])-float64(y[i-1])))
	}
	// A 500 Hz sine of amplitude 12000 at 8 kHz moves at most 2π·500/8000·12000 ≈ 4712 per sample.
	if maxStep > 4800 {
		t.Errorf("largest step %.0f: discontinuity between frames", maxStep)
	}
}
