package cluster

import (
	"testing"
	"time"
)

// The meter reports CPU time over wall time between calls, and 0 when no
// wall time passed.
func TestCPUMeter(t *testing.T) {
	cpu, wall := time.Duration(0), time.Unix(1000, 0)
	meter := cpuMeter(func() time.Duration { return cpu }, func() time.Time { return wall })
	cpu, wall = 3*time.Second, wall.Add(2*time.Second)
	if got := meter(); got != 1.5 {
		t.Errorf("3s of CPU in 2s = %v cores, want 1.5", got)
	}
	cpu += time.Second
	if got := meter(); got != 0 {
		t.Errorf("no wall time: %v, want 0", got)
	}
	wall = wall.Add(4 * time.Second)
	if got := meter(); got != 0 {
		t.Errorf("idle: %v, want 0", got)
	}
}

// ProcessCPU sees this process burn CPU.
func TestProcessCPU(t *testing.T) {
	if processCPUTime() == 0 {
		t.Skip("this platform does not report process CPU time")
	}
	meter := ProcessCPU()
	n := 0
	for start := time.Now(); time.Since(start) < 50*time.Millisecond; {
		n++
	}
	if got := meter(); got <= 0 {
		t.Errorf("after a busy loop (%d turns): %v cores", n, got)
	}
}
