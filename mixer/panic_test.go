package mixer

import (
	"sync/atomic"
	"testing"
	"time"
)

type panicCount struct{ n atomic.Int64 }

func (c *panicCount) Inc() { c.n.Add(1) }

// TestRunRecoversPanic: a panic in the mixing goroutine (here from a sink;
// in production it would come from decoding remote Opus) is contained:
// counted, reported through OnPanic once, and Close still returns. Before
// the guard it killed the process.
func TestRunRecoversPanic(t *testing.T) {
	clk := newFakeClock(t0)
	c := &panicCount{}
	failed := make(chan struct{}, 2)
	m, err := New(Config{}, Params{Clock: clk, Panics: c, OnPanic: func() { failed <- struct{}{} }})
	must(t, err)
	if _, err := m.AddLeg("bad", func([]byte, uint32) { panic("sink exploded") }); err != nil {
		t.Fatal(err)
	}
	m.Start()
	clk.fire(t0.Add(frameDur))
	select {
	case <-failed:
	case <-time.After(5 * time.Second):
		t.Fatal("OnPanic not called")
	}
	if c.n.Load() != 1 {
		t.Errorf("panics counted %d, want 1", c.n.Load())
	}
	done := make(chan struct{})
	go func() { m.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Close hangs after a contained panic")
	}
}
