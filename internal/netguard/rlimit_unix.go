//go:build unix

package netguard

import "syscall"

// fileLimit is RLIMIT_NOFILE's soft limit, or 1024 if it cannot be read.
func fileLimit() int {
	var r syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &r); err != nil || r.Cur == 0 {
		return 1024
	}
	if r.Cur > 1<<20 {
		return 1 << 20
	}
	return int(r.Cur)
}
