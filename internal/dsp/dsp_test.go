package dsp

import (
	"math"
	"testing"
)

// TestGoertzel: a sine of amplitude A at the measured frequency reads
// A²/2; another frequency reads far below it.
func TestGoertzel(t *testing.T) {
	const rate, hz, amp = 8000.0, 1000.0, 10000.0
	x := make([]int16, 800)
	for i := range x {
		x[i] = int16(amp * math.Sin(2*math.Pi*hz*float64(i)/rate))
	}
	if got, want := Goertzel(x, hz, rate), amp*amp/2; math.Abs(got-want)/want > 0.01 {
		t.Errorf("power at %v Hz = %.0f, want %.0f", hz, got, want)
	}
	if d := DB(Goertzel(x, hz, rate)) - DB(Goertzel(x, 1500, rate)); d < 40 {
		t.Errorf("1 kHz only %.1f dB above 1.5 kHz", d)
	}
	if Goertzel(nil, hz, rate) != 0 {
		t.Error("empty input has power")
	}
}
