package cluster

import (
	"sync"
	"time"
)

// ProcessCPU returns a Params.CPU that reports the cores this process used
// since its previous call (user plus system time over wall time; 0 where
// the platform does not say).
func ProcessCPU() func() float64 { return cpuMeter(processCPUTime, time.Now) }

// cpuMeter is ProcessCPU on the given clocks.
func cpuMeter(cpuTime func() time.Duration, now func() time.Time) func() float64 {
	var mu sync.Mutex
	last, lastAt := cpuTime(), now()
	return func() float64 {
		mu.Lock()
		defer mu.Unlock()
		used, at := cpuTime(), now()
		wall := at.Sub(lastAt).Seconds()
		cores := (used - last).Seconds()
		last, lastAt = used, at
		if wall <= 0 {
			return 0
		}
		return cores / wall
	}
}
