package testkit

import (
	"testing"

	"go.uber.org/goleak"
)

// CheckLeaks fails t if goroutines started during it are still running
// once it ended (after its other cleanups: register it first, cleanups run
// last-in first-out), naming each with its stack. goleak retries for a
// while, so goroutines that are just finishing are not reported.
func CheckLeaks(t testing.TB) {
	t.Helper()
	before := goleak.IgnoreCurrent()
	t.Cleanup(func() {
		if err := goleak.Find(before); err != nil {
			t.Errorf("goroutines outlived the test: %v", err)
		}
	})
}
