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
