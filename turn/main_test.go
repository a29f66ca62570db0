//go:build linux

package turn

import (
	"os"
	"runtime"
	"testing"
)

// TestMain lets the comparison benchmark run a Server in a child process
// (this test binary re-executed with benchChildEnv set), so its CPU time can
// be read from /proc like coturn's.
func TestMain(m *testing.M) {
	if os.Getenv(benchChildEnv) != "" {
		os.Exit(runBenchChild())
	}
	os.Exit(m.Run())
}

func runtimeCPUs() int { return runtime.NumCPU() }
