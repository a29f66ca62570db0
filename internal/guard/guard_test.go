package guard

import (
	"bytes"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
)

type count struct{ n atomic.Int64 }

func (c *count) Inc() { c.n.Add(1) }

func TestRecoverContainsPanic(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, nil))
	c := &count{}
	var cleaned any
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer Recover(log, c, "test reader", func(v any) { cleaned = v })
		var m map[string]int
		//lint:ignore SA5000 the test needs a runtime panic
		m["x"] = 1 // nil map write: a runtime panic
	}()
	<-done
	if c.n.Load() != 1 {
		t.Fatalf("counter = %d, want 1", c.n.Load())
	}
	if cleaned == nil {
		t.Fatal("cleanup did not run with the panic value")
	}
	if out := buf.String(); !strings.Contains(out, "test reader") || !strings.Contains(out, "guard_test.go") {
		t.Fatalf("log lacks what/stack: %s", out)
	}
}

func TestRecoverNoPanic(t *testing.T) {
	c := &count{}
	ran := false
	func() {
		defer Recover(nil, c, "quiet", func(any) { ran = true })
	}()
	if c.n.Load() != 0 || ran {
		t.Fatal("Recover acted without a panic")
	}
}

func TestRecoverNilCounter(t *testing.T) {
	func() {
		defer Recover(slog.New(slog.NewTextHandler(&bytes.Buffer{}, nil)), nil, "nil counter", nil)
		panic("boom")
	}()
}
