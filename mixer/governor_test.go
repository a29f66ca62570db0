package mixer

import (
	"testing"
	"testing/synctest"
	"time"
)

// TestComplexityGovernor: late ticks shed one step per shedAfter of them,
// down to the floor; a second of on-time ticks forgets a few late ones;
// ten seconds on time restore one step.
func TestComplexityGovernor(t *testing.T) {
	g := newComplexityGovernor(Config{Complexity: 5, MinComplexity: 3})
	feed := func(late time.Duration, n int) int {
		c := g.cur
		for range n {
			c, _ = g.observe(late)
		}
		return c
	}
	if c := feed(lateTick, shedAfter-1); c != 5 {
		t.Fatalf("%d late ticks shed to %d", shedAfter-1, c)
	}
	if c := feed(0, calmReset); c != 5 {
		t.Fatalf("on time: %d", c)
	}
	if c := feed(lateTick, shedAfter-1); c != 5 {
		t.Fatalf("late ticks a second apart added up: complexity %d", c)
	}
	if c := feed(lateTick, 1); c != 4 {
		t.Fatalf("after %d late ticks: complexity %d, want 4", shedAfter, c)
	}
	if c := feed(30*time.Millisecond, 10*shedAfter); c != 3 {
		t.Fatalf("sustained lateness: complexity %d, want the floor 3", c)
	}
	if c := feed(0, restoreAfter-1); c != 3 {
		t.Fatalf("restored early: %d", c)
	}
	if c := feed(0, 1); c != 4 {
		t.Fatalf("after 10 s on time: complexity %d, want 4", c)
	}
	if c := feed(0, 5*restoreAfter); c != 5 {
		t.Fatalf("long calm: complexity %d, want the configured 5", c)
	}
}

// TestComplexityShedding runs the mixing goroutine on a clock whose ticks
// come 30 ms late: the encoders shed complexity to the floor instead of
// skipping frames, and get it back once ticks are on time again.
func TestComplexityShedding(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		clk := newFakeClock(t0)
		m, err := New(Config{Complexity: 6, MinComplexity: 2}, Params{Clock: clk})
		must(t, err)
		defer m.Close()
		l, err := m.AddLeg("a", newListener(t).sink)
		must(t, err)
		src := newTone(t, 300, 8000)
		m.Start()
		at := time.Duration(0)
		run := func(n int, late time.Duration) {
			for range n {
				at += frameDur
				must(t, l.Push(src.frame(t, t0.Add(at))))
				clk.fire(t0.Add(at + late))
				synctest.Wait()
			}
		}
		run(50, 0)
		if c := m.Stats().Complexity; c != 6 {
			t.Fatalf("on time: complexity %d", c)
		}
		run(4*shedAfter+1, 30*time.Millisecond)
		if st := m.Stats(); st.Complexity != 2 || st.Skipped != 0 {
			t.Fatalf("ticks 30 ms late: complexity %d, skipped %d; want 2, 0", st.Complexity, st.Skipped)
		}
		run(4*restoreAfter+10, 0) // (+ ticks the late ones mixed ahead)
		if c := m.Stats().Complexity; c != 6 {
			t.Fatalf("back on time: complexity %d, want 6", c)
		}
	})
}
