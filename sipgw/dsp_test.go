package sipgw

import (
	"math"
	"testing"
)

// sine8k returns n samples of a sine at 8 kHz.
func sine8k(n int, freq, amp, phase float64) []int16 {
	s := make([]int16, n)
	for i := range s {
		s[i] = int16(math.Round(amp * math.Sin(phase+2*math.Pi*freq*float64(i)/8000)))
	}
	return s
}

// upsampleAll runs x (a multiple of 160 samples) through a fresh upsampler.
func upsampleAll(x []int16) []int16 {
	u := newUpsampler(g711Frame)
	out := make([]int16, 6*len(x))
	for i := 0; i < len(x); i += g711Frame {
		u.process(x[i:i+g711Frame], out[6*i:6*i+6*g711Frame])
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
		want := dB(amp * amp / 2)
		got := dB(goertzel(y, f, 48000))
		if math.Abs(got-want) > 0.2 {
			t.Errorf("%.0f Hz: level %.2f dB, want %.2f (passband ripple)", f, got, want)
		}
		worst := -1000.0
		for _, img := range []float64{8000 - f, 8000 + f, 16000 - f, 16000 + f, 24000 - f} {
			worst = max(worst, dB(goertzel(y, img, 48000))-got)
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
	if rel := dB(goertzel(naive, 7000, 48000)) - dB(goertzel(naive, 1000, 48000)); rel < -1 {
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

// periodic returns a voiced-like signal: 133 Hz with harmonics (a pitch of
// 60.15 samples at 8 kHz, so no whole number of samples repeats it).
func periodic(n int) []int16 {
	s := make([]int16, n)
	for i := range s {
		ph := 2 * math.Pi * 133 * float64(i) / 8000
		s[i] = int16(6000*math.Sin(ph) + 3000*math.Sin(2*ph+0.5) + 1500*math.Sin(3*ph+1))
	}
	return s
}

// TestConcealer: clean input comes out delayed by plcDelay; a lost 10 ms
// unit of a periodic signal is rebuilt closely from the pitch history;
// 60 ms of loss fades to silence; audio that resumes is cross-faded in.
func TestConcealer(t *testing.T) {
	x := periodic(8000)
	run := func(lost func(unit int) bool) []int16 {
		var c concealer
		out := make([]int16, len(x))
		for u := 0; u < len(x)/plcUnit; u++ {
			o := out[u*plcUnit : (u+1)*plcUnit]
			if lost(u) {
				c.lost(o)
			} else {
				c.good(x[u*plcUnit:(u+1)*plcUnit], o)
			}
		}
		return out
	}
	clean := run(func(int) bool { return false })
	for i := plcDelay; i < len(x); i++ {
		if clean[i] != x[i-plcDelay] {
			t.Fatalf("clean output[%d] = %d, want input[%d] = %d", i, clean[i], i-plcDelay, x[i-plcDelay])
		}
	}

	// One lost unit (samples 4000–4079 of the input).
	one := run(func(u int) bool { return u == 50 })
	var errE, sigE float64
	for i := 4000; i < 4080; i++ {
		d := float64(one[i+plcDelay]) - float64(x[i])
		errE += d * d
		sigE += float64(x[i]) * float64(x[i])
	}
	snr := 10 * math.Log10(sigE/errE)
	t.Logf("one lost unit of a periodic signal: concealment SNR %.1f dB", snr)
	if snr < 15 {
		t.Errorf("concealment SNR %.1f dB, want ≥ 15", snr)
	}

	// 80 ms lost: the last units are silent.
	long := run(func(u int) bool { return u >= 50 && u < 58 })
	var tailE float64
	for i := 50*plcUnit + 6*plcUnit + plcDelay; i < 58*plcUnit+plcDelay-plcDelay; i++ {
		tailE += float64(long[i]) * float64(long[i])
	}
	if tailE != 0 {
		t.Errorf("after 60 ms of loss the output is not silent (energy %.0f)", tailE)
	}
	// No large jump where audio resumes.
	at := 58*plcUnit + plcDelay
	for i := at - 5; i < at+40; i++ {
		if d := math.Abs(float64(long[i]) - float64(long[i-1])); d > 3000 {
			t.Errorf("step of %.0f at %d when audio resumes", d, i)
			break
		}
	}
}
