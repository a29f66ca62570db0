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

// jsTestDir holds the JavaScript client tests, relative to the repository root.
const jsTestDir = "signaling/api/jstest"

// TestJSClientSDK runs the node:test suite in signaling/api/jstest, which
// drives two running servers with the unmodified AWS SDK for JavaScript v3
// (@aws-sdk/client-chime-sdk-meetings): one with throttling off for the
// functional tests and one with the default quotas for the throttling test.
// Node and the npm packages are test dependencies: their absence fails the
// test instead of skipping it.
func TestJSClientSDK(t *testing.T) {
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("node not found in PATH (%v): run `make test-deps`", err)
	}
	if fi, err := os.Stat(filepath.Join(root, jsTestDir, "node_modules")); err != nil || !fi.IsDir() {
		t.Fatalf("%s/node_modules is missing: run `make test-deps`", jsTestDir)
	}

	open := startServer(t, "", "quotas:\n  api_requests_per_second: 0\n")
	throttled := startServer(t, "", "")

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "--test", "--test-reporter=spec", jsTestDir+"/")
	cmd.Dir = root
	cmd.Env = append(os.Environ(),
		"CONFAB_ENDPOINT="+open.Endpoint,
		"CONFAB_THROTTLED_ENDPOINT="+throttled.Endpoint,
		"CONFAB_ACCESS_KEY_ID="+testKeyID,
		"CONFAB_SECRET_ACCESS_KEY="+testSecret,
		"AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED=true",
		"NO_COLOR=1",
	)
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
	err = cmd.Start()
	if err == nil {
		err = cmd.Wait()
	}
	_ = pw.Close()
	<-logged
	if ctx.Err() != nil {
		t.Fatalf("node --test did not finish within the time limit: %v", err)
	}
	if err != nil {
		t.Fatalf("node --test %s failed: %v", jsTestDir, err)
	}
}
