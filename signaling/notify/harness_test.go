package notify

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/confab-media/confab/internal/testkit"
	"github.com/confab-media/confab/signaling/events"
)

// ---- goaws: a real SQS/SNS server (github.com/Admiral-Piett/goaws) ----

const (
	goawsModule  = "github.com/Admiral-Piett/goaws/app/cmd"
	goawsVersion = "v0.5.4" // @latest is v0.4.4, which lacks the JSON protocol of the v2 SQS client
	testAccount  = "123456789012"
	testRegion   = "us-east-1"
)

// goawsBinary returns the goaws binary, installed once per cache dir
// ($CONFAB_TOOLS_DIR; testkit.GoInstalled).
func goawsBinary(tb testing.TB) string {
	tb.Helper()
	return testkit.GoInstalled(tb, goawsModule, goawsVersion, "cmd")
}

// goawsTopic is an SNS topic with queue subscriptions.
type goawsTopic struct {
	Name string
	Subs []goawsSub
}

type goawsSub struct {
	Queue string
	Raw   bool
}

// goaws is one goaws process. It binds 0.0.0.0:<port> (goaws cannot bind
// loopback only); it lives only as long as the test.
type goaws struct {
	tb   testing.TB
	bin  string
	conf string
	port int
	URL  string

	mu     sync.Mutex // guards cmd, exited
	cmd    *exec.Cmd
	exited chan struct{} // closed when cmd has exited
}

func freePort(tb testing.TB) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// startGoaws runs goaws with its own configuration: the given queues and
// topics in region us-east-1, account 123456789012. Stopped at cleanup.
func startGoaws(tb testing.TB, queues []string, topics []goawsTopic) *goaws {
	tb.Helper()
	g := &goaws{tb: tb, bin: goawsBinary(tb), port: freePort(tb)}
	g.URL = fmt.Sprintf("http://127.0.0.1:%d", g.port)
	var b strings.Builder
	fmt.Fprintf(&b, "Local:\n  Host: 127.0.0.1\n  Port: \"%d\"\n  Region: %s\n  AccountId: \"%s\"\n", g.port, testRegion, testAccount)
	b.WriteString("  LogToFile: false\n  EnableDuplicates: false\n")
	b.WriteString("  QueueAttributeDefaults:\n    VisibilityTimeout: 300\n    ReceiveMessageWaitTimeSeconds: 0\n    MaximumMessageSize: 262144\n")
	b.WriteString("  Queues:\n")
	for _, q := range queues {
		fmt.Fprintf(&b, "    - Name: %s\n", q)
	}
	b.WriteString("  Topics:\n")
	for _, t := range topics {
		fmt.Fprintf(&b, "    - Name: %s\n      Subscriptions:\n", t.Name)
		for _, s := range t.Subs {
			fmt.Fprintf(&b, "        - QueueName: %s\n          Raw: %v\n", s.Queue, s.Raw)
		}
	}
	b.WriteString("  RandomLatency:\n    Min: 0\n    Max: 0\n")
	g.conf = filepath.Join(tb.TempDir(), "goaws.yaml")
	if err := os.WriteFile(g.conf, []byte(b.String()), 0o600); err != nil {
		tb.Fatal(err)
	}
	g.Start()
	tb.Cleanup(g.Stop)
	return g
}

// Start runs goaws on its port (again, after Stop: with empty queues).
func (g *goaws) Start() {
	g.tb.Helper()
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.cmd != nil {
		return
	}
	var lastErr error
	for try := 0; try < 50; try++ { // the port may linger briefly after Stop
		out := &bytes.Buffer{}
		cmd := exec.Command(g.bin, "-config", g.conf, "-loglevel", "error", "Local")
		cmd.Stdout, cmd.Stderr = out, out
		if err := cmd.Start(); err != nil {
			g.tb.Fatalf("start goaws: %v", err)
		}
		exited := make(chan struct{})
		go func() { _ = cmd.Wait(); close(exited) }()
		err := waitHealthy(g.URL, exited)
		if err == nil {
			g.cmd, g.exited = cmd, exited
			return
		}
		_ = cmd.Process.Kill()
		<-exited
		lastErr = fmt.Errorf("%v; output:\n%s", err, out)
		time.Sleep(100 * time.Millisecond)
	}
	g.tb.Fatalf("goaws did not come up on %s: %v", g.URL, lastErr)
}

func waitHealthy(url string, exited <-chan struct{}) error {
	c := &http.Client{Timeout: 500 * time.Millisecond}
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			return fmt.Errorf("goaws exited")
		default:
		}
		if resp, err := c.Get(url + "/health"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("no healthy answer within 10 s")
}

// Stop kills goaws; its queues are lost (goaws keeps them in memory).
func (g *goaws) Stop() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.cmd == nil {
		return
	}
	_ = g.cmd.Process.Kill()
	<-g.exited
	g.cmd, g.exited = nil, nil
}

// endpoint is the notify Endpoint serving every ARN through this goaws.
func (g *goaws) endpoint() Endpoint {
	return Endpoint{URL: g.URL, Credentials: Credentials{AccessKeyID: "test", SecretAccessKey: "test"}}
}

func (g *goaws) access() AWSAccess {
	return AWSAccess{Region: testRegion, EndpointURL: g.URL, Credentials: Credentials{AccessKeyID: "test", SecretAccessKey: "test"}}
}

func (g *goaws) queueURL(name string) string { return g.URL + "/" + testAccount + "/" + name }

func queueARN(name string) string {
	return "arn:aws:sqs:" + testRegion + ":" + testAccount + ":" + name
}
func topicARN(name string) string {
	return "arn:aws:sns:" + testRegion + ":" + testAccount + ":" + name
}

func (g *goaws) sqsClient() *sqs.Client {
	return sqs.NewFromConfig(aws.Config{
		Region:      testRegion,
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", ""),
	}, func(o *sqs.Options) { o.BaseEndpoint = aws.String(g.URL) })
}

// receive collects message bodies from a queue until want have arrived or
// the timeout passes; it returns what it got and deletes it from the queue.
// Received messages stay hidden only 2 s: goaws now and then marks a batch
// received without returning it, and it then shows up again.
func (g *goaws) receive(tb testing.TB, queue string, want int, timeout time.Duration) []string {
	tb.Helper()
	c := g.sqsClient()
	url := aws.String(g.queueURL(queue))
	var got []string
	deadline := time.Now().Add(timeout)
	for len(got) < want && time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		out, err := c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: url, MaxNumberOfMessages: 10, VisibilityTimeout: 2})
		if err != nil || len(out.Messages) == 0 {
			cancel()
			time.Sleep(20 * time.Millisecond)
			continue
		}
		del := &sqs.DeleteMessageBatchInput{QueueUrl: url}
		for i, m := range out.Messages {
			got = append(got, aws.ToString(m.Body))
			del.Entries = append(del.Entries, sqstypes.DeleteMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), ReceiptHandle: m.ReceiptHandle})
		}
		_, _ = c.DeleteMessageBatch(ctx, del)
		cancel()
	}
	return got
}

// ---- fake clock ----

// fakeClock is a manual clock.Clock: After channels fire when Advance
// passes their deadline. Every After duration is also reported on afters,
// which the retry tests wait on (internal/fakeclock has no such report).
type fakeClock struct {
	mu      sync.Mutex // guards now and waiters
	now     time.Time
	waiters []fakeWaiter
	afters  chan time.Duration
}

type fakeWaiter struct {
	at time.Time
	ch chan time.Time
}

func newFakeClock(t time.Time) *fakeClock {
	return &fakeClock{now: t, afters: make(chan time.Duration, 1024)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Tick is never used by notify: it has no tickers.
func (c *fakeClock) Tick(time.Duration) (<-chan time.Time, func()) { return nil, func() {} }

func (c *fakeClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch := make(chan time.Time, 1)
	if d <= 0 {
		ch <- c.now
	} else {
		c.waiters = append(c.waiters, fakeWaiter{c.now.Add(d), ch})
	}
	select {
	case c.afters <- d:
	default:
	}
	return ch
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	kept := c.waiters[:0]
	for _, w := range c.waiters {
		if !w.at.After(c.now) {
			w.ch <- c.now
		} else {
			kept = append(kept, w)
		}
	}
	c.waiters = kept
}

// ---- service and events ----

// testLogger writes the service's log to the test log.
func testLogger(tb testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(tbWriter{tb}, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

type tbWriter struct{ tb testing.TB }

func (w tbWriter) Write(p []byte) (int, error) {
	w.tb.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// fastRetry is a retry policy for tests on real time.
var fastRetry = RetryPolicy{InitialBackoff: 20 * time.Millisecond, MaxBackoff: 200 * time.Millisecond}

// testService opens a Service; it is closed at cleanup (if still open) and
// its goroutines checked for leaks.
func testService(tb testing.TB, cfg Config, p Params) *Service {
	tb.Helper()
	if cfg.Dir == "" {
		cfg.Dir = tb.TempDir()
	}
	if cfg.Retry == (RetryPolicy{}) {
		cfg.Retry = fastRetry
	}
	if p.Log == nil {
		p.Log = testLogger(tb)
	}
	if p.Registerer == nil {
		p.Registerer = prometheus.NewRegistry()
	}
	s, err := New(cfg, p)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if !s.ob.isClosed() {
			if err := s.Close(); err != nil {
				tb.Error(err)
			}
		}
		checkNoGoroutines(tb)
	})
	return s
}

// checkNoGoroutines fails if a worker or writer goroutine outlived Close.
func checkNoGoroutines(tb testing.TB) {
	tb.Helper()
	var stacks string
	for i := 0; i < 100; i++ {
		buf := make([]byte, 1<<20)
		stacks = string(buf[:runtime.Stack(buf, true)])
		if !strings.Contains(stacks, "notify.(*worker).run") && !strings.Contains(stacks, "notify.(*writer).writeLoop") {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	tb.Errorf("notify goroutines still running after Close:\n%s", stacks)
}

const testMeeting = "9a7f3c2e-1b4d-4e8f-a6c5-0d2b7e9f1a3c"

// mkEvent builds an event of the test meeting.
func mkEvent(t events.Type, meetingID, attendee string) events.Event {
	e := events.New(t, time.Now(), testAccount, testRegion)
	e.Detail.MeetingID = meetingID
	e.Detail.ExternalMeetingID = "ext-" + meetingID[:8]
	if attendee != "" {
		e.Detail.AttendeeID = attendee
		e.Detail.ExternalUserID = "user-" + attendee[:8]
	}
	switch t {
	case events.AttendeeJoined, events.AttendeeLeft, events.AttendeeDropped:
		e.Detail.NetworkType = "Voip"
	}
	return e
}

// lifecycle is a whole meeting: start, two attendees join, one shares
// video, both leave, the meeting ends, and a drop trails the end.
func lifecycle(meetingID string) []events.Event {
	a1, a2 := "1111aaaa-0000-4000-8000-000000000001", "2222bbbb-0000-4000-8000-000000000002"
	caps := mkEvent(events.AttendeeCapabilitiesUpdated, meetingID, a2)
	caps.Detail.Success = "1"
	caps.Detail.AttendeeCapabilities = &events.Capabilities{Audio: "SendReceive", Video: "None", Content: "None"}
	return []events.Event{
		mkEvent(events.MeetingStarted, meetingID, ""),
		mkEvent(events.AttendeeAdded, meetingID, a1),
		mkEvent(events.AttendeeAdded, meetingID, a2),
		mkEvent(events.AttendeeJoined, meetingID, a1),
		mkEvent(events.AttendeeJoined, meetingID, a2),
		mkEvent(events.AttendeeVideoStarted, meetingID, a1),
		caps,
		mkEvent(events.AttendeeVideoStopped, meetingID, a1),
		mkEvent(events.AttendeeLeft, meetingID, a2),
		mkEvent(events.AttendeeDeleted, meetingID, a2),
		mkEvent(events.MeetingEnded, meetingID, ""),
		mkEvent(events.AttendeeDropped, meetingID, a1), // after the end: within MeetingGrace
	}
}

// waitFor polls cond until it holds or the timeout passes.
func waitFor(tb testing.TB, timeout time.Duration, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// queued is the total outbox depth.
func (s *Service) queued() int { return s.Pending() }
