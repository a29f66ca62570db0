package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go/aws"
	"github.com/aws/aws-sdk-go/aws/credentials"
	"github.com/aws/aws-sdk-go/aws/session"
	"github.com/aws/aws-sdk-go/service/chimesdkmeetings"

	"github.com/confab-media/confab/signaling/sigv4"
)

// The end-to-end tests build the real binary once and run `confab serve` on
// 127.0.0.1, then talk to it only over HTTP, as a server application would.

var confabBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "confab-e2e")
	if err != nil {
		panic(err)
	}
	confabBin = filepath.Join(dir, "confab")
	// Tests run the server with the race detector; benchmarks (-bench)
	// without it, so that the CPU figures are the server's own.
	flag.Parse()
	args := []string{"build", "-race", "-o", confabBin, "."}
	if f := flag.Lookup("test.bench"); f != nil && f.Value.String() != "" {
		args = []string{"build", "-o", confabBin, "."}
	}
	out, err := exec.Command("go", args...).CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "build confab: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

const (
	testKeyID  = "AKIDCONFABTEST01"
	testSecret = "confab-test-secret-0123456789abcdef"
)

// server is a running `confab serve`.
type server struct {
	t        testing.TB
	cmd      *exec.Cmd
	Endpoint string // http://127.0.0.1:port
	DataDir  string
	mu       sync.Mutex // guards log
	log      bytes.Buffer
	done     chan struct{}
}

// freePort asks the kernel for an unused loopback port.
func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// startServer runs confab serve with a config file holding yaml (may be
// empty), in dataDir (a fresh one when ""), with the test credentials in env.
func startServer(t testing.TB, dataDir, yaml string, env ...string) *server {
	t.Helper()
	if dataDir == "" {
		dataDir = t.TempDir()
	}
	port := freePort(t)
	cfgPath := filepath.Join(t.TempDir(), "confab.yaml")
	if err := os.WriteFile(cfgPath, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	s := &server{t: t, Endpoint: fmt.Sprintf("http://127.0.0.1:%d", port), DataDir: dataDir, done: make(chan struct{})}
	s.cmd = exec.Command(confabBin, "serve", "--config", cfgPath, "--listen", fmt.Sprintf("127.0.0.1:%d", port), "--data-dir", dataDir)
	// Every server gets its own TURN port (a config or env may still say
	// otherwise: later entries win).
	s.cmd.Env = append(append(os.Environ(), "CONFAB_TURN_LISTEN_UDP=127.0.0.1:0",
		"CONFAB_SIP_LISTEN_UDP=127.0.0.1:0", "CONFAB_SIP_LISTEN_TCP=127.0.0.1:0", "CONFAB_SIP_LISTEN_TLS=127.0.0.1:0"), env...)
	if len(env) == 0 {
		s.cmd.Env = append(s.cmd.Env, "CONFAB_ACCESS_KEY_ID="+testKeyID, "CONFAB_SECRET_ACCESS_KEY="+testSecret)
	}
	pipe, err := s.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		defer close(s.done)
		sc := bufio.NewScanner(pipe)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			s.mu.Lock()
			s.log.WriteString(sc.Text() + "\n")
			s.mu.Unlock()
		}
		_ = s.cmd.Wait()
	}()
	t.Cleanup(s.Stop)
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get(s.Endpoint + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return s
			}
		}
		select {
		case <-s.done:
			t.Fatalf("confab exited during start:\n%s", s.Log())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("confab did not become healthy:\n%s", s.Log())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Log returns what the server has written to stderr so far.
func (s *server) Log() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.log.String()
}

// Stop sends SIGTERM and waits for a clean exit.
func (s *server) Stop() {
	select {
	case <-s.done:
		return
	default:
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(15 * time.Second):
		// SIGQUIT makes the Go runtime print every goroutine's stack: the
		// log then says what shutdown waits on.
		_ = s.cmd.Process.Signal(syscall.SIGQUIT)
		select {
		case <-s.done:
		case <-time.After(5 * time.Second):
			_ = s.cmd.Process.Kill()
			<-s.done
		}
		s.t.Errorf("confab did not stop on SIGTERM; its own goroutines:\n%s\nits log:\n%s", ownStacks(s.Log()), s.Log())
	}
	if code := s.cmd.ProcessState.ExitCode(); code != 0 {
		s.t.Errorf("confab exited with %d:\n%s", code, s.Log())
	}
	if strings.Contains(s.Log(), "DATA RACE") {
		s.t.Errorf("race detected in confab:\n%s", s.Log())
	}
}

// ownStacks picks out of a Go runtime stack dump the goroutines that run
// Confab's code (the rest is pion, net/http and runtime plumbing), so a
// truncated CI log still shows what shutdown waits on.
func ownStacks(log string) string {
	_, dump, ok := strings.Cut(log, "SIGQUIT: quit")
	if !ok {
		return "(no stack dump)"
	}
	var b strings.Builder
	for _, g := range strings.Split(dump, "\n\n") {
		if strings.Contains(g, "confab-media/confab/") && !strings.Contains(g, "created by os/signal") {
			b.WriteString(g)
			b.WriteString("\n\n")
		}
	}
	return b.String()
}

// client returns an AWS SDK v1 Chime SDK Meetings client for s, retries off
// so error tests see the first answer.
func (s *server) client(keyID, secret string) *chimesdkmeetings.ChimeSDKMeetings {
	sess := session.Must(session.NewSession(&aws.Config{
		Region:      aws.String("us-east-1"),
		Endpoint:    aws.String(s.Endpoint),
		Credentials: credentials.NewStaticCredentials(keyID, secret, ""),
		MaxRetries:  aws.Int(0),
	}))
	return chimesdkmeetings.New(sess)
}

// rawCall sends a request the SDKs would never build, signed with the test
// key (unless opts has "no-sign"), and returns status, error type and message.
func rawCall(t *testing.T, s *server, method, path, body string, opts ...string) (int, string, string) {
	t.Helper()
	req, err := http.NewRequest(method, s.Endpoint+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if len(opts) == 0 || opts[0] != "no-sign" {
		creds := sigv4.Credentials{AccessKeyID: testKeyID, SecretAccessKey: testSecret}
		if err := sigv4.Sign(req, []byte(body), creds, "us-east-1", "chime", time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var e struct{ Code, Message, RequestId string }
	_ = json.NewDecoder(resp.Body).Decode(&e)
	if e.Code != "" && (e.Code != resp.Header.Get("X-Amzn-ErrorType") || e.RequestId != resp.Header.Get("X-Amzn-RequestId")) {
		t.Errorf("error body %+v disagrees with headers %v", e, resp.Header)
	}
	return resp.StatusCode, resp.Header.Get("X-Amzn-ErrorType"), e.Message
}

// scrapeMetric sums the samples of a metric on /metrics whose labels contain
// every one of labels ("k=\"v\"").
func scrapeMetric(t testing.TB, s *server, name string, labels ...string) float64 {
	t.Helper()
	resp, err := http.Get(s.Endpoint + "/metrics")
	if err != nil {
		t.Fatalf("GET /metrics: %v", err)
	}
	defer resp.Body.Close()
	var sum float64
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
next:
	for sc.Scan() {
		ln := sc.Text()
		if !strings.HasPrefix(ln, name+"{") && !strings.HasPrefix(ln, name+" ") {
			continue
		}
		for _, l := range labels {
			if !strings.Contains(ln, l) {
				continue next
			}
		}
		v, err := strconv.ParseFloat(ln[strings.LastIndexByte(ln, ' ')+1:], 64)
		if err == nil {
			sum += v
		}
	}
	return sum
}
