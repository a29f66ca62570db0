package main

import (
	"bufio"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// repoRoot is the repository root, from this package's directory.
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// requireNode returns node's path and checks that dir (relative to the
// repository root) has its npm packages installed. A missing dependency fails
// the test: these tests are never skipped.
func requireNode(t *testing.T, dir string) string {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("node not found in PATH (%v): run `make test-deps`", err)
	}
	if fi, err := os.Stat(filepath.Join(repoRoot(t), dir, "node_modules")); err != nil || !fi.IsDir() {
		t.Fatalf("%s/node_modules is missing: run `make test-deps`", dir)
	}
	return node
}

// runNode runs node with args from the repository root, with env added to
// the environment and every output line sent to t.Log, and fails the test
// if it does not exit 0 within limit. On failure it logs extra() first (the
// server's warnings; nil for none), then ends with the output lines that
// name a failed check, so they are the last thing a truncated CI log shows.
func runNode(t *testing.T, node string, limit time.Duration, env []string, extra func() string, args ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, args...)
	cmd.Dir = repoRoot(t)
	cmd.Env = append(append(os.Environ(), "AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED=true", "NO_COLOR=1"), env...)
	cmd.WaitDelay = 10 * time.Second // children (Chromium) may hold the pipe
	pr, pw := io.Pipe()
	cmd.Stdout = pw
	cmd.Stderr = pw
	logged := make(chan struct{})
	var failed []string
	go func() {
		defer close(logged)
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			t.Log(line)
			if isFailedCheck(line) && len(failed) < 40 {
				failed = append(failed, truncateLine(line, 600))
			}
		}
		_, _ = io.Copy(io.Discard, pr) // drain on an over-long line
	}()
	start := time.Now()
	err := cmd.Start()
	if err == nil {
		err = cmd.Wait()
	}
	_ = pw.Close()
	<-logged
	t.Logf("node %v took %s", args, time.Since(start).Round(time.Millisecond))
	if ctx.Err() == nil && err == nil {
		return
	}
	if extra != nil {
		t.Log(extra())
	}
	summary := "failed checks:\n" + strings.Join(failed, "\n")
	if ctx.Err() != nil {
		t.Fatalf("node %v did not finish within %s: %v\n%s", args, limit, err, summary)
	}
	t.Fatalf("node %v failed: %v\n%s", args, err, summary)
}

// isFailedCheck reports whether a line of the browser driver (" FAIL name")
// or of node's spec test reporter ("✖ name") names a failed check.
func isFailedCheck(line string) bool {
	return strings.Contains(line, "] FAIL ") || strings.Contains(line, "driver: ") ||
		strings.HasPrefix(strings.TrimSpace(line), "✖")
}

// truncateLine cuts line to at most n bytes, marking the cut.
func truncateLine(line string, n int) string {
	if len(line) <= n {
		return line
	}
	return line[:n] + "…"
}
