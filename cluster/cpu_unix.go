//go:build unix

package cluster

import (
	"syscall"
	"time"
)

// processCPUTime is the user and system time this process has used
// (getrusage), 0 when it cannot be read.
func processCPUTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
