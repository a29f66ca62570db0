package notify

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/confab-media/confab/signaling/events"
	"github.com/confab-media/confab/signaling/store"
)

// The meeting service's adapter and the cluster relay's JSON form both
// register a meeting's targets; unserved ARNs and bad JSON are refused.
func TestMeetingTargetsAdapters(t *testing.T) {
	c := newCapture(t)
	fn := "arn:aws:lambda:us-east-1:123456789012:function:events"
	s := testService(t, Config{Endpoints: []Endpoint{
		{Service: "lambda", URL: c.srv.URL, Credentials: Credentials{AccessKeyID: "AKIDCAPTURE", SecretAccessKey: "s"}}}}, Params{})
	mt := s.MeetingTargets()
	if err := mt.Check(store.NotificationsConfiguration{SqsQueueArn: "arn:aws:sqs:us-east-1:1:q"}); !errors.Is(err, ErrNoEndpoint) {
		t.Errorf("Check of an unserved ARN: %v", err)
	}
	if err := mt.Check(store.NotificationsConfiguration{LambdaFunctionArn: fn}); err != nil {
		t.Errorf("Check of a served ARN: %v", err)
	}
	if err := mt.Set(testMeeting, store.NotificationsConfiguration{LambdaFunctionArn: fn}); err != nil {
		t.Fatal(err)
	}
	other := "0b1c2d3e-4f50-4617-8293-a4b5c6d7e8f9"
	if err := s.SetTargets(other, []byte(`{"LambdaFunctionArn":"`+fn+`"}`)); err != nil {
		t.Fatal(err)
	}
	if err := s.SetTargets(other, []byte(`{`)); err == nil {
		t.Error("SetTargets took malformed JSON")
	}
	s.Deliver(context.Background(), mkEvent(events.MeetingStarted, testMeeting, ""))
	s.Deliver(context.Background(), mkEvent(events.MeetingStarted, other, ""))
	waitFor(t, 15*time.Second, "both meetings' invocations", func() bool { return len(c.requests()) == 2 })
}

// WaitDelivered returns at once with nothing queued, and after its
// deadline with what a failing target still holds.
func TestWaitDelivered(t *testing.T) {
	empty := testService(t, Config{}, Params{})
	if left := empty.WaitDelivered(time.Minute); left != 0 {
		t.Errorf("empty outbox: %d left", left)
	}
	if err := empty.Close(); err != nil {
		t.Fatal(err)
	}
	r := newReceiver(t, testSecret, time.Now)
	r.setFail(func(int) int { return http.StatusServiceUnavailable })
	s := testService(t, Config{Hooks: []Hook{webhookHook("h", r.srv.URL)}}, Params{})
	s.Deliver(context.Background(), mkEvent(events.MeetingStarted, testMeeting, ""))
	start := time.Now()
	if left := s.WaitDelivered(300 * time.Millisecond); left != 1 {
		t.Errorf("failing target: %d left, want 1", left)
	}
	if d := time.Since(start); d < 300*time.Millisecond {
		t.Errorf("returned after %v, before the deadline", d)
	}
}
