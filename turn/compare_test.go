//go:build linux

package turn

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"testing"
	"text/tabwriter"
	"time"

	"github.com/pion/stun/v3"
)

// The coturn comparison: the same turnutils_uclient loads through coturn's
// turnserver and through this Server, each in its own process.
//
//	CONFAB_TURN_COMPARE=1 go test -run TestCompareCoturn -v -timeout 30m ./turn/
//
// CONFAB_TURN_COMPARE_LOADS overrides the loads: "m,n,l,z;m,n,l,z;…"
// (uclient's -m -n -l -z); CONFAB_TURN_COMPARE_RUNS repeats the whole
// comparison (servers alternating); CONFAB_TURN_SOCKETS sets Confab's
// UDPSockets (default 2).

const (
	benchChildEnv  = "CONFAB_TURN_BENCH_CHILD"
	benchSecret    = "confab-bench-secret"
	benchRealm     = "confab"
	benchUser      = "bench"
	benchPortMin   = 50000
	benchPortMax   = 59999
	clockTicksPerS = 100 // USER_HZ on Linux
)

var defaultCompareLoads = []uclientLoad{
	{Clients: 50, Messages: 2000, Size: 170, IntervalMS: 1},
	{Clients: 50, Messages: 6000, Size: 170, IntervalMS: 0},
	{Clients: 100, Messages: 4000, Size: 170, IntervalMS: 0},
}

// runBenchChild is the child process: a Server on 127.0.0.1:0 until stdin
// closes.
func runBenchChild() int {
	sockets, _ := strconv.Atoi(os.Getenv("CONFAB_TURN_BENCH_SOCKETS"))
	s, err := New(Config{
		Realm:                 benchRealm,
		ListenUDP:             "127.0.0.1:0",
		DisableTCP:            true,
		UDPSockets:            sockets,
		RelayPortMin:          benchPortMin,
		RelayPortMax:          benchPortMax,
		AllowedPeers:          loopbackPeers,
		MaxAllocationsPerUser: 1000,
	}, Params{Secret: []byte(benchSecret)})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if path := os.Getenv("CONFAB_TURN_BENCH_CPUPROFILE"); path != "" {
		f, err := os.Create(path)
		if err == nil && pprof.StartCPUProfile(f) == nil {
			defer f.Close()
			defer pprof.StopCPUProfile()
		}
	}
	udp, _, _ := s.Addrs()
	fmt.Printf("ready %d\n", udp.(*net.UDPAddr).Port)
	_, _ = io.Copy(io.Discard, os.Stdin)
	if err := s.Close(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// benchServer is a TURN server process under test.
type benchServer struct {
	name string
	pid  int
	port int
	stop func()
}

func startCoturnServer(t *testing.T) benchServer {
	t.Helper()
	path := coturnTool(t, "turnserver")
	port := freeUDPPort(t)
	cmd := startProcess(t, path, "-n", "--listening-ip=127.0.0.1", "--relay-ip=127.0.0.1",
		"--listening-port="+strconv.Itoa(port),
		"--min-port="+strconv.Itoa(benchPortMin), "--max-port="+strconv.Itoa(benchPortMax),
		"--use-auth-secret", "--static-auth-secret="+benchSecret, "--realm="+benchRealm,
		"--no-tls", "--no-dtls", "--no-cli", "--allow-loopback-peers", "--log-file=/dev/null", "--no-stdout-log")
	if !stunAnswers(port, 10*time.Second) {
		t.Fatal("turnserver does not answer STUN")
	}
	return benchServer{name: "coturn", pid: cmd.Process.Pid, port: port, stop: func() { _ = cmd.Process.Kill() }}
}

func startConfabServer(t *testing.T, sockets int) benchServer {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), benchChildEnv+"=1", "CONFAB_TURN_BENCH_SOCKETS="+strconv.Itoa(sockets))
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	stop := func() {
		once.Do(func() {
			stdin.Close()
			if err := cmd.Wait(); err != nil {
				t.Errorf("confab child: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	line, err := bufio.NewReader(stdout).ReadString('\n')
	var port int
	if _, serr := fmt.Sscanf(line, "ready %d", &port); err != nil || serr != nil {
		t.Fatalf("confab child: %q %v %v", line, err, serr)
	}
	if !stunAnswers(port, 10*time.Second) {
		t.Fatal("confab child does not answer STUN")
	}
	return benchServer{name: fmt.Sprintf("confab (%d sockets)", sockets), pid: cmd.Process.Pid, port: port, stop: stop}
}

// stunAnswers sends Binding requests until one is answered.
func stunAnswers(port int, within time.Duration) bool {
	c, err := net.DialUDP("udp4", nil, &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port})
	if err != nil {
		return false
	}
	defer c.Close()
	req := stun.MustBuild(stun.TransactionID, stun.BindingRequest)
	buf := make([]byte, 1500)
	for deadline := time.Now().Add(within); time.Now().Before(deadline); {
		_, _ = c.Write(req.Raw)
		_ = c.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
		if n, err := c.Read(buf); err == nil && stun.IsMessage(buf[:n]) {
			return true
		}
	}
	return false
}

// cpuSeconds is a process's user+system CPU time (/proc/<pid>/stat fields
// 14 and 15).
func cpuSeconds(t *testing.T, pid int) float64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Fatal(err)
	}
	// Fields after the parenthesised command name, which may hold spaces.
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
	ut, _ := strconv.ParseFloat(f[11], 64)
	st, _ := strconv.ParseFloat(f[12], 64)
	return (ut + st) / clockTicksPerS
}

// udpCounters reads the namespace's UDP InDatagrams and RcvbufErrors.
func udpCounters(t *testing.T) (in, rcvbufErrors uint64) {
	t.Helper()
	b, err := os.ReadFile("/proc/net/snmp")
	if err != nil {
		t.Fatal(err)
	}
	var names, values []string
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "Udp: ") {
			if names == nil {
				names = strings.Fields(line)
			} else {
				values = strings.Fields(line)
			}
		}
	}
	for i := range names {
		if i < len(values) {
			v, _ := strconv.ParseUint(values[i], 10, 64)
			switch names[i] {
			case "InDatagrams":
				in = v
			case "RcvbufErrors":
				rcvbufErrors = v
			}
		}
	}
	return in, rcvbufErrors
}

// activeWindow samples InDatagrams every 10 ms until stop closes and returns
// how long datagrams flowed at more than a trickle (the relaying phase,
// without uclient's connect and drain pauses).
func activeWindow(t *testing.T, stop <-chan struct{}) <-chan time.Duration {
	out := make(chan time.Duration, 1)
	go func() {
		const every = 10 * time.Millisecond
		tick := time.NewTicker(every)
		defer tick.Stop()
		prev, _ := udpCounters(t)
		var first, last time.Time
		for {
			select {
			case <-stop:
				if first.IsZero() {
					out <- 0
				} else {
					out <- last.Sub(first) + every
				}
				return
			case now := <-tick.C:
				cur, _ := udpCounters(t)
				if cur-prev > 20 { // > 2000 datagrams/s
					if first.IsZero() {
						first = now.Add(-every)
					}
					last = now
				}
				prev = cur
			}
		}
	}()
	return out
}

type compareRow struct {
	server       string
	load         uclientLoad
	res          uclientResult
	window       time.Duration
	cpu          float64
	rcvbufErrors uint64
}

func (r compareRow) relayed() int { return r.res.Sent + r.res.Received } // each way through the server

func (r compareRow) rate() float64 {
	if r.window <= 0 {
		return 0
	}
	return float64(r.relayed()) / r.window.Seconds()
}

func (r compareRow) cpuPerMillion() float64 { return r.cpu / (float64(r.relayed()) / 1e6) }

func TestCompareCoturn(t *testing.T) {
	if os.Getenv("CONFAB_TURN_COMPARE") == "" {
		t.Skip("set CONFAB_TURN_COMPARE=1 to compare with coturn (minutes)")
	}
	loads := defaultCompareLoads
	if spec := os.Getenv("CONFAB_TURN_COMPARE_LOADS"); spec != "" {
		loads = nil
		for _, l := range strings.Split(spec, ";") {
			var u uclientLoad
			if _, err := fmt.Sscanf(l, "%d,%d,%d,%d", &u.Clients, &u.Messages, &u.Size, &u.IntervalMS); err != nil {
				t.Fatalf("CONFAB_TURN_COMPARE_LOADS %q: %v", l, err)
			}
			loads = append(loads, u)
		}
	}
	sockets, _ := strconv.Atoi(os.Getenv("CONFAB_TURN_SOCKETS"))
	if sockets <= 0 {
		sockets = 2
	}
	peerPort := startCoturnPeer(t)
	creds := NewMinter([]byte(benchSecret), time.Hour, nil, nil).Mint(benchUser)

	runs, _ := strconv.Atoi(os.Getenv("CONFAB_TURN_COMPARE_RUNS"))
	var rows []compareRow
	for range max(runs, 1) {
		rows = append(rows, compareOnce(t, loads, sockets, peerPort, creds)...)
	}
	printComparison(t, rows)
}

// compareOnce runs every load through coturn, then through Confab.
func compareOnce(t *testing.T, loads []uclientLoad, sockets, peerPort int, creds Credentials) []compareRow {
	var rows []compareRow
	for _, start := range []func() benchServer{
		func() benchServer { return startCoturnServer(t) },
		func() benchServer { return startConfabServer(t, sockets) },
	} {
		srv := start()
		for _, load := range loads {
			stop := make(chan struct{})
			window := activeWindow(t, stop)
			_, errs0 := udpCounters(t)
			cpu0 := cpuSeconds(t, srv.pid)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
			res, err := runUclient(ctx, t, srv.port, creds.Username, creds.Password, peerPort, load)
			cancel()
			cpu1 := cpuSeconds(t, srv.pid)
			_, errs1 := udpCounters(t)
			close(stop)
			if err != nil {
				t.Fatalf("%s: %v\n%s", srv.name, err, tail(res.Output, 3000))
			}
			row := compareRow{server: srv.name, load: load, res: res, window: <-window, cpu: cpu1 - cpu0, rcvbufErrors: errs1 - errs0}
			rows = append(rows, row)
			t.Logf("%s %v: %d/%d, %.2f%% loss, %.0f relayed/s, %.2f CPU s/Mpkt",
				srv.name, load, res.Received, res.Sent, res.LossPercent, row.rate(), row.cpuPerMillion())
			time.Sleep(2 * time.Second) // let stragglers drain before the next load
		}
		srv.stop()
	}
	return rows
}

func printComparison(t *testing.T, rows []compareRow) {
	var b strings.Builder
	w := tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(w, "server\tuclient load\tsent\treceived\tloss %\trelayed pkts\tactive s\trelayed pkts/s\tserver CPU s\tCPU s / Mpkt\tUDP rcvbuf drops\t")
	for _, r := range rows {
		fmt.Fprintf(w, "%s\t%v\t%d\t%d\t%.3f\t%d\t%.2f\t%.0f\t%.2f\t%.2f\t%d\t\n",
			r.server, r.load, r.res.Sent, r.res.Received, r.res.LossPercent, r.relayed(),
			r.window.Seconds(), r.rate(), r.cpu, r.cpuPerMillion(), r.rcvbufErrors)
	}
	w.Flush()
	t.Logf("turnutils_uclient (same load each), %d cores; relayed = sent + received datagrams; "+
		"active s = time UDP datagrams flowed (/proc/net/snmp)\n%s", runtimeCPUs(), b.String())
}
