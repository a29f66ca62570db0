package mixer

import (
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/confab-media/confab/internal/clock"
)

// TestContinuousStream runs the real mixer goroutine on the system clock in
// a synctest bubble (virtual time) for 10 s, with legs pushing from their
// own goroutines: every leg gets 50 frames/s, its timestamp advancing by 960
// each, also while nobody talks. Close leaves no goroutine behind (synctest
// fails otherwise).
func TestContinuousStream(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m, err := New(Config{}, Params{Clock: clock.System{}})
		must(t, err)
		var outs []*listener
		var wg sync.WaitGroup
		stop := make(chan struct{})
		for i, amp := range []float64{8000, 8000, 0, 0} {
			out := newListener(t)
			outs = append(outs, out)
			l, err := m.AddLeg(LegID(rune('a'+i)), out.sink)
			must(t, err)
			src := newTone(t, 300+200*float64(i), amp)
			wg.Add(1)
			go func() { // a transport read loop: one packet per 20 ms
				defer wg.Done()
				time.Sleep(time.Duration(i) * 3 * time.Millisecond)
				for k := 0; ; k++ {
					select {
					case <-stop:
						return
					default:
					}
					if k/100%2 == 0 || amp == 0 { // talkers pause every other 2 s
						p, ts, lvl := src.next(t)
						must(t, l.Push(Frame{Payload: p, Timestamp: ts, Level: lvl}))
					} else {
						src.ts += frameSamples
					}
					time.Sleep(frameDur)
				}
			}()
		}
		m.Start()
		time.Sleep(10*time.Second + time.Millisecond)
		m.Close()
		close(stop)
		wg.Wait()
		for i, out := range outs {
			if n := out.frames(); n != 500 {
				t.Errorf("leg %d: %d frames in 10 s, want 500", i, n)
			}
			for k := 1; k < len(out.ts); k++ {
				if out.ts[k]-out.ts[k-1] != frameSamples {
					t.Fatalf("leg %d: timestamp step %d at frame %d", i, out.ts[k]-out.ts[k-1], k)
				}
			}
		}
		if st := m.Stats(); st.Ticks != 500 || st.Skipped != 0 {
			t.Errorf("stats %+v", st)
		}
	})
}

// TestCatchUp: a late tick mixes the frames it missed at once; one later
// than MaxCatchUp frames skips ahead, and the timestamps still advance by
// the elapsed time.
func TestCatchUp(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		clk := newFakeClock(t0)
		m, err := New(Config{MaxCatchUp: 5}, Params{Clock: clk})
		must(t, err)
		out := newListener(t)
		_, err = m.AddLeg("a", out.sink)
		must(t, err)
		m.Start()
		step := func(at time.Duration, wantFrames int) {
			t.Helper()
			clk.fire(t0.Add(at))
			synctest.Wait()
			if got := out.frames(); got != wantFrames {
				t.Fatalf("at %v: %d frames, want %d", at, got, wantFrames)
			}
		}
		step(20*time.Millisecond, 1)
		step(40*time.Millisecond, 2)
		step(110*time.Millisecond, 5) // 70 ms late: 3 more frames at once
		step(120*time.Millisecond, 6)
		step(1120*time.Millisecond, 11) // 1 s late: 5 mixed, 45 skipped
		m.Close()
		want := []uint32{0, 960, 1920, 2880, 3840, 4800, 5760 + 45*960, 6720 + 45*960, 7680 + 45*960, 8640 + 45*960, 9600 + 45*960}
		if !slices.Equal(out.ts, want) {
			t.Errorf("timestamps %v, want %v", out.ts, want)
		}
		if st := m.Stats(); st.Skipped != 45 || st.Ticks != 11 {
			t.Errorf("stats %+v", st)
		}
	})
}

// TestLatency measures the delay the mixer adds at 0% loss, in virtual
// time: from a talk spurt's first packet arriving to the first output frame
// a listener gets that contains it. It includes the jitter buffer and the
// talker selection (the talker is silent before each spurt), for several
// arrival phases against the tick.
func TestLatency(t *testing.T) {
	var delays []time.Duration
	for _, phase := range []time.Duration{0, 3, 7, 11, 15, 19} {
		r := newRig(t, Config{})
		a := r.add("a", 300, 0)
		listener := r.add("listener", -1, 0)
		var pushedAt []time.Time // arrival of each onset frame
		for cycle := range 10 {
			for k := range 50 {
				at := r.now.Add(-phase * time.Millisecond)
				if k == 0 {
					a.src.amp = 8000
					pushedAt = append(pushedAt, at)
				}
				if k == 15 {
					a.src.amp = 0
				}
				must(t, a.leg.Push(a.src.frame(t, at)))
				r.m.Tick(r.now)
				r.now = r.now.Add(frameDur)
			}
			_ = cycle
		}
		// Output frame i went out at the tick t0 + i×20 ms.
		pcm := listener.out.pcm
		onset := 0
		for i := 0; i+frameSamples <= len(pcm) && onset < len(pushedAt); i += frameSamples {
			at := t0.Add(time.Duration(i/frameSamples) * frameDur)
			if at.Before(pushedAt[onset]) {
				continue
			}
			if db(goertzel(pcm[i:i+frameSamples], 300)) > db(8000*8000/2)-20 {
				delays = append(delays, at.Sub(pushedAt[onset]))
				onset++
			}
		}
		if onset != len(pushedAt) {
			t.Fatalf("phase %d ms: found %d of %d onsets", phase, onset, len(pushedAt))
		}
	}
	slices.Sort(delays)
	p50, p90 := delays[len(delays)/2], delays[len(delays)*9/10]
	t.Logf("mixer-added delay over %d talk spurts: min %v, p50 %v, p90 %v, max %v",
		len(delays), delays[0], p50, p90, delays[len(delays)-1])
	if p50 > 60*time.Millisecond {
		t.Errorf("p50 delay %v, want ≤ 60 ms", p50)
	}
}

// TestNoAllocs: in steady state a Push and a Tick allocate nothing, nor
// does Levels with a large enough slice.
func TestNoAllocs(t *testing.T) {
	m := newTestMixer(t, Config{})
	type src struct {
		leg    *Leg
		frames [][]byte
		levels []int8
		ts     uint32
	}
	var srcs []*src
	for i := range 10 {
		l, err := m.AddLeg(LegID(rune('a'+i)), func([]byte, uint32) {})
		must(t, err)
		amp := 0.0
		if i < 4 { // four talkers for three slots: switches too
			amp = 4000 + 1000*float64(i)
		}
		g := newTone(t, 300+100*float64(i), amp)
		s := &src{leg: l, ts: rand.Uint32()}
		for range 50 {
			p, _, lvl := g.next(t)
			s.frames = append(s.frames, p)
			s.levels = append(s.levels, lvl)
		}
		srcs = append(srcs, s)
	}
	now := t0
	k := 0
	tick := func() {
		for _, s := range srcs {
			_ = s.leg.Push(Frame{Payload: s.frames[k%50], Timestamp: s.ts, Level: s.levels[k%50], Arrival: now})
			s.ts += frameSamples
		}
		m.Tick(now)
		now = now.Add(frameDur)
		k++
	}
	for range 200 {
		tick()
	}
	if n := testing.AllocsPerRun(200, tick); n != 0 {
		t.Errorf("%v allocs per Push×10 + Tick", n)
	}
	buf := make([]LegLevel, 0, 16)
	if n := testing.AllocsPerRun(100, func() { buf = m.Levels(buf) }); n != 0 {
		t.Errorf("%v allocs per Levels", n)
	}
	if len(buf) != 10 {
		t.Errorf("%d levels", len(buf))
	}
}
