package notify

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/confab-media/confab/signaling/events"
	"github.com/confab-media/confab/signaling/store"
)

// receiveDistinct receives until want distinct events have arrived, then
// briefly more, so duplicates show.
func receiveDistinct(tb testing.TB, g *goaws, queue string, want int) []string {
	tb.Helper()
	var got []string
	deadline := time.Now().Add(15 * time.Second)
	for len(byID(tb, got)) < want && time.Now().Before(deadline) {
		got = append(got, g.receive(tb, queue, 1, time.Second)...)
	}
	return append(got, g.receive(tb, queue, 1000, 200*time.Millisecond)...)
}

// MeetingTargets converts from the stored NotificationsConfiguration.
var _ = MeetingTargets(store.NotificationsConfiguration{})

// byID indexes event JSON by event id.
func byID(tb testing.TB, bodies []string) map[string]string {
	tb.Helper()
	m := map[string]string{}
	for _, b := range bodies {
		var e struct {
			ID string `json:"id"`
		}
		if err := json.Unmarshal([]byte(b), &e); err != nil || e.ID == "" {
			tb.Fatalf("body is not an event: %v: %.200s", err, b)
		}
		m[e.ID] = b
	}
	return m
}

// wantExactly checks that got holds each event's exact JSON, and nothing
// else, each once.
func wantExactly(tb testing.TB, where string, got []string, evs []events.Event) {
	tb.Helper()
	wantAtLeastOnce(tb, where, got, evs, 0)
}

// wantAtLeastOnce checks that got holds each event's exact JSON and nothing
// else, allowing up to maxDup duplicates (at-least-once delivery).
func wantAtLeastOnce(tb testing.TB, where string, got []string, evs []events.Event, maxDup int) {
	tb.Helper()
	m := byID(tb, got)
	if len(m) != len(evs) || len(got)-len(m) > maxDup {
		tb.Errorf("%s: %d messages, %d distinct, want %d (at most %d duplicates)", where, len(got), len(m), len(evs), maxDup)
	}
	for _, e := range evs {
		if b, ok := m[e.ID]; !ok {
			tb.Errorf("%s: event %s (%s) missing", where, e.ID, e.Detail.EventType)
		} else if b != string(e.JSON()) {
			tb.Errorf("%s: event %s body\n got %s\nwant %s", where, e.ID, b, e.JSON())
		}
	}
}

func TestMeetingLifecycleToSQSAndSNS(t *testing.T) {
	g := startGoaws(t, []string{"meeting-events", "hook-events", "sns-wrapped", "sns-raw"},
		[]goawsTopic{
			{Name: "meeting-topic", Subs: []goawsSub{{Queue: "sns-wrapped"}, {Queue: "sns-raw", Raw: true}}},
			{Name: "ended-topic", Subs: []goawsSub{{Queue: "hook-sns", Raw: true}}},
		})
	s := testService(t, Config{
		Endpoints: []Endpoint{g.endpoint()},
		Hooks: []Hook{
			{Name: "all-to-sqs", Type: HookSQS, SQS: &SQSTarget{QueueURL: g.queueURL("hook-events"), AWSAccess: g.access()}},
			{Name: "ends-to-sns", Type: HookSNS, EventTypes: []events.Type{events.MeetingEnded},
				SNS: &SNSTarget{TopicARN: topicARN("ended-topic"), AWSAccess: g.access()}},
		},
	}, Params{})
	if err := s.SetMeetingTargets(testMeeting, MeetingTargets{
		SqsQueueArn: queueARN("meeting-events"), SnsTopicArn: topicARN("meeting-topic"),
	}); err != nil {
		t.Fatal(err)
	}
	other := "0b1c2d3e-4f50-4617-8293-a4b5c6d7e8f9" // no targets: hooks only
	evs := lifecycle(testMeeting)
	otherEvs := lifecycle(other)[:2]
	for i, e := range evs {
		s.Deliver(context.Background(), e)
		if i < len(otherEvs) {
			s.Deliver(context.Background(), otherEvs[i])
		}
	}
	n := len(evs)
	// goaws answers the first SendMessageBatch without per-entry results:
	// that batch is retried one by one, so up to 10 duplicates (see
	// errNoBatchResults).
	wantAtLeastOnce(t, "meeting queue", receiveDistinct(t, g, "meeting-events", n), evs, 10)
	wantAtLeastOnce(t, "hook queue", receiveDistinct(t, g, "hook-events", n+len(otherEvs)), append(append([]events.Event{}, evs...), otherEvs...), 10)
	wantExactly(t, "SNS raw", g.receive(t, "sns-raw", n, 15*time.Second), evs)
	var ends []events.Event
	for _, e := range append(append([]events.Event{}, evs...), otherEvs...) {
		if e.Detail.EventType == events.MeetingEnded {
			ends = append(ends, e)
		}
	}
	wantExactly(t, "SNS hook", receiveDistinct(t, g, "hook-sns", len(ends)), ends)

	wrapped := g.receive(t, "sns-wrapped", n, 15*time.Second)
	var inner []string
	for _, w := range wrapped {
		var env struct{ Type, TopicArn, Message, MessageId string }
		if err := json.Unmarshal([]byte(w), &env); err != nil {
			t.Fatalf("SNS envelope: %v: %s", err, w)
		}
		if env.Type != "Notification" || env.TopicArn != topicARN("meeting-topic") || env.MessageId == "" {
			t.Errorf("SNS envelope %+v", env)
		}
		inner = append(inner, env.Message)
	}
	wantExactly(t, "SNS wrapped", inner, evs)
	waitFor(t, 15*time.Second, "outbox to drain", func() bool { return s.queued() == 0 })
	if st := s.admin.outboxStatus(); st.DeadLetters != 0 {
		t.Errorf("dead letters: %d", st.DeadLetters)
	}
}

// A target down for a while (goaws stopped, then restarted on its port):
// everything queued meanwhile arrives once it is back; nothing is lost and
// nothing dead-lettered.
func TestSQSDownThenBack(t *testing.T) {
	g := startGoaws(t, []string{"q"}, nil)
	s := testService(t, Config{Endpoints: []Endpoint{g.endpoint()}}, Params{})
	if err := s.SetMeetingTargets(testMeeting, MeetingTargets{SqsQueueArn: queueARN("q")}); err != nil {
		t.Fatal(err)
	}
	var before, during []events.Event
	for i := 0; i < 20; i++ {
		before = append(before, mkEvent(events.AttendeeJoined, testMeeting, fmt.Sprintf("%08d-0000-4000-8000-000000000000", i)))
		during = append(during, mkEvent(events.AttendeeLeft, testMeeting, fmt.Sprintf("%08d-0000-4000-8000-000000000000", i)))
	}
	for _, e := range before {
		s.Deliver(context.Background(), e)
	}
	wantAtLeastOnce(t, "before the outage", receiveDistinct(t, g, "q", len(before)), before, 10)

	g.Stop()
	for _, e := range during {
		s.Deliver(context.Background(), e)
	}
	waitFor(t, 15*time.Second, "failed attempts", func() bool {
		return counterValue(t, s, "confab_notify_retried_total", queueARN("q")) >= 2
	})
	if s.queued() != len(during) {
		t.Errorf("queued during outage = %d, want %d", s.queued(), len(during))
	}
	g.Start()
	wantAtLeastOnce(t, "after the outage", receiveDistinct(t, g, "q", len(during)), during, 10)
	waitFor(t, 15*time.Second, "outbox to drain", func() bool { return s.queued() == 0 })
	if st := s.admin.outboxStatus(); st.DeadLetters != 0 {
		t.Errorf("dead letters: %d", st.DeadLetters)
	}
}

// Closing the Service with a backlog and opening it again on the same Dir
// delivers the rest: nothing accepted is lost (some may arrive twice).
func TestReopenMidBacklog(t *testing.T) {
	g := startGoaws(t, []string{"q"}, nil)
	dir := t.TempDir()
	cfg := Config{Dir: dir, Endpoints: []Endpoint{g.endpoint()}}
	s := testService(t, cfg, Params{})
	if err := s.SetMeetingTargets(testMeeting, MeetingTargets{SqsQueueArn: queueARN("q")}); err != nil {
		t.Fatal(err)
	}
	const n, par = 2000, 32
	want := map[string]bool{}
	evs := make([]events.Event, n)
	for i := range evs {
		evs[i] = mkEvent(events.AttendeeJoined, testMeeting, fmt.Sprintf("%08d-0000-4000-8000-000000000000", i))
		want[evs[i].ID] = true
	}
	var wg sync.WaitGroup
	for p := 0; p < par; p++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := p; i < n; i += par {
				s.Deliver(context.Background(), evs[i])
			}
		}()
	}
	wg.Wait()
	left := s.queued()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	checkNoGoroutines(t)
	t.Logf("closed with %d of %d events still queued", left, n)
	if left == 0 {
		t.Log("nothing was left queued at Close: the restart path was not exercised")
	}

	s2 := testService(t, cfg, Params{}) // the meeting's targets were persisted too
	got := map[string]bool{}
	deadline := time.Now().Add(20 * time.Second)
	for len(got) < n && time.Now().Before(deadline) {
		for id := range byID(t, g.receive(t, "q", 1, time.Second)) {
			got[id] = true
		}
	}
	for id := range want {
		if !got[id] {
			t.Fatalf("event %s lost across the restart (%d of %d arrived)", id, len(got), n)
		}
	}
	waitFor(t, 15*time.Second, "outbox to drain", func() bool { return s2.queued() == 0 })
}

// Dead letters also go to the configured SQS DLQ, with the reason.
func TestDLQReceivesDeadLetters(t *testing.T) {
	g := startGoaws(t, []string{"q", "dlq"}, nil)
	s := testService(t, Config{
		Endpoints: []Endpoint{g.endpoint()},
		DLQ:       &SQSTarget{QueueURL: g.queueURL("dlq"), AWSAccess: g.access()},
	}, Params{})
	if err := s.SetMeetingTargets(testMeeting, MeetingTargets{SqsQueueArn: queueARN("q")}); err != nil {
		t.Fatal(err)
	}
	big := mkEvent(events.AttendeeAdded, testMeeting, "1111aaaa-0000-4000-8000-000000000001")
	big.Detail.ExternalUserID = strings.Repeat("x", DefaultMaxMessageBytes)
	s.Deliver(context.Background(), big)
	msgs := g.receive(t, "dlq", 1, 10*time.Second)
	if len(msgs) != 1 {
		t.Fatalf("DLQ got %d messages", len(msgs))
	}
	var m DeadLetterMessage
	if err := json.Unmarshal([]byte(msgs[0]), &m); err != nil {
		t.Fatal(err)
	}
	if m.Reason != ReasonTooLarge || m.EventID != big.ID || m.Target != queueARN("q") || m.Event != nil ||
		!strings.Contains(m.Detail, "over the 262144-byte limit") {
		t.Errorf("DLQ message %+v", m)
	}
	if got := g.receive(t, "q", 1, 300*time.Millisecond); len(got) != 0 {
		t.Errorf("oversized event was sent")
	}
}
