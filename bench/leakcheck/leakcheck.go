// Package leakcheck is a test helper shared by the network tests (sfu,
// signaling/session, bench): it fails a test whose goroutines outlive it,
// so every Start has a Close that really waits.
package leakcheck

import (
	"runtime"
	"testing"
	"time"
)

// Check records the goroutine count now and, when the test ends, fails it if
// more goroutines are still running after grace. Call it first in a test:
// cleanups run last-in first-out, so it then runs after every other cleanup.
func Check(t testing.TB, grace time.Duration) {
	t.Helper()
	base := runtime.NumGoroutine()
	t.Cleanup(func() {
		deadline := time.Now().Add(grace)
		for runtime.NumGoroutine() > base {
			if time.Now().After(deadline) {
				buf := make([]byte, 1<<20)
				t.Errorf("goroutines: %d, want ≤ %d\n%s", runtime.NumGoroutine(), base, buf[:runtime.Stack(buf, true)])
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	})
}
