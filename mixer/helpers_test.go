package mixer

import (
	"math"
	"sync"
	"testing"
	"time"

	"gopkg.in/hraban/opus.v2"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// tone is a test client: it Opus-encodes a sine as a browser would and
// reports the RFC 6464 level of each frame, like the ssrc-audio-level
// extension.
type tone struct {
	enc   *opus.Encoder
	freq  float64
	amp   float64 // peak, in int16 units
	phase float64
	ts    uint32
	pcm   []int16
	buf   []byte
}

func newTone(tb testing.TB, freq, amp float64) *tone {
	tb.Helper()
	enc, err := opus.NewEncoder(sampleRate, 1, opus.AppVoIP)
	if err != nil {
		tb.Fatal(err)
	}
	must(tb, enc.SetBitrate(32000))
	must(tb, enc.SetInBandFEC(true))
	must(tb, enc.SetPacketLossPerc(10))
	return &tone{enc: enc, freq: freq, amp: amp, ts: 123456, pcm: make([]int16, frameSamples), buf: make([]byte, maxPayload)}
}

func must(tb testing.TB, err error) {
	tb.Helper()
	if err != nil {
		tb.Fatal(err)
	}
}

// next returns the next frame's payload (a fresh copy), timestamp and level.
func (g *tone) next(tb testing.TB) ([]byte, uint32, int8) {
	tb.Helper()
	for i := range g.pcm {
		g.pcm[i] = int16(g.amp * math.Sin(g.phase))
		g.phase += 2 * math.Pi * g.freq / sampleRate
	}
	g.phase = math.Mod(g.phase, 2*math.Pi)
	n, err := g.enc.Encode(g.pcm, g.buf)
	must(tb, err)
	ts := g.ts
	g.ts += frameSamples
	return append([]byte(nil), g.buf[:n]...), ts, LevelFromPCM(g.pcm)
}

// frame returns the next Frame, arriving at at.
func (g *tone) frame(tb testing.TB, at time.Time) Frame {
	p, ts, lvl := g.next(tb)
	return Frame{Payload: p, Timestamp: ts, Level: lvl, Arrival: at}
}

// goertzel returns the power of x at freq (|X(f)|², scaled by 2/N² so that a
// sine of amplitude A with an integer number of cycles gives A²/2).
func goertzel(x []int16, freq float64) float64 {
	w := 2 * math.Pi * freq / sampleRate
	c := 2 * math.Cos(w)
	var s1, s2 float64
	for _, v := range x {
		s0 := float64(v) + c*s1 - s2
		s2, s1 = s1, s0
	}
	p := s1*s1 + s2*s2 - c*s1*s2
	n := float64(len(x))
	return 2 * p / (n * n)
}

func db(p float64) float64 { return 10 * math.Log10(p+1e-12) }

// listener records a leg's output: every payload (copied), its timestamp and
// the tick it came in, and the decoded PCM.
type listener struct {
	tb  testing.TB
	dec *opus.Decoder
	buf []int16

	mu       sync.Mutex // guards the fields below
	payloads [][]byte
	ts       []uint32
	pcm      []int16
}

func newListener(tb testing.TB) *listener {
	dec, err := opus.NewDecoder(sampleRate, 1)
	must(tb, err)
	return &listener{tb: tb, dec: dec, buf: make([]int16, frameSamples)}
}

func (r *listener) sink(payload []byte, ts uint32) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.payloads = append(r.payloads, append([]byte(nil), payload...))
	r.ts = append(r.ts, ts)
	n, err := r.dec.Decode(payload, r.buf)
	if err != nil {
		r.tb.Errorf("listener decode: %v", err)
		return
	}
	r.pcm = append(r.pcm, r.buf[:n]...)
}

func (r *listener) frames() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.payloads)
}

// tail returns the last d of decoded audio.
func (r *listener) tail(d time.Duration) []int16 {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := int(d / frameDur * frameSamples)
	return append([]int16(nil), r.pcm[len(r.pcm)-n:]...)
}

// newTestMixer returns a Mixer driven by the test through Tick.
func newTestMixer(tb testing.TB, cfg Config) *Mixer {
	tb.Helper()
	m, err := New(cfg, Params{})
	must(tb, err)
	tb.Cleanup(m.Close)
	return m
}

// fakeClock is a Clock whose ticks the test sends by hand.
type fakeClock struct {
	mu  sync.Mutex // guards now
	now time.Time
	c   chan time.Time
}

func newFakeClock(now time.Time) *fakeClock { return &fakeClock{now: now, c: make(chan time.Time)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Tick(time.Duration) (<-chan time.Time, func()) { return c.c, func() {} }

func (c *fakeClock) After(time.Duration) <-chan time.Time { return nil }

// fire sets the time to now and delivers one tick (blocking until the mixer
// takes it).
func (c *fakeClock) fire(now time.Time) {
	c.mu.Lock()
	c.now = now
	c.mu.Unlock()
	c.c <- now
}
