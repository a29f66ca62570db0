package main

import (
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// turnResult is the JSON `confab bench turn --out` writes.
type turnResult struct {
	Clients, Allocated int
	Sent, Received     uint64
	LossPct            float64
	RelayedPerSecond   float64
	RTTMsP50, RTTMsP99 float64
	ServerCPUPercent   float64
}

// runBenchTURN runs `confab bench turn` with 8 clients × 100 datagrams/s
// for 3 s against server and returns its result.
func runBenchTURN(t *testing.T, args ...string) turnResult {
	t.Helper()
	out := filepath.Join(t.TempDir(), "turn.json")
	args = append([]string{"bench", "turn", "--clients", "8", "--rate", "100", "--duration", "3s", "--out", out}, args...)
	b, err := exec.Command(confabBin, args...).CombinedOutput()
	t.Logf("confab %v:\n%s", args, b)
	if err != nil {
		t.Fatalf("confab bench turn: %v", err)
	}
	raw, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var r turnResult
	if err := json.Unmarshal(raw, &r); err != nil {
		t.Fatal(err)
	}
	return r
}

// checkTURNLoad: every client allocated, the echoes came back (loss under
// 5 % on loopback), twice as many datagrams relayed as echoed.
func checkTURNLoad(t *testing.T, name string, r turnResult) {
	t.Helper()
	if r.Allocated != 8 || r.Sent < 8*100*2 || float64(r.Received) < 0.95*float64(r.Sent) || r.RelayedPerSecond < 2*8*100*0.8 ||
		r.RTTMsP50 <= 0 || r.ServerCPUPercent <= 0 {
		t.Fatalf("%s: %+v", name, r)
	}
}

// TestBenchTURN: `confab bench turn` loads Confab's TURN relay (echo peers
// on 127.0.0.1 allowed by turn.allowed_peers; each client an attendee of a
// meeting the bench creates, its credentials from the TurnControlUrl) and
// coturn's turnserver (use-auth-secret) with the same load, each measured
// with its process's CPU. No figure is asserted: on 2 shared cores the
// generator and the server compete.
func TestBenchTURN(t *testing.T) {
	s := startServer(t, "", "turn:\n  allowed_peers: [\"127.0.0.1\"]\n")
	r := runBenchTURN(t, "--target", s.Endpoint, "--access-key-id", testKeyID, "--secret-access-key", testSecret,
		"--server-pid", strconv.Itoa(s.cmd.Process.Pid))
	checkTURNLoad(t, "confab", r)
	if got := scrapeMetric(t, s, "confab_turn_relayed_packets_total"); got < float64(r.Received)*2 {
		t.Errorf("the server counted %.0f relayed datagrams, the load echoed %d", got, r.Received)
	}

	// coturn, the same load.
	port := freeUDPPortHere(t)
	cmd := exec.Command("/usr/bin/turnserver", "-n", "--listening-ip=127.0.0.1", "--relay-ip=127.0.0.1",
		"--listening-port="+strconv.Itoa(port), "--min-port=50000", "--max-port=59999",
		"--use-auth-secret", "--static-auth-secret=bench-secret", "--realm=confab",
		"--no-tls", "--no-dtls", "--no-cli", "--allow-loopback-peers", "--log-file=/dev/null", "--no-stdout-log")
	if err := cmd.Start(); err != nil {
		t.Fatalf("turnserver (coturn, installed by make test-deps): %v", err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	time.Sleep(500 * time.Millisecond) // it binds its ports
	r = runBenchTURN(t, "--server", "127.0.0.1:"+strconv.Itoa(port), "--secret", "bench-secret",
		"--server-pid", strconv.Itoa(cmd.Process.Pid))
	checkTURNLoad(t, "coturn", r)
}

// freeUDPPortHere returns a UDP port free on 127.0.0.1 now.
func freeUDPPortHere(t *testing.T) int {
	t.Helper()
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}
