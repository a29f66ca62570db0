//go:build linux

package turn

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os/exec"
	"regexp"
	"strconv"
	"testing"
	"time"
)

// coturn's tools (Debian package coturn) are the reference TURN client and
// echo peer; see /work/shared/docs/real-clients.md.

func coturnTool(t testing.TB, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s not found (%v): apt-get install -y coturn", name, err)
	}
	return path
}

// freeUDPPort returns a loopback UDP port that was free a moment ago.
func freeUDPPort(t testing.TB) int {
	t.Helper()
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}

// startProcess runs a long-lived command until the test ends.
func startProcess(t testing.TB, path string, args ...string) *exec.Cmd {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, path, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("%s output:\n%s", path, tail(out.Bytes(), 2000))
		}
	})
	return cmd
}

// startCoturnPeer starts turnutils_peer, coturn's UDP echo peer, on
// 127.0.0.1 and waits until it echoes.
func startCoturnPeer(t testing.TB) int {
	t.Helper()
	path := coturnTool(t, "turnutils_peer")
	for attempt := 0; ; attempt++ {
		port := freeUDPPort(t)
		cmd := startProcess(t, path, "-L", "127.0.0.1", "-p", strconv.Itoa(port))
		if echoes(port, 3*time.Second) {
			return port
		}
		_ = cmd.Process.Kill()
		if attempt == 2 {
			t.Fatalf("turnutils_peer on port %d does not echo", port)
		}
	}
}

func echoes(port int, within time.Duration) bool {
	c, err := net.DialUDP("udp4", nil, &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port})
	if err != nil {
		return false
	}
	defer c.Close()
	buf := make([]byte, 64)
	for deadline := time.Now().Add(within); time.Now().Before(deadline); {
		_, _ = c.Write([]byte("ping"))
		_ = c.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
		if n, err := c.Read(buf); err == nil && string(buf[:n]) == "ping" {
			return true
		}
	}
	return false
}

// uclientLoad is one turnutils_uclient run: -m clients (each with an RTP
// and an RTCP allocation), -n messages of -l bytes each, every -z ms.
type uclientLoad struct {
	Clients, Messages, Size, IntervalMS int
}

func (l uclientLoad) String() string {
	return fmt.Sprintf("-m %d -n %d -l %d -z %d", l.Clients, l.Messages, l.Size, l.IntervalMS)
}

// uclientResult is what turnutils_uclient reports.
type uclientResult struct {
	Sessions             int // msz: uclient's sessions (RTP and RTCP count apart)
	Sent, Received, Lost int
	LossPercent          float64
	TransmitSeconds      int
	Output               []byte
}

var (
	reSessions = regexp.MustCompile(`msz=(\d+)`)
	reTotals   = regexp.MustCompile(`start_mclient: tot_send_msgs=(\d+), tot_recv_msgs=(\d+)`)
	reLost     = regexp.MustCompile(`Total lost packets (\d+) \(([\d.]+)%\)`)
	reTransmit = regexp.MustCompile(`Total transmit time is (\d+)`)
)

// runUclient runs turnutils_uclient against the TURN server on 127.0.0.1:port
// with long-term credentials user/pass, relaying to the echo peer.
func runUclient(ctx context.Context, t testing.TB, port int, user, pass string, peerPort int, load uclientLoad) (uclientResult, error) {
	t.Helper()
	path := coturnTool(t, "turnutils_uclient")
	args := []string{
		"-u", user, "-w", pass, "-e", "127.0.0.1", "-r", strconv.Itoa(peerPort), "-p", strconv.Itoa(port),
		"-m", strconv.Itoa(load.Clients), "-n", strconv.Itoa(load.Messages),
		"-l", strconv.Itoa(load.Size), "-z", strconv.Itoa(load.IntervalMS),
		"127.0.0.1", // flags before the server address
	}
	out, err := exec.CommandContext(ctx, path, args...).CombinedOutput()
	res := uclientResult{Output: out}
	if err != nil {
		return res, fmt.Errorf("turnutils_uclient %v: %w", load, err)
	}
	m := reTotals.FindSubmatch(out)
	l := reLost.FindSubmatch(out)
	if m == nil || l == nil {
		return res, fmt.Errorf("turnutils_uclient %v: no totals in its output", load)
	}
	res.Sent, _ = strconv.Atoi(string(m[1]))
	res.Received, _ = strconv.Atoi(string(m[2]))
	res.Lost, _ = strconv.Atoi(string(l[1]))
	res.LossPercent, _ = strconv.ParseFloat(string(l[2]), 64)
	if ms := reSessions.FindSubmatch(out); ms != nil {
		res.Sessions, _ = strconv.Atoi(string(ms[1]))
	}
	if tt := reTransmit.FindSubmatch(out); tt != nil {
		res.TransmitSeconds, _ = strconv.Atoi(string(tt[1]))
	}
	return res, nil
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}

// TestCoturnClient relays coturn's client through the Server, with minted
// credentials, to coturn's echo peer: every message must come back.
func TestCoturnClient(t *testing.T) {
	h := newHarness(t, Config{AllowedPeers: loopbackPeers}, Params{})
	peerPort := startCoturnPeer(t)
	creds := minter(testSecret).Mint("attendee-uclient")
	load := uclientLoad{Clients: 4, Messages: 100, Size: 170, IntervalMS: 5} // ≤ 8 allocations: under the per-attendee cap
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	res, err := runUclient(ctx, t, h.srv.udp[0].LocalAddr().(*net.UDPAddr).Port, creds.Username, creds.Password, peerPort, load)
	if err != nil {
		t.Fatalf("%v\n%s", err, tail(res.Output, 3000))
	}
	want := res.Sessions * load.Messages
	if res.Sessions < load.Clients || res.Sent != want || res.Received != want || res.Lost != 0 {
		t.Fatalf("uclient sent %d, received %d, lost %d (%.2f%%); want %d, %d, 0\n%s",
			res.Sent, res.Received, res.Lost, res.LossPercent, want, want, tail(res.Output, 3000))
	}
	h.eventually(func() bool { return h.metric("confab_turn_relayed_packets_total") >= float64(2*want) })
	if got := h.metric("confab_turn_relayed_packets_total"); got < float64(2*want) {
		t.Errorf("relayed_packets_total = %v, want ≥ %d", got, 2*want)
	}
	t.Logf("uclient %v: %d sent, %d received, 0%% loss", load, res.Sent, res.Received)
}

// TestCoturnClientWrongSecret: coturn's client cannot allocate with
// credentials minted from another secret.
func TestCoturnClientWrongSecret(t *testing.T) {
	h := newHarness(t, Config{AllowedPeers: loopbackPeers}, Params{})
	peerPort := startCoturnPeer(t)
	creds := minter([]byte("some-other-secret")).Mint("attendee-uclient")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	res, err := runUclient(ctx, t, h.srv.udp[0].LocalAddr().(*net.UDPAddr).Port, creds.Username, creds.Password, peerPort,
		uclientLoad{Clients: 1, Messages: 5, Size: 100, IntervalMS: 20})
	if err == nil {
		t.Fatalf("uclient succeeded with a wrong secret:\n%s", tail(res.Output, 3000))
	}
	if !bytes.Contains(res.Output, []byte("Cannot complete Allocation")) {
		t.Errorf("uclient failed otherwise than on Allocate: %v\n%s", err, tail(res.Output, 3000))
	}
	if got := h.refusals(reasonBadPassword); got < 1 {
		t.Errorf("refusals{bad_password} = %v, want ≥ 1", got)
	}
	if got := h.metric("confab_turn_allocations"); got != 0 {
		t.Errorf("allocations = %v, want 0", got)
	}
}
