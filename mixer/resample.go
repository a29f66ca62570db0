package mixer

import "math"

// Resampling between G.711's 8 kHz and the mix's 48 kHz (×6), for PCM legs.
//
// Up (a PCM leg's input):
// A polyphase FIR interpolator: conceptually the input is zero-stuffed to
// 48 kHz and low-pass filtered at 4 kHz, which removes the spectral images
// around 8, 16 and 24 kHz that zero-stuffing creates; the polyphase form
// skips the multiplications by the stuffed zeros. The prototype is a
// 240-tap Kaiser-windowed sinc (β 8.6, ≈ −86 dB stopband, transition band
// 3.45–4.55 kHz): telephone speech (300–3400 Hz) passes flat and its images
// land above 4.55 kHz, attenuated by more than 80 dB (see resample_test.go).
// Group delay: 119.5 output samples (2.5 ms).
//
// Down (a PCM leg's output): the 48 kHz mix is low-pass filtered by a
// 240-tap Kaiser-windowed sinc with its cutoff at 3.5 kHz (transition
// ≈ 2.95–4.05 kHz, stopband ≈ −86 dB) and every sixth sample kept, so
// nothing above the 4 kHz Nyquist frequency of the 8 kHz output folds back
// into the telephone band. Only the kept outputs are computed.
const (
	upFactor     = 6
	upTaps       = 240
	upPerPhase   = upTaps / upFactor // 40
	upCutoffHz   = 4000.0
	downCutoffHz = 3500.0
	kaiserBeta   = 8.6
	pcmRate      = sampleRate / upFactor // 8 kHz
)

// upsampleTaps holds the polyphase branches, reversed so that each branch
// is a forward dot product with the input history: phase p, tap j multiplies
// the input sample j−(upPerPhase−1) relative to the current one. It and
// downsampleTaps are computed once and never written after.
var (
	upsampleTaps   = designUpsampler()
	downsampleTaps = designDownsampler()
)

// lowPass is a Kaiser-windowed sinc of upTaps taps at 48 kHz with the
// given cutoff and DC gain.
func lowPass(cutoffHz, gain float64) [upTaps]float64 {
	var h [upTaps]float64
	fc := cutoffHz / sampleRate // normalised cutoff (cycles/sample)
	mid := float64(upTaps-1) / 2
	i0b := besselI0(kaiserBeta)
	for n := range h {
		x := float64(n) - mid
		sinc := 2 * fc
		if x != 0 {
			sinc = math.Sin(2*math.Pi*fc*x) / (math.Pi * x)
		}
		r := 2*float64(n)/float64(upTaps-1) - 1
		w := besselI0(kaiserBeta*math.Sqrt(1-r*r)) / i0b
		h[n] = sinc * w * gain
	}
	return h
}

func designUpsampler() [upFactor][upPerPhase]float32 {
	h := lowPass(upCutoffHz, upFactor) // gain L restores the level lost to the stuffed zeros
	var taps [upFactor][upPerPhase]float32
	for p := range upFactor {
		for k := range upPerPhase {
			taps[p][upPerPhase-1-k] = float32(h[p+upFactor*k])
		}
	}
	return taps
}

// besselI0 is the zeroth-order modified Bessel function of the first kind
// (power series), for the Kaiser window.
func besselI0(x float64) float64 {
	sum, term := 1.0, 1.0
	for k := 1; k < 50; k++ {
		term *= (x / (2 * float64(k))) * (x / (2 * float64(k)))
		sum += term
		if term < 1e-12*sum {
			break
		}
	}
	return sum
}

// designDownsampler returns the decimation filter, reversed for a forward
// dot product with the input history.
func designDownsampler() [upTaps]float32 {
	h := lowPass(downCutoffHz, 1)
	var taps [upTaps]float32
	for k := range h {
		taps[upTaps-1-k] = float32(h[k])
	}
	return taps
}

// upsampler converts 8 kHz frames to 48 kHz, keeping the filter history
// across frames. Not safe for concurrent use; it does not allocate.
type upsampler struct {
	hist []float32 // upPerPhase−1 samples of history, then the current frame
}

func newUpsampler(frame int) *upsampler {
	return &upsampler{hist: make([]float32, upPerPhase-1+frame)}
}

// reset clears the filter history, as if silence preceded the next frame.
func (u *upsampler) reset() { clear(u.hist[:upPerPhase-1]) }

// process upsamples in (len n, the frame size given to newUpsampler) into
// out (len 6n).
func (u *upsampler) process(in []int16, out []int16) {
	const keep = upPerPhase - 1
	h := u.hist
	for i, v := range in {
		h[keep+i] = float32(v)
	}
	for m := range in {
		x := h[m : m+upPerPhase : m+upPerPhase]
		o := out[upFactor*m : upFactor*m+upFactor : upFactor*m+upFactor]
		for p := range upFactor {
			t := &upsampleTaps[p]
			var a0, a1, a2, a3 float32
			for j := 0; j < upPerPhase; j += 4 {
				a0 += t[j] * x[j]
				a1 += t[j+1] * x[j+1]
				a2 += t[j+2] * x[j+2]
				a3 += t[j+3] * x[j+3]
			}
			o[p] = Sat16(a0 + a1 + a2 + a3)
		}
	}
	copy(h[:keep], h[len(in):len(in)+keep])
}

// downsampler converts 48 kHz frames to 8 kHz, keeping the filter history
// across frames. Not safe for concurrent use; it does not allocate.
type downsampler struct {
	hist []float32 // upTaps−1 samples of history, then the current frame
}

func newDownsampler(frame int) *downsampler {
	return &downsampler{hist: make([]float32, upTaps-1+frame)}
}

// reset clears the filter history, as if silence preceded the next frame.
func (d *downsampler) reset() { clear(d.hist[:upTaps-1]) }

// process decimates in (len 6n, the frame size given to newDownsampler)
// into out (len n).
func (d *downsampler) process(in []int16, out []int16) {
	const keep = upTaps - 1
	h := d.hist
	for i, v := range in {
		h[keep+i] = float32(v)
	}
	t := &downsampleTaps
	for m := range out {
		// Output m is input sample i = upFactor·m + upFactor − 1 filtered:
		// the dot product over hist[i : i+upTaps] (keep samples of history
		// precede the frame).
		i := upFactor*m + upFactor - 1
		x := h[i : i+upTaps : i+upTaps]
		var a0, a1, a2, a3 float32
		for j := 0; j < upTaps; j += 4 {
			a0 += t[j] * x[j]
			a1 += t[j+1] * x[j+1]
			a2 += t[j+2] * x[j+2]
			a3 += t[j+3] * x[j+3]
		}
		out[m] = Sat16(a0 + a1 + a2 + a3)
	}
	copy(h[:keep], h[len(in):len(in)+keep])
}
