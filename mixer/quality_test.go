package mixer

import (
	"fmt"
	"testing"

	"gopkg.in/hraban/opus.v2"

	"github.com/confab-media/confab/internal/dsp"
)

// speechSeconds of speech-like signal go through each encoder setting.
const speechSeconds = 6

// opusDistance encodes pcm with the mixer's encoder settings at complexity
// c, decodes it as a browser would, and returns the log-spectral distance
// (dB) between the two, aligned for the codec's delay.
func opusDistance(tb testing.TB, pcm []int16, bitrate, c int) float64 {
	tb.Helper()
	enc, err := encoderSettings{bitrate: bitrate, complexity: c}.newEncoder()
	must(tb, err)
	dec, err := opus.NewDecoder(sampleRate, 1)
	must(tb, err)
	out := make([]int16, 0, len(pcm))
	buf, frame := make([]byte, maxPayload), make([]int16, frameSamples)
	for at := 0; at+frameSamples <= len(pcm); at += frameSamples {
		n, err := enc.Encode(pcm[at:at+frameSamples], buf)
		must(tb, err)
		m, err := dec.Decode(buf[:n], frame)
		must(tb, err)
		out = append(out, frame[:m]...)
	}
	lag := dsp.BestLag(pcm, out, 1000)
	return dsp.LogSpectralDistance(pcm, out, lag, frameSamples, sampleRate)
}

// TestOpusComplexityQuality measures what each Opus complexity does to a
// speech-like signal at the default bitrate, and holds the defaults to the
// stated bounds: the default complexity within defaultQualityBound dB of
// complexity 10's log-spectral distance, the floor that CPU pressure sheds
// to within shedQualityBound dB. The table it logs is the one the defaults
// were chosen from (with BenchmarkOpusComplexity's encode cost).
func TestOpusComplexityQuality(t *testing.T) {
	pcm := dsp.SpeechLike(speechSeconds*sampleRate, sampleRate, 1)
	bitrate := defaultConfig(t).Bitrate
	var lsd [11]float64
	for c := range lsd {
		lsd[c] = opusDistance(t, pcm, bitrate, c)
		t.Logf("complexity %2d: log-spectral distance %.2f dB", c, lsd[c])
	}
	def := defaultConfig(t)
	if d := lsd[def.Complexity] - lsd[10]; d > defaultQualityBound {
		t.Errorf("default complexity %d is %.2f dB worse than 10, bound %.1f dB", def.Complexity, d, defaultQualityBound)
	}
	if d := lsd[def.MinComplexity] - lsd[10]; d > shedQualityBound {
		t.Errorf("shed floor %d is %.2f dB worse than 10, bound %.1f dB", def.MinComplexity, d, shedQualityBound)
	}
	// The measure sees a real loss: 8 kbit/s is far from 32.
	if low := opusDistance(t, pcm, 8000, 10); low < lsd[10]+1 {
		t.Errorf("8 kbit/s measures %.2f dB, 32 kbit/s %.2f dB: the distance does not see the loss", low, lsd[10])
	}
}

// BenchmarkOpusComplexity: the encode cost of one 20 ms frame of
// speech-like signal at each complexity, with its log-spectral distance.
func BenchmarkOpusComplexity(b *testing.B) {
	pcm := dsp.SpeechLike(speechSeconds*sampleRate, sampleRate, 1)
	bitrate := defaultConfig(b).Bitrate
	for c := 0; c <= 10; c++ {
		b.Run(fmt.Sprint("c=", c), func(b *testing.B) {
			enc, err := encoderSettings{bitrate: bitrate, complexity: c}.newEncoder()
			must(b, err)
			buf := make([]byte, maxPayload)
			frames := len(pcm) / frameSamples
			b.ResetTimer()
			for i := range b.N {
				at := (i % frames) * frameSamples
				if _, err := enc.Encode(pcm[at:at+frameSamples], buf); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			b.ReportMetric(opusDistance(b, pcm, bitrate, c), "lsd-dB")
		})
	}
}

func defaultConfig(tb testing.TB) Config {
	tb.Helper()
	c, err := Config{}.withDefaults()
	must(tb, err)
	return c
}
