//go:build !unix

package datadir

import (
	"errors"
	"os"
)

var errLocked = errors.New("locked")

// lockFile does nothing off unix: bbolt's own file lock still refuses a
// second process, after its open timeout.
func lockFile(*os.File) error { return nil }
