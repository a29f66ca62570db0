package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go/aws"
	"github.com/aws/aws-sdk-go/service/chimesdkmeetings"

	"github.com/confab-media/confab/signaling/events"
	"github.com/confab-media/confab/signaling/notify"
)

// TestNotificationsOverServe runs `confab serve` with a webhook hook from
// the config file: a meeting's lifecycle events arrive signed (the
// receiver verifies every signature) and in EventBridge shape; the
// event_types filter holds; a meeting whose SqsQueueArn no endpoint serves
// is refused with BadRequestException; the admin API answers signed
// requests only.
func TestNotificationsOverServe(t *testing.T) {
	const secret = "webhook-secret-0123456789"
	var mu sync.Mutex
	var got []events.Event
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if err := notify.VerifyWebhook([]byte(secret), r.Header, body, time.Now(), time.Minute); err != nil {
			t.Errorf("webhook signature: %v", err)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		var e events.Event
		if err := json.Unmarshal(body, &e); err != nil {
			t.Errorf("webhook body: %v", err)
		}
		mu.Lock()
		got = append(got, e)
		mu.Unlock()
	}))
	defer recv.Close()
	yaml := noThrottle() + `notifications:
  hooks:
    - name: ops
      type: webhook
      event_types: ["chime:MeetingStarted", "chime:AttendeeAdded", "chime:MeetingEnded"]
      webhook: {url: "` + recv.URL + `", secret: "` + secret + `"}
`
	s := startServer(t, "", yaml)
	c := s.client(testKeyID, testSecret)

	cm, err := c.CreateMeeting(&chimesdkmeetings.CreateMeetingInput{
		ClientRequestToken: aws.String("notify-1"), MediaRegion: aws.String("us-east-1"), ExternalMeetingId: aws.String("n-1"),
	})
	if err != nil {
		t.Fatal(err)
	}
	id := cm.Meeting.MeetingId
	a, err := c.CreateAttendee(&chimesdkmeetings.CreateAttendeeInput{MeetingId: id, ExternalUserId: aws.String("u1")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.DeleteAttendee(&chimesdkmeetings.DeleteAttendeeInput{MeetingId: id, AttendeeId: a.Attendee.AttendeeId}); err != nil {
		t.Fatal(err) // AttendeeDeleted: filtered out
	}
	if _, err := c.DeleteMeeting(&chimesdkmeetings.DeleteMeetingInput{MeetingId: id}); err != nil {
		t.Fatal(err)
	}
	want := []events.Type{events.MeetingStarted, events.AttendeeAdded, events.MeetingEnded}
	deadline := time.Now().Add(15 * time.Second)
	for {
		mu.Lock()
		n := len(got)
		mu.Unlock()
		if n >= len(want) || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond) // anything unwanted would arrive too
	mu.Lock()
	types := map[events.Type]int{}
	for _, e := range got {
		types[e.Detail.EventType]++
		if e.Source != events.Source || e.DetailType != events.DetailType || e.Detail.MeetingID != aws.StringValue(id) || e.ID == "" {
			t.Errorf("event %+v", e)
		}
	}
	mu.Unlock()
	for _, w := range want {
		if types[w] < 1 {
			t.Errorf("no %s delivered (got %v)", w, types)
		}
	}
	if types[events.AttendeeDeleted] != 0 {
		t.Errorf("event_types filter let AttendeeDeleted through: %v", types)
	}

	_, err = c.CreateMeeting(&chimesdkmeetings.CreateMeetingInput{
		ClientRequestToken: aws.String("notify-2"), MediaRegion: aws.String("us-east-1"), ExternalMeetingId: aws.String("n-2"),
		NotificationsConfiguration: &chimesdkmeetings.NotificationsConfiguration{SqsQueueArn: aws.String("arn:aws:sqs:us-east-1:111122223333:nowhere")},
	})
	if err == nil || !strings.Contains(err.Error(), "BadRequestException") || !strings.Contains(err.Error(), "NotificationsConfiguration") {
		t.Fatalf("unserved SqsQueueArn: %v", err)
	}

	if code, _, _ := rawCall(t, s, http.MethodGet, "/admin/notify/hooks", ""); code != http.StatusOK {
		t.Fatalf("signed admin call: %d", code)
	}
	if code, _, _ := rawCall(t, s, http.MethodGet, "/admin/notify/hooks", "", "no-sign"); code != http.StatusUnauthorized {
		t.Fatalf("unsigned admin call: %d, want 401", code)
	}
}
