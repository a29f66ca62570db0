package attendee

import (
	"math"
	"time"

	"github.com/confab-media/confab/internal/dsp"
)

// Audio format: Opus at 48 kHz, 20 ms frames, decoded to mono.
const (
	SampleRate   = 48000
	FrameSamples = SampleRate / 50 // 20 ms
	frameDur     = 20 * time.Millisecond
)

// Goertzel returns the power of pcm (48 kHz) at hz: A²/2 for a sine of
// amplitude A whose frequency is hz.
func Goertzel(pcm []int16, hz float64) float64 { return dsp.Goertzel(pcm, hz, SampleRate) }

// DB returns power p in decibels (10·log10, floored near -120 dB).
func DB(p float64) float64 { return dsp.DB(p) }

// audioLevel returns the RFC 6464 level of pcm: -dBov of its RMS, 0
// loudest to 127 silence.
func audioLevel(pcm []int16) uint8 {
	var sum float64
	for _, v := range pcm {
		f := float64(v) / 32768
		sum += f * f
	}
	if sum == 0 || len(pcm) == 0 {
		return 127
	}
	dbov := 10 * math.Log10(sum/float64(len(pcm)))
	return uint8(min(127, max(0, math.Round(-dbov))))
}

// pcmRing keeps the last len(buf) decoded samples.
type pcmRing struct {
	buf  []int16
	next int  // where the next sample goes
	full bool // buf wrapped at least once
}

func (r *pcmRing) write(pcm []int16) {
	if len(r.buf) == 0 {
		return
	}
	if len(pcm) >= len(r.buf) {
		copy(r.buf, pcm[len(pcm)-len(r.buf):])
		r.next, r.full = 0, true
		return
	}
	n := copy(r.buf[r.next:], pcm)
	if n < len(pcm) {
		copy(r.buf, pcm[n:])
		r.full = true
	}
	r.next = (r.next + len(pcm)) % len(r.buf)
	if r.next == 0 && len(pcm) > 0 {
		r.full = true
	}
}

func (r *pcmRing) len() int {
	if r.full {
		return len(r.buf)
	}
	return r.next
}

// appendLast appends the last n samples (fewer if not kept) to dst.
func (r *pcmRing) appendLast(dst []int16, n int) []int16 {
	n = min(n, r.len())
	start := r.next - n
	if start >= 0 {
		return append(dst, r.buf[start:r.next]...)
	}
	dst = append(dst, r.buf[len(r.buf)+start:]...)
	return append(dst, r.buf[:r.next]...)
}

// timeRing keeps the last len(buf) arrival times.
type timeRing struct {
	buf  []time.Time
	next int
	n    int // valid entries
}

func (r *timeRing) add(t time.Time) {
	r.buf[r.next] = t
	r.next = (r.next + 1) % len(r.buf)
	r.n = min(r.n+1, len(r.buf))
}

// countSince returns how many kept times are after since.
func (r *timeRing) countSince(since time.Time) int {
	c := 0
	for i := 1; i <= r.n; i++ {
		if !r.buf[(r.next-i+len(r.buf))%len(r.buf)].After(since) {
			break
		}
		c++
	}
	return c
}

// goertzel2 is Goertzel over x followed by y.
func goertzel2(x, y []int16, hz float64) float64 { return dsp.GoertzelSplit(x, y, hz, SampleRate) }
