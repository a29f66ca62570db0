package mixer

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"
)

// arrival is one packet of a simulated sender: frame k arrives at at.
type arrival struct {
	k     int
	at    time.Duration // since t0
	level int8
}

// jbSim drives a jitter buffer with packets and 20 ms ticks in virtual time.
type jbSim struct {
	jb    *jitterBuffer
	stats *counters
	ts0   uint32
	dst   []byte
	out   []jbOut
	spans []time.Duration // buffered span after each tick
}

func newJBSim() *jbSim {
	c := &counters{}
	return &jbSim{
		jb:    newJitterBuffer(40*time.Millisecond, 200*time.Millisecond, 60, c),
		stats: c, ts0: 5000, dst: make([]byte, 0, maxPayload),
	}
}

// payload identifies frame k.
func payload(k int) []byte { return []byte{byte(k), byte(k >> 8), byte(k >> 16), byte(k >> 24)} }

func frameOf(p []byte) int {
	return int(int32(uint32(p[0]) | uint32(p[1])<<8 | uint32(p[2])<<16 | uint32(p[3])<<24))
}

// run delivers the arrivals (sorted by time) and ticks every 20 ms, with
// ticks at tickPhase + n×20 ms, until ticks have run.
func (s *jbSim) run(arrivals []arrival, ticks int, tickPhase time.Duration) {
	slices.SortStableFunc(arrivals, func(a, b arrival) int { return int(a.at - b.at) })
	i := 0
	for n := 0; n < ticks; n++ {
		now := tickPhase + time.Duration(n)*frameDur
		for ; i < len(arrivals) && arrivals[i].at <= now; i++ {
			a := arrivals[i]
			s.jb.push(payload(a.k), s.ts0+uint32(a.k)*frameSamples, a.level, t0.Add(a.at))
		}
		o := s.jb.pop(t0.Add(now), s.dst)
		o.payload = append([]byte(nil), o.payload...)
		s.out = append(s.out, o)
		if s.jb.state == jbPlaying {
			s.spans = append(s.spans, s.jb.span())
		}
	}
}

// regular returns frames [from, to) arriving every 20 ms at phase.
func regular(from, to int, phase time.Duration) []arrival {
	var a []arrival
	for k := from; k < to; k++ {
		a = append(a, arrival{k: k, at: phase + time.Duration(k)*frameDur, level: 30})
	}
	return a
}

// played returns the frame numbers of the packets played, and a string of
// kinds: P packet, F FEC, C PLC, - none, up to the last packet played (after
// it the stream just ends).
func (s *jbSim) played() (frames []int, kinds string) {
	for _, o := range s.out {
		switch o.kind {
		case popPacket:
			frames = append(frames, frameOf(o.payload))
			kinds += "P"
		case popFEC:
			kinds += "F"
		case popPLC:
			kinds += "C"
		default:
			kinds += "-"
		}
	}
	return frames, kinds[:strings.LastIndexByte(kinds, 'P')+1]
}

func seq(from, to int) []int {
	var s []int
	for k := from; k < to; k++ {
		s = append(s, k)
	}
	return s
}

func TestJitterInOrder(t *testing.T) {
	s := newJBSim()
	s.run(regular(0, 50, 3*time.Millisecond), 60, 0)
	frames, kinds := s.played()
	if !slices.Equal(frames, seq(0, 50)) {
		t.Fatalf("played %v", frames)
	}
	if s.stats.lost.Load()+s.stats.late.Load()+s.stats.dropped.Load()+s.stats.inserted.Load() != 0 {
		t.Fatalf("stats %+v, kinds %s", s.stats.snapshot(), kinds)
	}
	// Zero jitter: the target is JitterMin, and playout starts once the
	// first packet waited at least target − 10 ms.
	if got := s.jb.target(); got != 40*time.Millisecond {
		t.Errorf("target %v, want 40ms", got)
	}
	if first := s.jb.delay; first < 30*time.Millisecond || first >= 50*time.Millisecond {
		t.Errorf("playout delay %v, want [30ms, 50ms)", first)
	}
}

func TestJitterReorder(t *testing.T) {
	a := regular(0, 50, 0)
	// 10 and 11 swap, 20 comes after 23 (35 ms late, within the delay).
	a[10].at, a[11].at = a[11].at, a[10].at
	a[20].at += 35 * time.Millisecond
	s := newJBSim()
	s.run(a, 60, 5*time.Millisecond)
	frames, kinds := s.played()
	if !slices.Equal(frames, seq(0, 50)) {
		t.Fatalf("played %v (%s)", frames, kinds)
	}
	if st := s.stats.snapshot(); st.Lost+st.Late != 0 {
		t.Fatalf("stats %+v", st)
	}
}

func TestJitterLossFECThenPLC(t *testing.T) {
	var a []arrival
	for _, x := range regular(0, 40, 0) {
		if x.k != 10 && x.k != 20 && x.k != 21 {
			a = append(a, x)
		}
	}
	s := newJBSim()
	s.run(a, 50, 5*time.Millisecond)
	frames, kinds := s.played()
	want := slices.DeleteFunc(seq(0, 40), func(k int) bool { return k == 10 || k == 20 || k == 21 })
	if !slices.Equal(frames, want) {
		t.Fatalf("played %v", frames)
	}
	// 10 lost, 11 buffered: FEC from 11. 20 and 21 lost: PLC for 20, FEC
	// from 22 for 21.
	var fec []int
	for _, o := range s.out {
		if o.kind == popFEC {
			fec = append(fec, frameOf(o.payload))
		}
	}
	if !slices.Equal(fec, []int{11, 22}) || strings.Count(kinds, "C") != 1 {
		t.Fatalf("FEC from %v; kinds %s", fec, kinds)
	}
	if got := s.stats.lost.Load(); got != 3 {
		t.Errorf("lost %d, want 3", got)
	}
}

func TestJitterDuplicate(t *testing.T) {
	a := regular(0, 30, 0)
	a = append(a, arrival{k: 7, at: a[7].at + time.Millisecond, level: 30}, arrival{k: 7, at: a[8].at, level: 30})
	s := newJBSim()
	s.run(a, 40, 5*time.Millisecond)
	frames, _ := s.played()
	if !slices.Equal(frames, seq(0, 30)) {
		t.Fatalf("played %v", frames)
	}
	if got := s.stats.duplicate.Load(); got != 2 {
		t.Errorf("duplicates %d, want 2", got)
	}
}

func TestJitterLateDropped(t *testing.T) {
	a := regular(0, 40, 0)
	a[15].at += 150 * time.Millisecond // far past its playout
	s := newJBSim()
	s.run(a, 50, 5*time.Millisecond)
	frames, kinds := s.played()
	if slices.Contains(frames, 15) {
		t.Fatalf("late frame played: %v", frames)
	}
	if got := s.stats.late.Load(); got != 1 {
		t.Errorf("late %d, want 1 (%s)", got, kinds)
	}
	if got := s.stats.lost.Load(); got != 1 {
		t.Errorf("lost %d, want 1", got)
	}
}

func TestJitterTimestampWrap(t *testing.T) {
	s := newJBSim()
	s.ts0 = ^uint32(0) - 20*frameSamples + 1 // wraps at frame 20
	s.run(regular(0, 60, 2*time.Millisecond), 70, 0)
	frames, kinds := s.played()
	if !slices.Equal(frames, seq(0, 60)) {
		t.Fatalf("played %v (%s)", frames, kinds)
	}
}

// TestJitterDrift: a sender clock 0.5% fast or slow for five minutes. The
// buffer absorbs it with about one drop (or insert) per 200 frames, mostly
// in the silent half of each second, and never grows.
func TestJitterDrift(t *testing.T) {
	for _, tc := range []struct {
		name string
		rate float64
	}{{"fast", 1.005}, {"slow", 0.995}} {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(1, 2))
			const ticks = 5 * 60 * 50
			n := int(ticks * tc.rate)
			var a []arrival
			for k := 0; k < n; k++ {
				at := time.Duration(float64(k)*float64(frameDur)/tc.rate) + time.Duration(rng.IntN(2000))*time.Microsecond
				level := int8(30)
				if k/50%2 == 1 {
					level = 127
				}
				a = append(a, arrival{k: k, at: at, level: level})
			}
			s := newJBSim()
			s.run(a, ticks, 0)
			st := s.stats.snapshot()
			frames, _ := s.played()
			t.Logf("%s: played %d, dropped %d, inserted %d, underrun %d, lost %d, late %d, max span %v, delay %v",
				tc.name, len(frames), st.Dropped, st.Inserted, st.Underrun, st.Lost, st.Late, slices.Max(s.spans), s.jb.delay)
			want := uint64(ticks * 0.005)
			adjust := st.Dropped
			if tc.rate < 1 {
				adjust = st.Inserted + st.Underrun
			}
			if adjust < want*8/10 || adjust > want*12/10 {
				t.Errorf("adjustments %d, want ≈ %d", adjust, want)
			}
			if st.Lost+st.Late > 2 || st.Resyncs != 0 {
				t.Errorf("lost %d, late %d, resyncs %d", st.Lost, st.Late, st.Resyncs)
			}
			if m := slices.Max(s.spans); m > 100*time.Millisecond {
				t.Errorf("buffer grew to %v", m)
			}
			if d := s.jb.delay; d < 10*time.Millisecond || d > 80*time.Millisecond {
				t.Errorf("final delay %v", d)
			}
			// Order is kept.
			if !slices.IsSorted(frames) {
				t.Error("frames out of order")
			}
		})
	}
}

// TestJitterAdaptiveTarget: the target follows the RFC 3550 jitter of the
// arrivals, from JitterMin up to the JitterMax cap, and keeps late packets
// rare.
func TestJitterAdaptiveTarget(t *testing.T) {
	for _, tc := range []struct {
		spread   time.Duration // arrival delay uniform in [0, spread)
		min, max time.Duration // expected target
		lateMax  float64
	}{
		{0, 40 * time.Millisecond, 40 * time.Millisecond, 0},
		{30 * time.Millisecond, 50 * time.Millisecond, 80 * time.Millisecond, 0.02},
		{60 * time.Millisecond, 80 * time.Millisecond, 130 * time.Millisecond, 0.02},
		{600 * time.Millisecond, 200 * time.Millisecond, 200 * time.Millisecond, 1},
	} {
		rng := rand.New(rand.NewPCG(3, 4))
		var a []arrival
		const n = 3000
		for k := 0; k < n; k++ {
			var j time.Duration
			if tc.spread > 0 {
				j = time.Duration(rng.Int64N(int64(tc.spread)))
			}
			a = append(a, arrival{k: k, at: time.Duration(k)*frameDur + j, level: 127})
		}
		s := newJBSim()
		s.run(a, n+20, 0)
		st := s.stats.snapshot()
		got := s.jb.target()
		late := float64(st.Late+st.Lost) / n
		t.Logf("spread %v: J %.1f ms, target %v, delay %v, late+lost %.2f%%, max span %v",
			tc.spread, float64(s.jb.jitter>>4)/48, got, s.jb.delay, 100*late, slices.Max(s.spans))
		if got < tc.min || got > tc.max {
			t.Errorf("spread %v: target %v, want [%v, %v]", tc.spread, got, tc.min, tc.max)
		}
		if late > tc.lateMax {
			t.Errorf("spread %v: %.1f%% late or lost", tc.spread, 100*late)
		}
		if m := slices.Max(s.spans); m > 200*time.Millisecond+2*frameDur {
			t.Errorf("spread %v: span %v over the cap", tc.spread, m)
		}
	}
}

// TestJitterResync: timestamps jumping forward (a new RTP session on the
// same leg) or backwards restart playout instead of losing the stream.
func TestJitterResync(t *testing.T) {
	for _, jump := range []int{+500, -500} {
		a := regular(0, 50, 0)
		for k := 50; k < 100; k++ {
			a = append(a, arrival{k: k + jump, at: time.Duration(k) * frameDur, level: 30})
		}
		s := newJBSim()
		s.ts0 = 1 << 20
		s.run(a, 110, 5*time.Millisecond)
		frames, kinds := s.played()
		// The restart may cost what was buffered of the old stream (≤ 2
		// frames) and, backwards, the late packets before it.
		i := slices.Index(frames, 50+jump+lateRestart-1)
		if jump > 0 {
			i = slices.Index(frames, 50+jump)
		}
		if i < 48 || !slices.Equal(frames[:i], seq(0, i)) || !slices.Equal(frames[i:], seq(frames[i], 100+jump)) {
			t.Errorf("jump %d: played %v (%s)", jump, frames, kinds)
		}
		if st := s.stats.snapshot(); st.Dropped+st.Inserted != 0 {
			t.Errorf("jump %d: stats %+v", jump, st)
		}
		if got := s.stats.resyncs.Load(); got != 1 {
			t.Errorf("jump %d: resyncs %d, want 1", jump, got)
		}
	}
}

// TestJitterPause: a sender that pauses (DTX, network stall) is concealed
// for a few frames, then silent, then played again when it resumes.
func TestJitterPause(t *testing.T) {
	a := regular(0, 30, 0)
	for k := 80; k < 120; k++ { // 1 s pause; timestamps keep time
		a = append(a, arrival{k: k, at: time.Duration(k) * frameDur, level: 30})
	}
	s := newJBSim()
	s.run(a, 130, 5*time.Millisecond)
	frames, kinds := s.played()
	if !slices.Equal(frames, append(seq(0, 30), seq(80, 120)...)) {
		t.Fatalf("played %v", frames)
	}
	if got := s.stats.underrun.Load(); got != 2*idleFrames { // the pause and the end
		t.Errorf("underruns %d, want %d (%s)", got, 2*idleFrames, kinds)
	}
	if plc := len(slices.DeleteFunc([]byte(kinds), func(c byte) bool { return c != 'C' })); plc != idleFrames-1 {
		t.Errorf("%d PLC frames, want %d: %s", plc, idleFrames-1, kinds)
	}
}

// TestJitterUnderrunStretch: a packet later than its slot but before the
// next one plays one tick late instead of being lost.
func TestJitterUnderrunStretch(t *testing.T) {
	a := regular(0, 40, 0)
	for k := 20; k < 40; k++ {
		a[k].at += 45 * time.Millisecond // the stream shifts by 45 ms
	}
	s := newJBSim()
	s.run(a, 60, 5*time.Millisecond)
	frames, kinds := s.played()
	if !slices.Equal(frames, seq(0, 40)) {
		t.Fatalf("played %v (%s)", frames, kinds)
	}
	if st := s.stats.snapshot(); st.Lost+st.Late != 0 || st.Underrun == 0 {
		t.Errorf("stats %+v", st)
	}
}

func TestJitterLookAhead(t *testing.T) {
	var a []arrival
	for k := 0; k < 20; k++ {
		level := int8(127)
		if k >= 10 {
			level = 20
		}
		a = append(a, arrival{k: k, at: time.Duration(k) * frameDur, level: level})
	}
	s := newJBSim()
	s.run(a, 25, 5*time.Millisecond)
	for _, o := range s.out {
		if o.kind == popPacket && frameOf(o.payload) == 8 {
			if o.level != 127 || o.ahead != 20 {
				t.Fatalf("frame 8: level %d ahead %d, want 127 and 20", o.level, o.ahead)
			}
			return
		}
	}
	t.Fatal("frame 8 not played")
}
