package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go/aws"
	"github.com/aws/aws-sdk-go/service/chimesdkmeetings"

	"github.com/confab-media/confab/signaling/events"
	"github.com/confab-media/confab/signaling/protocol"
)

// eventLog is a webhook receiver's record: attendee IDs seen per event type.
type eventLog struct {
	mu  sync.Mutex // guards seen
	ids map[events.Type]map[string]bool
}

func (l *eventLog) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	var e events.Event
	if json.Unmarshal(body, &e) == nil {
		l.mu.Lock()
		if l.ids[e.Detail.EventType] == nil {
			l.ids[e.Detail.EventType] = map[string]bool{}
		}
		l.ids[e.Detail.EventType][e.Detail.AttendeeID] = true
		l.mu.Unlock()
	}
}

// missing returns the IDs of want that no event of type t has named.
func (l *eventLog) missing(t events.Type, want map[string]bool) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for id := range want {
		if !l.ids[t][id] {
			out = append(out, id)
		}
	}
	return out
}

// ack is one CreateAttendee answered 200.
type ack struct{ user, id, token string }

// TestHostileKillDuringCreateBurst: concurrent CreateAttendee with a racing
// retry (same ExternalUserId) each, and DeleteAttendee of some of them, are
// cut off by kill -9. After a restart on the same data directory every
// attendee that was answered 200 exists with the same JoinToken (and that
// token joins the signaling WebSocket), every acknowledged delete stays
// deleted, twins got the same attendee, and the webhook receives an
// AttendeeAdded / AttendeeDeleted for every acknowledged change.
//
// Before the fix a retry was answered from memory while the first create
// was still committing, so attendees (and their AttendeeAdded) answered 200
// were lost by the kill.
func TestHostileKillDuringCreateBurst(t *testing.T) {
	recv := &eventLog{ids: map[events.Type]map[string]bool{}}
	hook := httptest.NewServer(recv)
	defer hook.Close()
	yaml := noThrottle() + `notifications:
  hooks:
    - name: durable
      type: webhook
      event_types: ["chime:AttendeeAdded", "chime:AttendeeDeleted"]
      webhook: {url: "` + hook.URL + `", secret: "durability-secret-0123456789"}
`
	dataDir := t.TempDir()
	s := startServer(t, dataDir, yaml)
	c := s.client(testKeyID, testSecret)

	const workers = 8
	meetings := make([]*string, workers)
	for i := range meetings {
		cm, err := c.CreateMeeting(&chimesdkmeetings.CreateMeetingInput{
			ClientRequestToken: aws.String(fmt.Sprintf("durable-%d", i)), MediaRegion: aws.String("us-east-1"),
			ExternalMeetingId: aws.String(fmt.Sprintf("durable-%d", i)),
		})
		if err != nil {
			t.Fatal(err)
		}
		meetings[i] = cm.Meeting.MeetingId
	}

	var (
		mu       sync.Mutex
		created  = map[string]ack{} // by AttendeeId: answered 200
		twins    = map[string]string{}
		deleted  = map[string]bool{} // DeleteAttendee answered 200
		tried    = map[string]bool{} // DeleteAttendee sent, answer unknown
		dupes    []string
		stop     atomic.Bool
		wg       sync.WaitGroup
		attempts atomic.Int64
	)
	create := func(meeting *string, user string) {
		out, err := c.CreateAttendee(&chimesdkmeetings.CreateAttendeeInput{MeetingId: meeting, ExternalUserId: aws.String(user)})
		if err != nil {
			return
		}
		a := out.Attendee
		mu.Lock()
		defer mu.Unlock()
		if prev, ok := twins[user]; ok && prev != *a.AttendeeId {
			dupes = append(dupes, user)
		}
		twins[user] = *a.AttendeeId
		created[*a.AttendeeId] = ack{user, *a.AttendeeId, *a.JoinToken}
	}
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 10_000 && !stop.Load(); i++ {
				user := fmt.Sprintf("user-%d-%d", w, i)
				attempts.Add(1)
				var pair sync.WaitGroup
				pair.Add(2)
				go func() { defer pair.Done(); create(meetings[w], user) }()
				go func() { // the client's retry, racing the first request
					defer pair.Done()
					time.Sleep(time.Duration(i%3) * time.Millisecond)
					create(meetings[w], user)
				}()
				pair.Wait()
				mu.Lock()
				id, ok := twins[user]
				mu.Unlock()
				if !ok || i%3 != 0 {
					continue
				}
				mu.Lock()
				tried[id] = true
				mu.Unlock()
				if _, err := c.DeleteAttendee(&chimesdkmeetings.DeleteAttendeeInput{MeetingId: meetings[w], AttendeeId: aws.String(id)}); err == nil {
					mu.Lock()
					deleted[id] = true
					mu.Unlock()
				}
			}
		}()
	}
	time.Sleep(2 * time.Second)
	if err := s.cmd.Process.Kill(); err != nil { // kill -9, mid-burst
		t.Fatal(err)
	}
	<-s.done
	stop.Store(true)
	wg.Wait()

	mu.Lock()
	defer mu.Unlock()
	if len(dupes) > 0 {
		t.Errorf("%d retried users got two different attendees, e.g. %s", len(dupes), dupes[0])
	}
	if len(created) == 0 {
		t.Fatal("no CreateAttendee was acknowledged before the kill")
	}

	s2 := startServer(t, dataDir, yaml)
	c2 := s2.client(testKeyID, testSecret)
	meetingOf := map[string]*string{}
	for user := range twins {
		var w, i int
		_, _ = fmt.Sscanf(user, "user-%d-%d", &w, &i)
		meetingOf[user] = meetings[w]
	}
	lost, resurrected, tokenChanged := 0, 0, 0
	wantAdded, wantDeleted := map[string]bool{}, map[string]bool{}
	var live []ack
	for id, a := range created {
		wantAdded[id] = true
		got, err := c2.GetAttendee(&chimesdkmeetings.GetAttendeeInput{MeetingId: meetingOf[a.user], AttendeeId: aws.String(id)})
		switch {
		case deleted[id]:
			wantDeleted[id] = true
			if err == nil || !strings.Contains(err.Error(), "NotFound") {
				resurrected++
			}
		case err != nil:
			if !tried[id] { // a delete in flight at the kill may have committed
				lost++
				t.Logf("acknowledged attendee %s (%s) lost: %v", id, a.user, err)
			}
		case *got.Attendee.JoinToken != a.token:
			tokenChanged++
		default:
			live = append(live, a)
		}
	}
	if lost+resurrected+tokenChanged > 0 {
		t.Errorf("after kill -9: %d acknowledged attendees lost, %d acknowledged deletes undone, %d join tokens changed",
			lost, resurrected, tokenChanged)
	}

	// A few surviving tokens must still join the signaling WebSocket.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for i, a := range live {
		if i == 3 {
			break
		}
		sigURL := strings.Replace(s2.Endpoint, "http://", "ws://", 1) + "/control/" + aws.StringValue(meetingOf[a.user])
		ws := wsJoin(t, ctx, sigURL, a.token)
		for {
			f, err := wsRead(t, ctx, ws)
			if err != nil {
				t.Fatalf("token of %s refused after restart: %v", a.id, err)
			}
			if f.GetType() == protocol.SdkSignalFrame_JOIN_ACK {
				break
			}
		}
		_ = ws.CloseNow()
	}

	deadline := time.Now().Add(30 * time.Second)
	var missAdded, missDeleted []string
	for {
		missAdded, missDeleted = recv.missing(events.AttendeeAdded, wantAdded), recv.missing(events.AttendeeDeleted, wantDeleted)
		if len(missAdded)+len(missDeleted) == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if len(missAdded)+len(missDeleted) > 0 {
		t.Errorf("webhook never got AttendeeAdded for %d and AttendeeDeleted for %d acknowledged changes (e.g. %v %v)",
			len(missAdded), len(missDeleted), head(missAdded), head(missDeleted))
	}
	recv.mu.Lock()
	got := len(recv.ids[events.AttendeeAdded]) + len(recv.ids[events.AttendeeDeleted])
	recv.mu.Unlock()
	t.Logf("users tried %d; acknowledged creates %d (distinct attendees), deletes %d; attendees with events received %d",
		attempts.Load(), len(created), len(deleted), got)
}

func head(s []string) []string {
	if len(s) > 3 {
		return s[:3]
	}
	return s
}

// TestHostileStringsRefused: NUL, CR/LF, invalid UTF-8 and characters
// outside the Chime patterns in ExternalUserId, ExternalMeetingId,
// MeetingHostId, ClientRequestToken and tags get 400 BadRequestException
// naming the field (they were stored and logged before).
func TestHostileStringsRefused(t *testing.T) {
	s := startServer(t, "", noThrottle())
	c := s.client(testKeyID, testSecret)
	cm, err := c.CreateMeeting(&chimesdkmeetings.CreateMeetingInput{
		ClientRequestToken: aws.String("strings-1"), MediaRegion: aws.String("us-east-1"), ExternalMeetingId: aws.String("strings-1"),
	})
	if err != nil {
		t.Fatal(err)
	}
	path := "/meetings/" + aws.StringValue(cm.Meeting.MeetingId) + "/attendees"
	for _, tc := range []struct{ path, body, field string }{
		{path, `{"ExternalUserId":"user\u0000one"}`, "ExternalUserId"},
		{path, `{"ExternalUserId":"user\r\nX-Injected: 1"}`, "ExternalUserId"},
		{path, "{\"ExternalUserId\":\"user\xff\xfe\"}", "ExternalUserId"},
		{path, `{"ExternalUserId":"<script>x</script>"}`, "ExternalUserId"},
		{"/meetings", `{"ClientRequestToken":"s-2","MediaRegion":"us-east-1","ExternalMeetingId":"ext\nid"}`, "ExternalMeetingId"},
		{"/meetings", `{"ClientRequestToken":"s-3","MediaRegion":"us-east-1","ExternalMeetingId":"ext","MeetingHostId":"h\u0000st"}`, "MeetingHostId"},
		{"/meetings", `{"ClientRequestToken":"s\u00004","MediaRegion":"us-east-1","ExternalMeetingId":"ext"}`, "ClientRequestToken"},
		{"/meetings", `{"ClientRequestToken":"s-5","MediaRegion":"us-east-1","ExternalMeetingId":"ext","Tags":[{"Key":"k","Value":"v\r\n"}]}`, "Tags.Value"},
	} {
		code, typ, msg := rawCall(t, s, http.MethodPost, tc.path, tc.body)
		if code != http.StatusBadRequest || typ != "BadRequestException" || !strings.Contains(msg, tc.field) {
			t.Errorf("%s %q: %d %s %q, want 400 BadRequestException naming %s", tc.path, tc.body, code, typ, msg, tc.field)
		}
	}
}

// TestHostileOutboxFlood: a flood of changes towards a target that never
// answers fills the outbox only up to notifications.limits; the rest is
// dead-lettered (outbox_full), the dead-letter store evicts past its own
// cap, and every API call still succeeds. Before, the outbox grew without
// bound (~730 durable events/s from one join/leave loop).
func TestHostileOutboxFlood(t *testing.T) {
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "down", http.StatusServiceUnavailable)
	}))
	defer down.Close()
	yaml := noThrottle() + `notifications:
  hooks:
    - name: down
      type: webhook
      webhook: {url: "` + down.URL + `", secret: "flood-secret-0123456789"}
  limits: {target_events: 50, target_bytes: 1048576, dead_letters: 40, dead_bytes: 1048576}
`
	s := startServer(t, "", yaml)
	c := s.client(testKeyID, testSecret)
	gBefore, rssBefore := scrapeMetric(t, s, "go_goroutines", ""), scrapeMetric(t, s, "process_resident_memory_bytes", "")
	cm, err := c.CreateMeeting(&chimesdkmeetings.CreateMeetingInput{
		ClientRequestToken: aws.String("flood-1"), MediaRegion: aws.String("us-east-1"), ExternalMeetingId: aws.String("flood-1"),
	})
	if err != nil {
		t.Fatal(err)
	}
	const rounds = 150 // 300 events: AttendeeAdded + AttendeeDeleted each
	start := time.Now()
	var wg sync.WaitGroup
	var failed atomic.Int64
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < rounds; i += 4 {
				a, err := c.CreateAttendee(&chimesdkmeetings.CreateAttendeeInput{MeetingId: cm.Meeting.MeetingId, ExternalUserId: aws.String(fmt.Sprintf("flood-%d", i))})
				if err != nil {
					failed.Add(1)
					continue
				}
				if _, err := c.DeleteAttendee(&chimesdkmeetings.DeleteAttendeeInput{MeetingId: cm.Meeting.MeetingId, AttendeeId: a.Attendee.AttendeeId}); err != nil {
					failed.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	if n := failed.Load(); n > 0 {
		t.Errorf("%d API calls failed during the flood", n)
	}
	depth := scrapeMetric(t, s, "confab_notify_outbox_depth", `target="hook:down"`)
	dead := scrapeMetric(t, s, "confab_notify_dead_letters", "")
	full := scrapeMetric(t, s, "confab_notify_dead_lettered_total", `reason="outbox_full"`)
	evicted := scrapeMetric(t, s, "confab_notify_dead_letters_evicted_total", "")
	if depth > 50 || dead > 40 || full < 200 || evicted < 150 {
		t.Errorf("outbox depth %v (cap 50), dead letters %v (cap 40), outbox_full %v, evicted %v", depth, dead, full, evicted)
	}
	if !strings.Contains(s.Log(), "outbox at its limits") {
		t.Error("no warning logged about the outbox limits")
	}
	t.Logf("%d events in %v: outbox %v, dead letters %v, outbox_full %v, evicted %v; goroutines %v→%v, RSS %.1f→%.1f MB",
		2*rounds+1, elapsed.Round(time.Millisecond), depth, dead, full, evicted,
		gBefore, scrapeMetric(t, s, "go_goroutines", ""), rssBefore/1e6, scrapeMetric(t, s, "process_resident_memory_bytes", "")/1e6)
}
