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

// browserTestDir holds the real-browser harness, relative to the repository root.
const browserTestDir = "cmd/confab/browsertest"

// chromiumPath is the Debian chromium binary (the /usr/bin/chromium wrapper
// prints a harmless shell error, so the driver calls this one directly).
const chromiumPath = "/usr/lib/chromium/chromium"

// TestBrowserStockSDK joins a running `confab serve` with the UNMODIFIED
// amazon-chime-sdk-js (npm 3.x) in three headless Chromium instances driven
// by playwright-core (cmd/confab/browsertest/driver.mjs). Each attendee's
// fake microphone plays its own tone (440/660/880 Hz).
//
// It runs the driver's full stage: all three reach audioVideoDidStart;
// presence shows all three (including self) on every page; each hears both
// other tones and its own at least 20 dB weaker (mix-minus, Goertzel on the
// received stream); volume indicators fire; a data message from A reaches B
// and C but not A; stop() ends each session with Left; DeleteMeeting.
// (The driver's older "signaling" stage expected SUBSCRIBE to fail with 503,
// from before the SFU existed; it is kept only for debugging signaling.)
//
// Chromium, node and the npm packages are test dependencies: their absence
// fails the test instead of skipping it.
func TestBrowserStockSDK(t *testing.T) {
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("node not found in PATH (%v): run `make test-deps`", err)
	}
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Fatalf("%s is missing (%v): run `make test-deps`", chromiumPath, err)
	}
	if fi, err := os.Stat(filepath.Join(root, browserTestDir, "node_modules")); err != nil || !fi.IsDir() {
		t.Fatalf("%s/node_modules is missing: run `make test-deps`", browserTestDir)
	}

	stage := "full"

	s := startServer(t, "", noThrottle())

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, browserTestDir+"/driver.mjs")
	cmd.Dir = root
	cmd.Env = append(os.Environ(),
		"CONFAB_ENDPOINT="+s.Endpoint,
		"CONFAB_ACCESS_KEY_ID="+testKeyID,
		"CONFAB_SECRET_ACCESS_KEY="+testSecret,
		"CONFAB_BROWSER_STAGE="+stage,
		"CONFAB_CHROMIUM="+chromiumPath,
		"AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED=true",
		"NO_COLOR=1",
	)
	cmd.WaitDelay = 10 * time.Second // Chromium children may hold the pipe
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
	err = cmd.Start()
	if err == nil {
		err = cmd.Wait()
	}
	_ = pw.Close()
	<-logged
	t.Logf("driver (%s stage) took %s", stage, time.Since(start).Round(time.Millisecond))
	if ctx.Err() != nil {
		t.Fatalf("browser driver did not finish within the time limit: %v", err)
	}
	if err != nil {
		t.Fatalf("browser driver (%s stage) failed: %v (see REPORT above)", stage, err)
	}
}
