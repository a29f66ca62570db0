//go:build !unix

package cluster

import "time"

// processCPUTime is 0 where getrusage does not exist: the node reports no
// CPU load.
func processCPUTime() time.Duration { return 0 }
