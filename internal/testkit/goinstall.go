package testkit

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// GoInstalled returns the binary `go install module@version` builds (named
// bin, the package directory's name), installing it once into a cache
// directory shared by test runs ($CONFAB_TOOLS_DIR, else the user cache).
// A failure fails the test with the command to run by hand: the tools
// these tests drive (goaws, pebble) are test dependencies, never skipped.
func GoInstalled(tb testing.TB, module, version, bin string) string {
	tb.Helper()
	root := os.Getenv("CONFAB_TOOLS_DIR")
	if root == "" {
		cache, err := os.UserCacheDir()
		if err != nil {
			cache = os.TempDir()
		}
		root = filepath.Join(cache, "confab")
	}
	dir := filepath.Join(root, strings.NewReplacer("/", "_", "@", "_").Replace(module)+"-"+version)
	path := filepath.Join(dir, bin)
	if fi, err := os.Stat(path); err == nil && fi.Mode().IsRegular() {
		return path
	}
	if err := goInstall(dir, module, version, bin, path); err != nil {
		tb.Fatalf("%s@%s (a tool these tests need) could not be installed: %v\ninstall it by hand, then re-run:\n\tGOBIN=%s go install %s@%s",
			module, version, err, dir, module, version)
	}
	return path
}

func goInstall(dir, module, version, bin, path string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(dir, "install-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	goTool, err := exec.LookPath("go")
	if err != nil {
		goTool = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	cmd := exec.Command(goTool, "install", module+"@"+version)
	cmd.Env = append(os.Environ(), "GOBIN="+tmp, "GOFLAGS=-buildvcs=false")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%v\n%s", err, out)
	}
	// Rename is atomic: concurrent test processes never see half a binary.
	return os.Rename(filepath.Join(tmp, bin), path)
}
