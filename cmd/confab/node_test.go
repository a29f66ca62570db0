package main

import (
	"bufio"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
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
// if it does not exit 0 within limit.
func runNode(t *testing.T, node string, limit time.Duration, env []string, args ...string) {
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
	go func() {
		defer close(logged)
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			t.Log(sc.Text())
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
	if ctx.Err() != nil {
		t.Fatalf("node %v did not finish within %s: %v", args, limit, err)
	}
	if err != nil {
		t.Fatalf("node %v failed: %v (see the output above)", args, err)
	}
}
