package notify

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.yaml.in/yaml/v3"

	"github.com/confab-media/confab/signaling/events"
)

func TestResolver(t *testing.T) {
	r, err := NewResolver([]Endpoint{
		{Service: "sqs", Region: "us-east-1", URL: "http://a.internal:4100/"},
		{Account: "111111111111", URL: "http://b.internal"},
		{Region: "eu-west-1"},
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		arn     string
		wantURL string // endpoint URL chosen ("" = AWS public)
		err     error
	}{
		{"arn:aws:sqs:us-east-1:999999999999:q", "http://a.internal:4100/", nil},
		{"arn:aws:sqs:us-east-1:111111111111:q", "http://a.internal:4100/", nil}, // 2 fields beat 1
		{"arn:aws:sns:us-east-1:111111111111:t", "http://b.internal", nil},
		{"arn:aws:lambda:eu-west-1:5:function:f", "", nil},
		{"arn:aws:lambda:eu-west-1:5:function:f:prod", "", nil},
		{"arn:aws:sns:ap-south-1:5:t", "", ErrNoEndpoint},
		{"arn:aws:s3:us-east-1:5:bucket", "", ErrInvalidARN},
		{"arn:aws:sqs:us-east-1:1:q q", "", ErrInvalidARN},
		{"arn:aws:sqs:us-east-1:1", "", ErrInvalidARN},
		{"arn:aws:sqs:us-east-1:1:a/b", "", ErrInvalidARN},
		{"arn:aws:lambda:eu-west-1:5:layer:x", "", ErrInvalidARN},
		{"not-an-arn", "", ErrInvalidARN},
	} {
		_, ep, err := r.resolve(tc.arn)
		if !errors.Is(err, tc.err) || (tc.err == nil) != (err == nil) {
			t.Errorf("%s: err %v, want %v", tc.arn, err, tc.err)
			continue
		}
		if err == nil && ep.URL != tc.wantURL {
			t.Errorf("%s: endpoint %q, want %q", tc.arn, ep.URL, tc.wantURL)
		}
		if r.Check(tc.arn) != nil != (tc.err != nil) {
			t.Errorf("%s: Check disagrees with resolve", tc.arn)
		}
	}
	a, ep, _ := r.resolve("arn:aws:sqs:us-east-1:999999999999:q")
	if u := sqsQueueURL(a, ep); u != "http://a.internal:4100/999999999999/q" {
		t.Errorf("queue URL %s", u)
	}
	a, ep, _ = r.resolve("arn:aws:sqs:eu-west-1:5:jobs.fifo")
	if u := sqsQueueURL(a, ep); u != "https://sqs.eu-west-1.amazonaws.com/5/jobs.fifo" {
		t.Errorf("queue URL %s", u)
	}
	a.partition = "aws-cn"
	if u := sqsQueueURL(a, ep); u != "https://sqs.eu-west-1.amazonaws.com.cn/5/jobs.fifo" {
		t.Errorf("queue URL %s", u)
	}

	if err := r.CheckTargets(MeetingTargets{SqsQueueArn: "arn:aws:sns:us-east-1:1:t"}); !errors.Is(err, ErrInvalidARN) {
		t.Errorf("SNS ARN as SqsQueueArn: %v", err)
	}
	if err := r.CheckTargets(MeetingTargets{SnsTopicArn: "arn:aws:sns:ap-south-1:1:t"}); !errors.Is(err, ErrNoEndpoint) ||
		err.Error()[:len("SnsTopicArn: ")] != "SnsTopicArn: " {
		t.Errorf("unserved SnsTopicArn: %v", err)
	}
	if err := r.CheckTargets(MeetingTargets{SqsQueueArn: "arn:aws:sqs:us-east-1:1:q", LambdaFunctionArn: "arn:aws:lambda:eu-west-1:5:function:f"}); err != nil {
		t.Errorf("valid targets: %v", err)
	}
	if _, err := NewResolver([]Endpoint{{Service: "s3"}}); !errors.Is(err, ErrInvalidConfig) {
		t.Errorf("bad endpoint service: %v", err)
	}
	empty, _ := NewResolver(nil)
	if err := empty.Check("arn:aws:sqs:us-east-1:1:q"); !errors.Is(err, ErrNoEndpoint) {
		t.Errorf("no endpoints: %v", err)
	}
}

func TestConfigValidation(t *testing.T) {
	good := webhookHook("h", "https://example.invalid/hook")
	for name, c := range map[string]Config{
		"no dir":           {},
		"duplicate hooks":  {Dir: "x", Hooks: []Hook{good, good}},
		"bad endpoint":     {Dir: "x", Endpoints: []Endpoint{{Service: "dynamodb"}}},
		"bad DLQ":          {Dir: "x", DLQ: &SQSTarget{QueueURL: "nope"}},
		"backoff":          {Dir: "x", Retry: RetryPolicy{InitialBackoff: time.Minute, MaxBackoff: time.Second}},
		"attempts":         {Dir: "x", Retry: RetryPolicy{MaxAttempts: -1}},
		"half credentials": {Dir: "x", Endpoints: []Endpoint{{Credentials: Credentials{AccessKeyID: "a"}}}},
		"two targets": {Dir: "x", Hooks: []Hook{{Name: "h", Type: HookWebhook, Webhook: good.Webhook,
			SQS: &SQSTarget{QueueURL: "https://sqs.us-east-1.amazonaws.com/1/q"}}}},
		"sqs without region": {Dir: "x", Hooks: []Hook{{Name: "h", Type: HookSQS, SQS: &SQSTarget{QueueURL: "https://queue.internal/1/q"}}}},
	} {
		if _, err := New(c, Params{}); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("%s: %v", name, err)
		}
	}
	c, err := Config{Dir: "x", Hooks: []Hook{
		{Name: "q", Type: HookSQS, SQS: &SQSTarget{QueueURL: "https://sqs.eu-central-1.amazonaws.com/1/q"}},
		{Name: "t", Type: HookSNS, SNS: &SNSTarget{TopicARN: "arn:aws:sns:ap-south-1:1:t"}},
		{Name: "b", Type: HookEventBridge, EventBridge: &EventBridgeTarget{AWSAccess: AWSAccess{Region: "us-west-2"}}},
	}}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	if c.Hooks[0].SQS.Region != "eu-central-1" || c.Hooks[1].SNS.Region != "ap-south-1" ||
		c.Hooks[2].EventBridge.BusName != "default" || c.Hooks[2].EventBridge.Source != DefaultEventBridgeSource {
		t.Errorf("defaults not derived: %+v %+v %+v", c.Hooks[0].SQS, c.Hooks[1].SNS, c.Hooks[2].EventBridge)
	}
	if c.MaxMessageBytes != 262144 || c.WebhookTimeout != 5*time.Second || c.Retry.MaxAge != 24*time.Hour {
		t.Errorf("defaults %+v", c)
	}
}

// The retry schedule runs on the injected clock: each backoff doubles, is
// jittered within [d/2, d] and capped; the age budget dead-letters.
func TestBackoffOnVirtualTime(t *testing.T) {
	clock := newFakeClock(time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC))
	r := newReceiver(t, testSecret, clock.Now)
	r.setFail(func(int) int { return http.StatusTooManyRequests })
	s := testService(t, Config{
		Hooks: []Hook{webhookHook("h", r.srv.URL)},
		Retry: RetryPolicy{InitialBackoff: time.Second, MaxBackoff: 8 * time.Second, MaxAge: time.Hour},
	}, Params{Clock: clock})
	e := mkEvent(events.AttendeeJoined, testMeeting, "1111aaaa-0000-4000-8000-000000000001")
	s.Deliver(context.Background(), e)
	next := func() time.Duration {
		select {
		case d := <-clock.afters:
			return d
		case <-time.After(10 * time.Second):
			t.Fatal("no backoff requested")
			return 0
		}
	}
	var total time.Duration
	for i, ceil := range []time.Duration{1, 2, 4, 8, 8, 8} {
		ceil *= time.Second
		d := next()
		if d < ceil/2 || d > ceil {
			t.Errorf("backoff %d = %v, want within [%v, %v]", i+1, d, ceil/2, ceil)
		}
		total += d
		clock.Advance(d)
	}
	if st := s.admin.outboxStatus(); st.DeadLetters != 0 || len(st.Targets) != 1 || math.Abs(st.Targets[0].OldestAge-total.Seconds()) > 0.001 {
		t.Errorf("before the budget is spent: %+v (elapsed %v)", st, total)
	}
	if v := counterValue(t, s, "confab_notify_outbox_oldest_age_seconds", "hook:h"); math.Abs(v-total.Seconds()) > 1e-6 {
		t.Errorf("oldest age gauge %v, want %v", v, total.Seconds())
	}
	if v := counterValue(t, s, "confab_notify_outbox_depth", "hook:h"); v != 1 {
		t.Errorf("depth gauge %v", v)
	}
	_ = next()
	clock.Advance(time.Hour) // the next attempt fails past MaxAge
	waitFor(t, 15*time.Second, "the dead letter", func() bool { return s.admin.outboxStatus().DeadLetters == 1 })
	list, _, _ := s.admin.dead.list("", 0, 10)
	if d := list[0]; d.Reason != ReasonMaxAge || d.Attempts != 8 || d.DeadAt.Sub(d.Accepted) < time.Hour ||
		d.LastError != "webhook answered 429 Too Many Requests: receiver says no" {
		t.Errorf("dead letter %+v", d)
	}
	if v := counterValue(t, s, "confab_notify_retried_total", "hook:h"); v != 7 {
		t.Errorf("retried = %v, want 7", v)
	}
}

// A meeting's targets survive a restart, outlive MeetingEnded by
// MeetingGrace, and can be forgotten.
func TestMeetingTargetsLifetime(t *testing.T) {
	clock := newFakeClock(time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC))
	c := newCapture(t)
	fn := "arn:aws:lambda:us-east-1:123456789012:function:events"
	cfg := Config{Dir: t.TempDir(), MeetingGrace: time.Minute, Endpoints: []Endpoint{
		{Service: "lambda", URL: c.srv.URL, Credentials: Credentials{AccessKeyID: "AKIDCAPTURE", SecretAccessKey: "s"}}}}
	s := testService(t, cfg, Params{Clock: clock})
	if err := s.SetMeetingTargets(testMeeting, MeetingTargets{LambdaFunctionArn: "arn:aws:lambda:us-east-1:1:layer:x"}); !errors.Is(err, ErrInvalidARN) {
		t.Errorf("layer ARN: %v", err)
	}
	if err := s.SetMeetingTargets(testMeeting, MeetingTargets{SqsQueueArn: "arn:aws:sqs:us-east-1:1:q"}); !errors.Is(err, ErrNoEndpoint) {
		t.Errorf("unserved ARN: %v", err)
	}
	if err := s.SetMeetingTargets(testMeeting, MeetingTargets{LambdaFunctionArn: fn}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = testService(t, cfg, Params{Clock: clock})
	deliver := func(e events.Event, want int) {
		t.Helper()
		s.Deliver(context.Background(), e)
		waitFor(t, 15*time.Second, fmt.Sprintf("%d invocations", want), func() bool { return len(c.requests()) == want })
	}
	deliver(mkEvent(events.MeetingStarted, testMeeting, ""), 1)
	deliver(mkEvent(events.MeetingEnded, testMeeting, ""), 2)
	clock.Advance(30 * time.Second)
	deliver(mkEvent(events.AttendeeDropped, testMeeting, "1111aaaa-0000-4000-8000-000000000001"), 3) // within grace

	other := "0b1c2d3e-4f50-4617-8293-a4b5c6d7e8f9"
	if err := s.SetMeetingTargets(other, MeetingTargets{LambdaFunctionArn: fn}); err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Minute)
	deliver(mkEvent(events.MeetingEnded, other, ""), 4) // prunes testMeeting
	s.Deliver(context.Background(), mkEvent(events.AttendeeDropped, testMeeting, "2222bbbb-0000-4000-8000-000000000002"))
	if err := s.ForgetMeeting(other); err != nil {
		t.Fatal(err)
	}
	s.Deliver(context.Background(), mkEvent(events.AttendeeLeft, other, "2222bbbb-0000-4000-8000-000000000002"))
	time.Sleep(100 * time.Millisecond)
	if n := len(c.requests()); n != 4 {
		t.Errorf("%d invocations, want 4 (pruned and forgotten meetings go to hooks only)", n)
	}
	if s.queued() != 0 {
		t.Errorf("queued %d", s.queued())
	}
}

// Concurrent Deliver calls share fsyncs: far fewer commits than calls.
func TestGroupCommit(t *testing.T) {
	var got atomic.Int64
	srv := newReceiver(t, testSecret, time.Now)
	srv.setFail(func(int) int { got.Add(1); return 0 })
	s := testService(t, Config{Hooks: []Hook{webhookHook("h", srv.srv.URL)}}, Params{})
	const par, each = 32, 40
	var wg sync.WaitGroup
	for p := 0; p < par; p++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				s.Deliver(context.Background(), mkEvent(events.AttendeeJoined, testMeeting, "1111aaaa-0000-4000-8000-000000000001"))
			}
		}()
	}
	wg.Wait()
	commits := counterValue(t, s, "confab_notify_outbox_commit_seconds", "")
	t.Logf("%d Deliver calls, %v commits", par*each, commits)
	if commits >= par*each {
		t.Errorf("%v commits for %d calls: no group commit", commits, par*each)
	}
	waitFor(t, 20*time.Second, "every event", func() bool { return srv.count() == par*each })
}

func TestDeliverAfterClose(t *testing.T) {
	reg := prometheus.NewRegistry()
	s := testService(t, Config{Hooks: []Hook{webhookHook("h", "http://127.0.0.1:1/")}}, Params{Registerer: reg})
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.enqueue(mkEvent(events.MeetingStarted, testMeeting, "")); !errors.Is(err, ErrClosed) {
		t.Errorf("enqueue after Close: %v", err)
	}
	s.Deliver(context.Background(), mkEvent(events.MeetingStarted, testMeeting, "")) // logged, no panic
	if err := s.Close(); !errors.Is(err, ErrClosed) {
		t.Errorf("second Close: %v", err)
	}
	// Metrics were unregistered: a new Service can use the same registry.
	s2 := testService(t, Config{}, Params{Registerer: reg})
	_ = s2
}

// Hooks decode from the YAML the configuration file will hold.
func TestHookYAML(t *testing.T) {
	const doc = `
- name: billing
  type: webhook
  event_types: [chime:AttendeeJoined, chime:AttendeeLeft]
  webhook: {url: "https://billing.internal/chime", secret: "0123456789abcdef"}
- name: audit
  type: sqs
  enabled: false
  sqs:
    queue_url: https://sqs.eu-west-1.amazonaws.com/123456789012/audit
    access_key_id: AKIDEXAMPLE
    secret_access_key: wJalrXUtnFEMI
- name: bus
  type: eventbridge
  eventbridge: {bus_name: meetings, region: us-west-2, endpoint_url: "http://127.0.0.1:4010"}
`
	var hooks []Hook
	if err := yaml.Unmarshal([]byte(doc), &hooks); err != nil {
		t.Fatal(err)
	}
	c, err := Config{Dir: "x", Hooks: hooks}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	h := c.Hooks
	if len(h) != 3 || len(h[0].EventTypes) != 2 || h[0].Webhook.Secret != "0123456789abcdef" || !h[0].IsEnabled() ||
		h[1].IsEnabled() || h[1].SQS.AccessKeyID != "AKIDEXAMPLE" || h[1].SQS.SecretAccessKey != "wJalrXUtnFEMI" ||
		h[1].SQS.Region != "eu-west-1" || h[2].EventBridge.EndpointURL != "http://127.0.0.1:4010" || h[2].EventBridge.Region != "us-west-2" {
		t.Errorf("decoded %+v %+v %+v", h[0], h[1].SQS, h[2].EventBridge)
	}
}
