package mixer

import (
	"bytes"
	"errors"
	"math"
	"sync"
	"testing"

	"github.com/zaf/g711"

	"github.com/confab-media/confab/internal/dsp"
	"github.com/confab-media/confab/internal/fakeclock"
)

// pcmSource is a G.711 caller as the gateway pushes it: 20 ms of 8 kHz
// PCM of a tone per frame, with 8 kHz timestamps.
type pcmSource struct {
	freq, amp float64
	n         int
	ts        uint32
}

func (s *pcmSource) next() ([]int16, uint32) {
	pcm := make([]int16, PCMFrame)
	for i := range pcm {
		k := s.n*PCMFrame + i
		pcm[i] = int16(s.amp * math.Sin(2*math.Pi*s.freq*float64(k)/pcmRate))
	}
	s.n++
	ts := s.ts
	s.ts += PCMFrame
	return pcm, ts
}

// g711Listener records a PCM leg's output: payloads, timestamps, and the
// decoded 8 kHz audio.
type g711Listener struct {
	codec    Codec
	mu       sync.Mutex
	payloads [][]byte
	ts       []uint32
	pcm      []int16
}

func (r *g711Listener) sink(p []byte, ts uint32) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.payloads = append(r.payloads, append([]byte(nil), p...))
	r.ts = append(r.ts, ts)
	dec := g711.DecodeUlawFrame
	if r.codec == CodecPCMA {
		dec = g711.DecodeAlawFrame
	}
	for _, b := range p {
		r.pcm = append(r.pcm, dec(b))
	}
}

// tailDB is the power (dB) at each frequency of the last 500 ms heard.
func (r *g711Listener) tailDB(freqs ...float64) []float64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	x := r.pcm[len(r.pcm)-pcmRate/2:]
	out := make([]float64, len(freqs))
	for i, f := range freqs {
		out[i] = dsp.DB(dsp.Goertzel(x, f, pcmRate))
	}
	return out
}

// TestPCMLegs: Opus and G.711 legs in one mixer hear each other; a PCM
// talker does not hear itself; PCM listeners of one codec get the very
// same bytes (one shared encode per codec); μ-law and A-law listeners both
// decode to the mix; PCM sinks get 8 kHz timestamps (+160 per frame).
func TestPCMLegs(t *testing.T) {
	clk := fakeclock.New(t0) // PushPCM stamps arrival with the mixer's clock
	m, err := New(Config{}, Params{Clock: clk})
	must(t, err)
	t.Cleanup(m.Close)
	r := &rig{t: t, m: m, now: t0}
	opusTalker := r.add("opus-talker", 400, 8000)
	opusListener := r.add("opus-listener", 0, 0)
	pcmTalkerOut := &g711Listener{codec: CodecPCMU}
	pcmTalker, err := m.AddPCMLeg("pcm-talker", CodecPCMU, pcmTalkerOut.sink)
	must(t, err)
	ulaw1, ulaw2, alaw := &g711Listener{codec: CodecPCMU}, &g711Listener{codec: CodecPCMU}, &g711Listener{codec: CodecPCMA}
	for id, l := range map[LegID]*g711Listener{"ulaw-1": ulaw1, "ulaw-2": ulaw2, "alaw": alaw} {
		_, err := r.m.AddPCMLeg(id, l.codec, l.sink)
		must(t, err)
	}
	src := &pcmSource{freq: 1000, amp: 8000, ts: 4242}
	for range 75 {
		pcm, ts := src.next()
		must(t, pcmTalker.PushPCM(pcm, ts, LevelUnknown))
		r.run(1)
		clk.Advance(frameDur) // with the rig's tick time
	}
	full := dsp.DB(8000 * 8000 / 2)

	p := spectrum(opusListener, 400, 1000, 700)
	t.Logf("Opus listener: 400/1000/700 Hz at %.1f/%.1f/%.1f dB", p[0], p[1], p[2])
	if p[0] < full-4 || p[1] < full-4 || p[1] < p[2]+20 {
		t.Errorf("the Opus listener does not hear both talkers: %.1f/%.1f dB (full %.1f)", p[0], p[1], full)
	}
	p = spectrum(opusTalker, 400, 1000)
	if p[1] < full-4 || p[0] > p[1]-20 {
		t.Errorf("the Opus talker hears 400 Hz (itself) at %.1f dB, 1000 Hz (the PCM talker) at %.1f dB", p[0], p[1])
	}
	for name, l := range map[string]*g711Listener{"μ-law": ulaw1, "A-law": alaw} {
		q := l.tailDB(400, 1000, 700)
		t.Logf("%s listener: 400/1000/700 Hz at %.1f/%.1f/%.1f dB", name, q[0], q[1], q[2])
		if q[0] < full-4 || q[1] < full-4 || q[1] < q[2]+20 {
			t.Errorf("the %s listener does not hear both talkers: %.1f/%.1f dB (full %.1f)", name, q[0], q[1], full)
		}
	}
	q := pcmTalkerOut.tailDB(400, 1000)
	t.Logf("PCM talker: 400 Hz at %.1f dB, itself (1000 Hz) at %.1f dB", q[0], q[1])
	if q[0] < full-4 || q[1] > q[0]-20 {
		t.Errorf("the PCM talker hears itself at %.1f dB, only %.1f dB under the other talker", q[1], q[0]-q[1])
	}
	ulaw1.mu.Lock()
	ulaw2.mu.Lock()
	for i := range ulaw1.payloads {
		if !bytes.Equal(ulaw1.payloads[i], ulaw2.payloads[i]) {
			t.Fatalf("frame %d: two μ-law listeners got different bytes", i)
		}
		if len(ulaw1.payloads[i]) != PCMFrame {
			t.Fatalf("frame %d: %d bytes of G.711, want %d", i, len(ulaw1.payloads[i]), PCMFrame)
		}
		if i > 0 && ulaw1.ts[i]-ulaw1.ts[i-1] != PCMFrame {
			t.Fatalf("frame %d: timestamp step %d, want %d", i, ulaw1.ts[i]-ulaw1.ts[i-1], PCMFrame)
		}
	}
	ulaw2.mu.Unlock()
	ulaw1.mu.Unlock()
	if bytes.Equal(alaw.payloads[40], ulaw1.payloads[40]) {
		t.Error("A-law and μ-law listeners got the same bytes")
	}
}

// TestPushPCMChecks: a PCM leg takes exactly 20 ms of PCM and no Opus; an
// Opus leg no PCM; AddPCMLeg only G.711.
func TestPushPCMChecks(t *testing.T) {
	m := newTestMixer(t, Config{})
	pcmLeg, err := m.AddPCMLeg("p", CodecPCMA, func([]byte, uint32) {})
	must(t, err)
	opusLeg, err := m.AddLeg("o", func([]byte, uint32) {})
	must(t, err)
	for _, n := range []int{0, 1, 80, 159, 161, 320, 960} {
		if err := pcmLeg.PushPCM(make([]int16, n), 0, 0); !errors.Is(err, ErrInvalidFrame) {
			t.Errorf("PushPCM of %d samples: %v", n, err)
		}
	}
	if err := pcmLeg.PushPCM(make([]int16, PCMFrame), 0, -1); err != nil {
		t.Errorf("PushPCM of 20 ms: %v", err)
	}
	if err := pcmLeg.Push(Frame{Payload: []byte{0xf8, 0xff, 0xfe}}); !errors.Is(err, ErrWrongCodec) {
		t.Errorf("Push on a PCM leg: %v", err)
	}
	if err := opusLeg.PushPCM(make([]int16, PCMFrame), 0, 0); !errors.Is(err, ErrWrongCodec) {
		t.Errorf("PushPCM on an Opus leg: %v", err)
	}
	if _, err := m.AddPCMLeg("x", CodecOpus, func([]byte, uint32) {}); err == nil {
		t.Error("AddPCMLeg took Opus")
	}
}

// TestPCMTickDoesNotAllocate: a tick with PCM talkers and listeners of both
// G.711 codecs allocates nothing in steady state.
func TestPCMTickDoesNotAllocate(t *testing.T) {
	m := newTestMixer(t, Config{})
	var talkers []*Leg
	var srcs []*pcmSource
	for i, c := range []Codec{CodecPCMU, CodecPCMA, CodecPCMU, CodecPCMU, CodecPCMA} {
		l, err := m.AddPCMLeg(LegID(rune('a'+i)), c, func([]byte, uint32) {})
		must(t, err)
		if i < 2 {
			talkers = append(talkers, l)
			srcs = append(srcs, &pcmSource{freq: 500 + 300*float64(i), amp: 8000})
		}
	}
	frames := make([][][]int16, len(talkers))
	for i, s := range srcs {
		for range 50 {
			pcm, _ := s.next()
			frames[i] = append(frames[i], pcm)
		}
	}
	now, n := t0, 0
	step := func() {
		for i, l := range talkers {
			_ = l.PushPCM(frames[i][n%50], uint32(n*PCMFrame), LevelUnknown)
		}
		m.Tick(now)
		now = now.Add(frameDur)
		n++
	}
	for range 100 {
		step()
	}
	if a := testing.AllocsPerRun(200, step); a != 0 {
		t.Errorf("%.1f allocations per tick", a)
	}
}

// FuzzPushPCM: any samples, timestamps and levels, pushed in any order,
// never break a mixer that keeps ticking.
func FuzzPushPCM(f *testing.F) {
	f.Add([]byte{1, 2, 3}, uint32(0), int8(-1))
	f.Add(bytes.Repeat([]byte{0x80, 0x7f}, PCMFrame), uint32(0xffffff00), int8(127))
	f.Fuzz(func(t *testing.T, b []byte, ts uint32, level int8) {
		m, err := New(Config{}, Params{})
		must(t, err)
		defer m.Close()
		l, err := m.AddPCMLeg("p", CodecPCMU, func([]byte, uint32) {})
		must(t, err)
		pcm := make([]int16, len(b)/2)
		for i := range pcm {
			pcm[i] = int16(uint16(b[2*i]) | uint16(b[2*i+1])<<8)
		}
		now := t0
		for i := range 5 {
			err := l.PushPCM(pcm, ts+uint32(i*PCMFrame), level)
			if len(pcm) != PCMFrame && !errors.Is(err, ErrInvalidFrame) {
				t.Fatalf("PushPCM of %d samples: %v", len(pcm), err)
			}
			m.Tick(now)
			now = now.Add(frameDur)
		}
	})
}

// TestPCMFilterHistory: a PCM leg upsampled on consecutive ticks keeps its
// filter history (no seam between frames), but one not upsampled for a
// while starts from silence, not from its last talk spurt; likewise a
// G.711 stream that skipped a tick.
func TestPCMFilterHistory(t *testing.T) {
	m := newTestMixer(t, Config{})
	l, err := m.AddPCMLeg("p", CodecPCMU, func([]byte, uint32) {})
	must(t, err)
	tone, _ := (&pcmSource{freq: 1000, amp: 8000}).next()
	loud := make([]byte, 2*PCMFrame)
	for i, v := range tone {
		loud[2*i], loud[2*i+1] = byte(v), byte(uint16(v)>>8)
	}
	quiet := make([]byte, 2*PCMFrame)
	decodeAt := func(tick uint64, payload []byte) []int16 {
		m.tick, l.decoded = tick, false
		l.in = jbOut{kind: popPacket, payload: payload}
		if !m.decodePCM(l) {
			t.Fatalf("tick %d: nothing decoded", tick)
		}
		return l.pcm
	}
	nonzero := func(x []int16) int {
		n := 0
		for _, v := range x {
			if v != 0 {
				n++
			}
		}
		return n
	}
	decodeAt(1, loud)
	if n := nonzero(decodeAt(2, quiet)); n == 0 {
		t.Error("consecutive frames: the loud frame's filter tail is missing from the next one")
	}
	decodeAt(3, loud)
	if n := nonzero(decodeAt(50, quiet)); n != 0 {
		t.Errorf("after a gap: %d samples of stale audio in a silent frame", n)
	}

	s := newG711Stream(CodecPCMU)
	mix := make([]int32, frameSamples)
	for i := range mix {
		mix[i] = int32(8000 * math.Sin(2*math.Pi*3000*float64(i)/sampleRate))
	}
	silent := make([]int32, frameSamples)
	silence := g711.EncodeUlawFrame(0)
	s.encodeMix(mix, 1)
	s.encodeMix(silent, 60)
	for i, b := range s.payload() {
		if b != silence {
			t.Fatalf("G.711 stream after a gap: sample %d is %#x, not silence", i, b)
		}
	}
}
