package main

import (
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
	node := requireNode(t, jsTestDir)
	open := startServer(t, "", "quotas:\n  api_requests_per_second: 0\n")
	throttled := startServer(t, "", "")
	runNode(t, node, 5*time.Minute, []string{
		"CONFAB_ENDPOINT=" + open.Endpoint,
		"CONFAB_THROTTLED_ENDPOINT=" + throttled.Endpoint,
		"CONFAB_ACCESS_KEY_ID=" + testKeyID,
		"CONFAB_SECRET_ACCESS_KEY=" + testSecret,
	}, nil, "--test", "--test-reporter=spec", jsTestDir+"/")
}
