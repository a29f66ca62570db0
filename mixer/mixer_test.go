package mixer

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"
	"testing"
	"time"
)

// rig drives a Mixer synchronously in virtual time: every tick each source
// pushes its next frame (arriving at the tick time) and the rig calls Tick.
type rig struct {
	t    *testing.T
	m    *Mixer
	now  time.Time
	legs []*rigLeg
}

type rigLeg struct {
	id   LegID
	leg  *Leg
	src  *tone // nil: the leg sends nothing
	out  *listener
	skip map[int]bool // frames the source does not push (loss)
	n    int          // frames generated
	lvl  func(int8) int8
}

func newRig(t *testing.T, cfg Config) *rig {
	return &rig{t: t, m: newTestMixer(t, cfg), now: t0}
}

// add adds a leg sending a tone of freq at peak amp (amp 0: digital silence,
// level 127; freq < 0: sends nothing).
func (r *rig) add(id string, freq, amp float64) *rigLeg {
	r.t.Helper()
	out := newListener(r.t)
	l, err := r.m.AddLeg(LegID(id), out.sink)
	must(r.t, err)
	rl := &rigLeg{id: LegID(id), leg: l, out: out, skip: map[int]bool{}}
	if freq >= 0 {
		rl.src = newTone(r.t, freq, amp)
	}
	r.legs = append(r.legs, rl)
	return rl
}

func (r *rig) run(ticks int) {
	r.t.Helper()
	for range ticks {
		for _, l := range r.legs {
			if l.src == nil {
				continue
			}
			f := l.src.frame(r.t, r.now)
			if l.lvl != nil {
				f.Level = l.lvl(f.Level)
			}
			if !l.skip[l.n] {
				must(r.t, l.leg.Push(f))
			}
			l.n++
		}
		r.m.Tick(r.now)
		r.now = r.now.Add(frameDur)
	}
}

func (r *rig) talkers() []LegID {
	var ids []LegID
	for _, l := range r.m.Levels(nil) {
		if l.Talker {
			ids = append(ids, l.ID)
		}
	}
	slices.Sort(ids)
	return ids
}

// spectrum returns the power in dB at each frequency of the last 500 ms a
// leg heard (24000 samples: every test tone has a whole number of cycles).
func spectrum(l *rigLeg, freqs ...float64) []float64 {
	x := l.out.tail(500 * time.Millisecond)
	p := make([]float64, len(freqs))
	for i, f := range freqs {
		p[i] = db(goertzel(x, f))
	}
	return p
}

func ids(s ...string) []LegID {
	var r []LegID
	for _, x := range s {
		r = append(r, LegID(x))
	}
	slices.Sort(r)
	return r
}

// TestMixMinus: three talkers at 300, 500 and 700 Hz and two silent legs.
// Each talker hears the other two and not itself (≥ 20 dB below); each
// silent leg hears all three. (What a talker hears at its own frequency,
// 35–60 dB under the others, is the two Opus passes' intermodulation of the
// other two tones, e.g. 2×300 − 700 … not leakage: it is the same with the
// talker moved to another frequency.)
func TestMixMinus(t *testing.T) {
	r := newRig(t, Config{})
	freqs := []float64{300, 500, 700}
	a, b, c := r.add("a", 300, 8000), r.add("b", 500, 8000), r.add("c", 700, 8000)
	d, e := r.add("d", 0, 0), r.add("e", 0, 0)
	r.run(75)
	if got := r.talkers(); !slices.Equal(got, ids("a", "b", "c")) {
		t.Fatalf("talkers %v", got)
	}
	full := db(8000 * 8000 / 2)
	for i, l := range []*rigLeg{a, b, c} {
		p := spectrum(l, freqs...)
		t.Logf("%s hears 300/500/700 Hz at %.1f/%.1f/%.1f dB (full tone %.1f)", l.id, p[0], p[1], p[2], full)
		for j := range freqs {
			if j == i {
				continue
			}
			if p[j] < full-3 {
				t.Errorf("%s hears %v Hz at %.1f dB, want ≈ %.1f", l.id, freqs[j], p[j], full)
			}
			if p[i] > p[j]-20 {
				t.Errorf("%s hears itself at %.1f dB, only %.1f dB under %v Hz", l.id, p[i], p[j]-p[i], freqs[j])
			}
		}
	}
	for _, l := range []*rigLeg{d, e} {
		p := spectrum(l, 300, 500, 700, 900)
		t.Logf("%s hears 300/500/700/900 Hz at %.1f/%.1f/%.1f/%.1f dB", l.id, p[0], p[1], p[2], p[3])
		for j := range freqs {
			if p[j] < full-3 || p[j] < p[3]+20 {
				t.Errorf("%s hears %v Hz at %.1f dB (900 Hz %.1f)", l.id, freqs[j], p[j], p[3])
			}
		}
	}
}

// TestTopN: five loud legs with TopN 3: the three loudest are mixed, the
// others are not heard, and only those three are decoded: never the quieter
// two, never the two silent legs.
func TestTopN(t *testing.T) {
	r := newRig(t, Config{TopN: 3})
	amps := []float64{9000, 7000, 5000, 3000, 2000} // levels ≈ 14, 16, 19, 24, 27
	freqs := []float64{300, 500, 700, 900, 1100}
	for i := range amps {
		r.add(fmt.Sprint("loud", i), freqs[i], amps[i])
	}
	r.add("silent0", 0, 0)
	r.add("silent1", 0, 0)
	listener := r.add("listener", -1, 0)
	r.run(25)
	before := r.m.Stats()
	r.run(50)
	st := r.m.Stats()
	if got := r.talkers(); !slices.Equal(got, ids("loud0", "loud1", "loud2")) {
		t.Fatalf("talkers %v, want the three loudest", got)
	}
	if got := st.Decoded - before.Decoded; got != 3*50 {
		t.Errorf("%d decodes in 50 ticks, want 150 (talkers only)", got)
	}
	if st.FEC+st.PLC != 0 {
		t.Errorf("concealment without loss: %+v", st)
	}
	p := spectrum(listener, freqs...)
	t.Logf("listener hears %.1f dB", p)
	for i := range 3 {
		for j := 3; j < 5; j++ {
			if p[j] > p[i]-20 {
				t.Errorf("listener hears unmixed %v Hz at %.1f dB, mixed %v Hz at %.1f", freqs[j], p[j], freqs[i], p[i])
			}
		}
	}
}

// TestTalkerSwitch: a challenger 3 dB louder than the quietest talker does
// not displace it (margin 6 dB); one 12 dB louder does, once, without
// flapping.
func TestTalkerSwitch(t *testing.T) {
	r := newRig(t, Config{TopN: 2})
	r.add("a", 300, 8000)
	b := r.add("b", 500, 4000)
	ch := r.add("ch", 700, 0)
	r.add("listener", -1, 0)
	r.run(25)
	if got := r.talkers(); !slices.Equal(got, ids("a", "b")) {
		t.Fatalf("talkers %v", got)
	}
	ch.src.amp = 4000 * math.Pow(10, 3.0/20)
	changes := 0
	prev := r.talkers()
	count := func(n int) {
		for range n {
			r.run(1)
			if got := r.talkers(); !slices.Equal(got, prev) {
				changes++
				prev = got
			}
		}
	}
	count(100)
	if changes != 0 {
		t.Fatalf("3 dB louder challenger changed the talkers %d times (now %v)", changes, prev)
	}
	ch.src.amp = 4000 * math.Pow(10, 12.0/20)
	count(100)
	if changes != 1 || !slices.Equal(prev, ids("a", "ch")) {
		t.Fatalf("12 dB louder challenger: %d changes, talkers %v", changes, prev)
	}
	// b stays out while ch talks, then comes back when ch stops.
	ch.src.amp = 0
	count(60)
	if !slices.Equal(prev, ids("a", "b")) || changes != 2 {
		t.Fatalf("after ch stopped: %d changes, talkers %v", changes, prev)
	}
	_ = b
}

// TestSharedEncode: every non-talker gets byte-identical payloads each tick,
// every talker its own, and a tick costs talkers + 1 encodes.
func TestSharedEncode(t *testing.T) {
	r := newRig(t, Config{})
	var talkers, others []*rigLeg
	for i, f := range []float64{300, 500, 700} {
		talkers = append(talkers, r.add(fmt.Sprint("t", i), f, 8000))
	}
	for i := range 5 {
		others = append(others, r.add(fmt.Sprint("o", i), 0, 0))
	}
	r.run(25)
	before := r.m.Stats()
	r.run(25)
	if got := r.m.Stats().Encoded - before.Encoded; got != 25*4 {
		t.Errorf("%d encodes in 25 ticks, want 100 (3 talkers + 1 shared)", got)
	}
	for i := len(others[0].out.payloads) - 25; i < len(others[0].out.payloads); i++ {
		shared := others[0].out.payloads[i]
		for _, o := range others[1:] {
			if !bytes.Equal(o.out.payloads[i], shared) {
				t.Fatalf("tick %d: %s and %s got different payloads", i, others[0].id, o.id)
			}
		}
		for j, a := range talkers {
			if bytes.Equal(a.out.payloads[i], shared) {
				t.Fatalf("tick %d: talker %s got the shared payload", i, a.id)
			}
			for _, b := range talkers[j+1:] {
				if bytes.Equal(a.out.payloads[i], b.out.payloads[i]) {
					t.Fatalf("tick %d: talkers %s and %s got the same payload", i, a.id, b.id)
				}
			}
		}
	}
}

// TestQuietTalkerSharesStream: a talker that goes quiet stays a talker for
// the hangover and keeps its encoder slot for the hold time, but once its
// frames have been inaudible for 200 ms its mix-minus would be the full mix:
// it gets the shared payload, and no encode is spent on it. Back to talking,
// it has its own stream again at once.
func TestQuietTalkerSharesStream(t *testing.T) {
	r := newRig(t, Config{})
	var talkers []*rigLeg
	for i, f := range []float64{300, 500, 700} {
		talkers = append(talkers, r.add(fmt.Sprint("t", i), f, 8000))
	}
	other := r.add("o", 0, 0)
	r.run(25)
	quiet := talkers[0]
	quiet.src.amp = 0
	sharing := func(what string, ticks int) {
		t.Helper()
		before := r.m.Stats()
		r.run(ticks)
		if got := r.m.Stats().Encoded - before.Encoded; got != uint64(ticks)*3 {
			t.Errorf("%s: %d encodes in %d ticks, want %d (2 talkers + 1 shared)", what, got, ticks, ticks*3)
		}
		n := len(other.out.payloads)
		for i := n - ticks; i < n; i++ {
			if !bytes.Equal(quiet.out.payloads[i], other.out.payloads[i]) {
				t.Fatalf("%s: tick %d: the quiet talker did not get the shared payload", what, i)
			}
			if bytes.Equal(talkers[1].out.payloads[i], other.out.payloads[i]) {
				t.Fatalf("%s: tick %d: an active talker got the shared payload", what, i)
			}
		}
	}
	r.run(inaudibleTicks + 4) // + the jitter buffer's delay
	if !slices.Contains(r.talkers(), quiet.id) {
		t.Fatal("the quiet leg left the talkers before the hangover ended")
	}
	sharing("in the hangover", 2)
	r.run(20)
	if slices.Contains(r.talkers(), quiet.id) || quiet.leg.slot < 0 {
		t.Fatalf("after the hangover: talkers %v, slot %d; want out of the talkers, slot held", r.talkers(), quiet.leg.slot)
	}
	sharing("slot held", 20)
	quiet.src.amp = 8000
	r.run(5)
	n := len(other.out.payloads)
	if bytes.Equal(quiet.out.payloads[n-1], other.out.payloads[n-1]) {
		t.Error("a talker back in the mix still gets the shared payload")
	}
}

// TestLimiterEndToEnd: three full-scale tones. The sum (≈ 3× full scale)
// and every mix-minus (≈ 2×) are limited, not wrapped: the tones keep
// almost all the energy a listener hears.
func TestLimiterEndToEnd(t *testing.T) {
	r := newRig(t, Config{})
	freqs := []float64{300, 500, 700}
	var talkers []*rigLeg
	for i, f := range freqs {
		talkers = append(talkers, r.add(fmt.Sprint("t", i), f, 32000))
	}
	listener := r.add("listener", -1, 0)
	r.run(75)
	check := func(l *rigLeg, want []float64) {
		x := l.out.tail(500 * time.Millisecond)
		var total float64
		for _, v := range x {
			total += float64(v) * float64(v)
		}
		total /= float64(len(x))
		var tones float64
		for _, f := range want {
			tones += goertzel(x, f)
		}
		peak := 0
		for _, v := range x {
			peak = max(peak, int(math.Abs(float64(v))))
		}
		t.Logf("%s: peak %d, tones hold %.1f%% of the energy", l.id, peak, 100*tones/total)
		if tones < 0.9*total {
			t.Errorf("%s: tones hold only %.1f%% of the energy: distorted", l.id, 100*tones/total)
		}
		if peak < 20000 {
			t.Errorf("%s: peak %d, the limiter pumps too hard", l.id, peak)
		}
	}
	check(listener, freqs)
	for i, l := range talkers {
		check(l, slices.Delete(slices.Clone(freqs), i, i+1))
	}
}

// TestMuted: a muted leg is not a talker, is not heard and not decoded, but
// hears the others; its level reads as silence.
func TestMuted(t *testing.T) {
	r := newRig(t, Config{})
	r.add("a", 300, 8000)
	b := r.add("b", 500, 8000)
	c := r.add("c", 700, 8000)
	c.leg.SetMuted(true)
	r.run(25)
	before := r.m.Stats()
	r.run(50)
	if got := r.talkers(); !slices.Equal(got, ids("a", "b")) {
		t.Fatalf("talkers %v", got)
	}
	if got := r.m.Stats().Decoded - before.Decoded; got != 100 {
		t.Errorf("%d decodes, want 100", got)
	}
	p := spectrum(b, 300, 700)
	if p[1] > p[0]-20 {
		t.Errorf("b hears the muted leg at %.1f dB (a at %.1f)", p[1], p[0])
	}
	p = spectrum(c, 300, 500)
	if p[0] < db(8000*8000/2)-3 || p[1] < db(8000*8000/2)-3 {
		t.Errorf("muted c hears %.1f dB", p)
	}
	for _, l := range r.m.Levels(nil) {
		if l.ID == "c" && (!l.Muted || l.Level != 127) {
			t.Errorf("muted level %+v", l)
		}
	}
	c.leg.SetMuted(false)
	r.run(10)
	if got := r.talkers(); !slices.Equal(got, ids("a", "b", "c")) {
		t.Fatalf("after unmute, talkers %v", got)
	}
}

// TestUnknownLevel: legs without RFC 6464 levels (phones) are decoded every
// frame and measured; the loudest are still picked and mix-minus holds.
func TestUnknownLevel(t *testing.T) {
	r := newRig(t, Config{TopN: 2})
	unknown := func(int8) int8 { return LevelUnknown }
	a, b := r.add("a", 300, 8000), r.add("b", 500, 2000)
	c, q := r.add("c", 700, 500), r.add("quiet", 0, 0)
	for _, l := range []*rigLeg{a, b, c, q} {
		l.lvl = unknown
	}
	r.run(25)
	before := r.m.Stats()
	r.run(50)
	if got := r.talkers(); !slices.Equal(got, ids("a", "b")) {
		t.Fatalf("talkers %v", got)
	}
	if got := r.m.Stats().Decoded - before.Decoded; got != 4*50 {
		t.Errorf("%d decodes, want 200 (every unknown-level frame, once)", got)
	}
	levels := map[LegID]int8{}
	for _, l := range r.m.Levels(nil) {
		levels[l.ID] = l.Level
	}
	want := map[LegID]int8{"a": LevelFromPCM(toneSamples(8000)), "b": LevelFromPCM(toneSamples(2000))}
	for id, w := range want {
		if d := int(levels[id]) - int(w); d < -2 || d > 2 {
			t.Errorf("%s measured at %d, want ≈ %d", id, levels[id], w)
		}
	}
	if levels["quiet"] < 100 { // decoded digital silence is not all zeros
		t.Errorf("quiet measured at %d", levels["quiet"])
	}
	p := spectrum(a, 300, 500)
	if p[0] > p[1]-20 {
		t.Errorf("a hears itself: %.1f dB", p)
	}
}

func toneSamples(amp float64) []int16 {
	x := make([]int16, frameSamples)
	for i := range x {
		x[i] = int16(amp * math.Sin(2*math.Pi*300*float64(i)/sampleRate))
	}
	return x
}

// TestLossConcealment: a talker's lost packet is decoded from the next
// packet's FEC; two in a row give one PLC then FEC. A silent leg's losses
// cost no decode at all.
func TestLossConcealment(t *testing.T) {
	r := newRig(t, Config{})
	a := r.add("a", 300, 8000)
	s := r.add("s", 0, 0)
	r.add("listener", -1, 0)
	r.run(25)
	a.skip[30], a.skip[40], a.skip[41] = true, true, true
	s.skip[30], s.skip[50], s.skip[51] = true, true, true
	r.run(50)
	st := r.m.Stats()
	if st.FEC != 2 || st.PLC != 1 || st.Lost != 6 {
		t.Errorf("FEC %d PLC %d lost %d, want 2, 1, 6", st.FEC, st.PLC, st.Lost)
	}
}

// TestLegLifecycle: duplicate IDs fail; after RemoveLeg the sink is never
// called again and Push fails; the ID can be reused; Close stops AddLeg.
func TestLegLifecycle(t *testing.T) {
	r := newRig(t, Config{})
	a := r.add("a", 300, 8000)
	b := r.add("b", 0, 0)
	if _, err := r.m.AddLeg("a", func([]byte, uint32) {}); !errors.Is(err, ErrDuplicateLeg) {
		t.Fatalf("duplicate AddLeg: %v", err)
	}
	r.run(20)
	n := b.out.frames()
	r.m.RemoveLeg("b")
	r.legs = r.legs[:1]
	r.run(5)
	if got := b.out.frames(); got != n {
		t.Fatalf("sink called %d times after RemoveLeg", got-n)
	}
	if err := b.leg.Push(Frame{Payload: []byte{0x08, 1, 2}, Timestamp: 1}); !errors.Is(err, ErrLegRemoved) {
		t.Fatalf("Push after remove: %v", err)
	}
	if r.m.Leg("b") != nil || r.m.Leg("a") != a.leg {
		t.Fatal("Leg lookup")
	}
	r.add("b", 0, 0)
	r.run(5)
	if got := len(r.m.Levels(nil)); got != 2 {
		t.Fatalf("%d legs", got)
	}
	if err := a.leg.Push(Frame{Payload: []byte{0x08 | 3, 3}, Timestamp: 1}); !errors.Is(err, ErrInvalidFrame) {
		t.Fatalf("Push of 60 ms: %v", err)
	}
	r.m.Close()
	if _, err := r.m.AddLeg("c", func([]byte, uint32) {}); !errors.Is(err, ErrClosed) {
		t.Fatalf("AddLeg after Close: %v", err)
	}
}

// TestConcurrentLegs runs pushes, joins, leaves, mutes and level reads
// against the running mixer goroutine (for -race).
func TestConcurrentLegs(t *testing.T) {
	m, err := New(Config{}, Params{})
	must(t, err)
	m.Start()
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			src := newTone(t, 300+200*float64(i), 8000)
			for round := range 5 {
				id := LegID(fmt.Sprint("leg", i, "-", round))
				l, err := m.AddLeg(id, func(p []byte, ts uint32) {})
				if err != nil {
					t.Error(err)
					return
				}
				for k := range 20 {
					p, ts, lvl := src.next(t)
					if err := l.Push(Frame{Payload: p, Timestamp: ts, Level: lvl}); err != nil {
						t.Error(err)
					}
					l.SetMuted(k%7 == 0)
					time.Sleep(time.Millisecond)
				}
				m.RemoveLeg(id)
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		buf := make([]LegLevel, 0, 8)
		for range 50 {
			buf = m.Levels(buf)
			_ = m.Stats()
			time.Sleep(2 * time.Millisecond)
		}
	}()
	wg.Wait()
	m.Close()
	m.Close()
	if m.Stats().Ticks == 0 {
		t.Error("the mixer never ticked")
	}
}

func TestConfig(t *testing.T) {
	m := newTestMixer(t, Config{})
	got := m.Config()
	want := Config{TopN: 3, Bitrate: 32000, Complexity: defaultComplexity, MinComplexity: defaultMinComplexity, JitterMin: 40 * time.Millisecond,
		JitterMax: 200 * time.Millisecond, ActiveLevel: 60, Hangover: 300 * time.Millisecond, MaxCatchUp: 5}
	if got != want {
		t.Fatalf("defaults %+v", got)
	}
	for _, bad := range []Config{
		{TopN: 17}, {Bitrate: 65000}, {Bitrate: 1000}, {Complexity: 11}, {Complexity: 3, MinComplexity: 4}, {JitterMin: time.Millisecond},
		{JitterMin: 100 * time.Millisecond, JitterMax: 50 * time.Millisecond}, {ActiveLevel: 127}, {MaxCatchUp: -1},
	} {
		if _, err := New(bad, Params{}); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("%+v: %v", bad, err)
		}
	}
	if _, err := New(Config{Bitrate: 64000, Complexity: 1, TopN: 16}, Params{}); err != nil {
		t.Error(err)
	}
}

func TestLevelFromPCM(t *testing.T) {
	square := make([]int16, 960)
	for i := range square {
		square[i] = 32767
		if i%2 == 1 {
			square[i] = -32767
		}
	}
	for _, tc := range []struct {
		pcm  []int16
		want int8
	}{
		{square, 0},
		{toneSamples(32767), 3},
		{toneSamples(3277), 23},
		{make([]int16, 960), 127},
		{nil, 127},
	} {
		if got := LevelFromPCM(tc.pcm); got != tc.want {
			t.Errorf("level %d, want %d", got, tc.want)
		}
	}
}

func TestOpusSamples(t *testing.T) {
	for _, tc := range []struct {
		p    []byte
		want int
	}{
		{[]byte{1 << 3}, 960},       // SILK 20 ms
		{[]byte{3 << 3}, 2880},      // SILK 60 ms
		{[]byte{13 << 3}, 960},      // hybrid 20 ms
		{[]byte{31 << 3}, 960},      // CELT 20 ms
		{[]byte{30<<3 | 1}, 960},    // CELT 2 × 10 ms
		{[]byte{29<<3 | 3, 4}, 960}, // CELT 4 × 5 ms
		{[]byte{29<<3 | 3}, 0},      // code 3 without count
		{nil, 0},
	} {
		if got := opusSamples(tc.p); got != tc.want {
			t.Errorf("%x: %d samples, want %d", tc.p, got, tc.want)
		}
	}
}

// TestSilence: with nobody talking the shared stream re-sends its silent
// payload after a few ticks instead of encoding; listeners still get 50
// frames/s that decode to silence, and encoding resumes with speech.
func TestSilence(t *testing.T) {
	r := newRig(t, Config{})
	a := r.add("a", 300, 0)
	b := r.add("b", -1, 0)
	r.run(10)
	before := r.m.Stats()
	r.run(20)
	if got := r.m.Stats().Encoded - before.Encoded; got != 0 {
		t.Errorf("%d encodes of silence in 20 ticks", got)
	}
	if n := b.out.frames(); n != 30 {
		t.Fatalf("%d frames", n)
	}
	p := b.out.payloads
	if !bytes.Equal(p[len(p)-1], p[len(p)-2]) {
		t.Error("silent payload not reused")
	}
	var peak int16
	for _, v := range b.out.tail(200 * time.Millisecond) {
		peak = max(peak, v, -v)
	}
	if peak > 4 {
		t.Errorf("silence decodes with peak %d", peak)
	}
	a.src.amp = 8000
	r.run(25)
	if got := spectrum(b, 300); got[0] < db(8000*8000/2)-3 {
		t.Errorf("b hears a at %.1f dB after the silence", got[0])
	}
}
