package events

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"regexp"
	"testing"
	"time"
)

func TestEventJSONShape(t *testing.T) {
	now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	e := New(AttendeeAdded, now, "123456789012", "us-east-1")
	e.Detail.MeetingID = "m-1"
	e.Detail.ExternalMeetingID = "ext-1"
	e.Detail.AttendeeID = "a-1"
	e.Detail.ExternalUserID = "user-1"

	var got map[string]any
	if err := json.Unmarshal(e.JSON(), &got); err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]any{
		"version": "0", "detail-type": "Chime Meeting State Change", "source": "aws.chime",
		"account": "123456789012", "time": "2026-11-23T10:00:00Z", "region": "us-east-1",
	} {
		if got[k] != want {
			t.Errorf("%s = %v, want %v", k, got[k], want)
		}
	}
	if r, ok := got["resources"].([]any); !ok || len(r) != 0 {
		t.Errorf("resources = %v, want []", got["resources"])
	}
	if !regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`).MatchString(got["id"].(string)) {
		t.Errorf("id %q is not a v4 UUID", got["id"])
	}
	d := got["detail"].(map[string]any)
	for k, want := range map[string]any{
		"version": "0", "eventType": "chime:AttendeeAdded", "timestamp": float64(now.UnixMilli()),
		"meetingId": "m-1", "externalMeetingId": "ext-1", "mediaRegion": "us-east-1",
		"attendeeId": "a-1", "externalUserId": "user-1",
	} {
		if d[k] != want {
			t.Errorf("detail.%s = %v, want %v", k, d[k], want)
		}
	}
	if _, ok := d["networkType"]; ok {
		t.Errorf("networkType present on AttendeeAdded")
	}
}

func TestBusFansOutInOrder(t *testing.T) {
	var a, b []Type
	bus := NewBus(SinkFunc(func(_ context.Context, e Event) { a = append(a, e.Detail.EventType) }))
	bus.Subscribe(SinkFunc(func(_ context.Context, e Event) { b = append(b, e.Detail.EventType) }))
	now := time.Now()
	bus.Publish(context.Background(), New(MeetingStarted, now, "0", "r"))
	bus.Publish(context.Background(), New(MeetingEnded, now, "0", "r"))
	if len(a) != 2 || len(b) != 2 || a[0] != MeetingStarted || b[1] != MeetingEnded {
		t.Fatalf("a=%v b=%v", a, b)
	}
}

// TestLogSinkStructured: an event is logged as fields (JSON objects in a
// JSON log), never as an escaped JSON string.
func TestLogSinkStructured(t *testing.T) {
	var buf bytes.Buffer
	sink := LogSink{Log: slog.New(slog.NewJSONHandler(&buf, nil))}
	e := New(AttendeeCapabilitiesUpdated, time.Now(), "123456789012", "us-east-1")
	e.Detail.MeetingID, e.Detail.AttendeeID, e.Detail.ExternalUserID = "m-1", "a-1", "user-1"
	e.Detail.AttendeeCapabilities = &Capabilities{Audio: "Receive", Video: "None", Content: "SendReceive"}
	sink.Deliver(context.Background(), e)
	var rec map[string]any
	if err := json.Unmarshal(buf.Bytes(), &rec); err != nil {
		t.Fatal(err)
	}
	caps, _ := rec["capabilities"].(map[string]any)
	if rec["type"] != string(AttendeeCapabilitiesUpdated) || rec["id"] != e.ID || rec["attendee"] != "a-1" ||
		caps["audio"] != "Receive" || rec["event"] != nil {
		t.Fatalf("record %v", rec)
	}
}
