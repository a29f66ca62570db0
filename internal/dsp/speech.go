package dsp

import (
	"math"
	"math/rand/v2"
)

// SpeechLike returns n samples at rate of a deterministic speech-like
// signal for codec quality checks: a glottal pulse train whose pitch glides
// between 100 and 220 Hz, shaped by three formant resonators that move to a
// new vowel every 150 ms, with noise bursts standing in for fricatives and
// a syllable envelope at about 4 Hz, peaking near −6 dBFS. The same seed
// gives the same signal.
//
// It is not speech, but it has what a speech codec's choices depend on:
// harmonics with a moving pitch, formant structure, unvoiced segments,
// onsets and pauses.
func SpeechLike(n int, rate float64, seed uint64) []int16 {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	vowels := [][3]float64{ // formants F1–F3 in Hz
		{730, 1090, 2440}, {270, 2290, 3010}, {300, 870, 2240},
		{530, 1840, 2480}, {570, 840, 2410}, {660, 1720, 2410},
	}
	out := make([]int16, n)
	segment := int(0.150 * rate)
	var res [3]resonator
	phase, pitch := 0.0, 140.0
	fricative := false
	for i := range out {
		if i%segment == 0 {
			v := vowels[rng.IntN(len(vowels))]
			for k := range res {
				res[k] = newResonator(v[k], 80+40*float64(k), rate)
			}
			pitch = 100 + 120*rng.Float64()
			fricative = rng.IntN(5) == 0
		}
		t := float64(i) / rate
		// Syllables: a raised cosine at 4 Hz with a pause every fourth.
		env := 0.5 - 0.5*math.Cos(2*math.Pi*4*t)
		if int(t*4)%4 == 3 {
			env = 0
		}
		var src float64
		if fricative {
			src = 0.3 * (rng.Float64()*2 - 1)
		} else {
			phase += (pitch + 20*math.Sin(2*math.Pi*3*t)) / rate
			if phase >= 1 {
				phase--
				src = 1 // one glottal pulse per period
			}
		}
		y := 0.0
		for k := range res {
			y += res[k].step(src) / float64(k+1)
		}
		out[i] = int16(max(-32767, min(32767, 16000*env*y)))
	}
	return out
}

// resonator is a two-pole band-pass filter (one formant), normalised to
// unit gain at its centre frequency.
type resonator struct {
	a1, a2, g float64
	y1, y2    float64
}

func newResonator(hz, bandwidth, rate float64) resonator {
	r := math.Exp(-math.Pi * bandwidth / rate)
	return resonator{a1: 2 * r * math.Cos(2*math.Pi*hz/rate), a2: -r * r, g: 1 - r}
}

func (r *resonator) step(x float64) float64 {
	y := r.g*x + r.a1*r.y1 + r.a2*r.y2
	r.y2, r.y1 = r.y1, y
	return y
}

// LogSpectralDistance returns the mean log-spectral distance in dB between
// ref and test (test delayed by lag samples), over frames of frame samples
// whose reference power is within 50 dB of the loudest frame. Each frame's
// spectrum is taken at bins every rate/frame Hz from 100 Hz to 7 kHz (the
// band a wideband speech listener hears) through a Hann window; the distance
// is the root mean square of the per-bin dB differences. It is insensitive to
// phase, as a perceptual measure of a non-waveform codec must be.
func LogSpectralDistance(ref, test []int16, lag, frame int, rate float64) float64 {
	n := min(len(ref), len(test)-lag)
	window := make([]float64, frame)
	for i := range window {
		window[i] = 0.5 - 0.5*math.Cos(2*math.Pi*float64(i)/float64(frame))
	}
	a, b := make([]float64, frame), make([]float64, frame)
	var frames []float64 // per-frame distance
	var energies []float64
	loudest := 0.0
	for start := 0; start+frame <= n; start += frame {
		energy := 0.0
		for i := range frame {
			a[i] = float64(ref[start+i]) * window[i]
			b[i] = float64(test[start+lag+i]) * window[i]
			energy += a[i] * a[i]
		}
		sum, bins := 0.0, 0
		step := rate / float64(frame)
		for hz := math.Ceil(100/step) * step; hz <= 7000; hz += step {
			d := DB(goertzelFloat(a, hz, rate)+1) - DB(goertzelFloat(b, hz, rate)+1)
			sum += d * d
			bins++
		}
		frames = append(frames, math.Sqrt(sum/float64(bins)))
		energies = append(energies, energy)
		loudest = max(loudest, energy)
	}
	total, counted := 0.0, 0
	for i, d := range frames {
		if DB(energies[i]) >= DB(loudest)-50 {
			total += d
			counted++
		}
	}
	if counted == 0 {
		return 0
	}
	return total / float64(counted)
}

// BestLag returns the delay in 0..maxLag samples at which test best matches
// ref (the largest cross-correlation), e.g. a codec's algorithmic delay.
func BestLag(ref, test []int16, maxLag int) int {
	best, bestSum := 0, math.Inf(-1)
	n := min(len(ref), len(test)-maxLag)
	for lag := 0; lag <= maxLag; lag++ {
		s := 0.0
		for i := 0; i < n; i++ {
			s += float64(ref[i]) * float64(test[i+lag])
		}
		if s > bestSum {
			best, bestSum = lag, s
		}
	}
	return best
}

func goertzelFloat(x []float64, hz, rate float64) float64 {
	c := 2 * math.Cos(2*math.Pi*hz/rate)
	var s1, s2 float64
	for _, v := range x {
		s0 := v + c*s1 - s2
		s2, s1 = s1, s0
	}
	n := float64(len(x))
	return 2 * (s1*s1 + s2*s2 - c*s1*s2) / (n * n)
}
