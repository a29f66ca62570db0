package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go/aws"
	"github.com/aws/aws-sdk-go/aws/awserr"
	"github.com/aws/aws-sdk-go/service/chimesdkmeetings"

	"github.com/confab-media/confab/bench/attendee"
	"github.com/confab-media/confab/internal/redistest"
	"github.com/confab-media/confab/signaling/events"
)

// webhookLog is a webhook receiver that records every event it is sent.
type webhookLog struct {
	srv *httptest.Server
	mu  sync.Mutex
	got []events.Event
}

func newWebhookLog(t *testing.T) *webhookLog {
	w := &webhookLog{}
	w.srv = httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var e events.Event
		if err := json.Unmarshal(body, &e); err != nil {
			t.Errorf("webhook body: %v", err)
		}
		w.mu.Lock()
		w.got = append(w.got, e)
		w.mu.Unlock()
	}))
	t.Cleanup(w.srv.Close)
	return w
}

// count returns how many events of typ for meetingID arrived.
func (w *webhookLog) count(typ events.Type, meetingID string) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := 0
	for _, e := range w.got {
		if e.Detail.EventType == typ && e.Detail.MeetingID == meetingID {
			n++
		}
	}
	return n
}

// waitCount waits until count(typ, meetingID) reaches n.
func (w *webhookLog) waitCount(t *testing.T, typ events.Type, meetingID string, n int, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	for w.count(typ, meetingID) < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d %s for %s delivered in %v, want %d", w.count(typ, meetingID), typ, meetingID, d, n)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// clusterNode starts one `confab serve` in cluster mode.
func clusterNode(t *testing.T, rd *redistest.Redis, hook *webhookLog, id, regions, dataDir string, quotas ...string) *server {
	t.Helper()
	q := noThrottle()
	if len(quotas) > 0 {
		q = quotas[0]
	}
	yaml := q + `cluster:
  heartbeat: 300ms
  drain_timeout: 2s
notifications:
  hooks:
    - name: ops
      type: webhook
      event_types: ["chime:MeetingStarted", "chime:MeetingEnded"]
      webhook: {url: "` + hook.srv.URL + `", secret: "cluster-webhook-secret-01"}
`
	return startServer(t, dataDir, yaml, "CONFAB_ACCESS_KEY_ID="+testKeyID, "CONFAB_SECRET_ACCESS_KEY="+testSecret,
		"CONFAB_REDIS_URL="+rd.URL(), "CONFAB_NODE_ID="+id, "CONFAB_MEDIA_REGIONS="+regions)
}

// hostOf returns which of nodes a meeting's SignalingUrl points at.
func hostOf(t *testing.T, m *chimesdkmeetings.Meeting, nodes map[string]*server) string {
	t.Helper()
	u, err := url.Parse(aws.StringValue(m.MediaPlacement.SignalingUrl))
	if err != nil {
		t.Fatal(err)
	}
	for name, s := range nodes {
		if e, _ := url.Parse(s.Endpoint); e.Host == u.Host {
			return name
		}
	}
	t.Fatalf("SignalingUrl %s points at no node", u)
	return ""
}

func createIn(t *testing.T, s *server, region, token string) *chimesdkmeetings.Meeting {
	t.Helper()
	out, err := s.client(testKeyID, testSecret).CreateMeeting(&chimesdkmeetings.CreateMeetingInput{
		ClientRequestToken: aws.String(token), MediaRegion: aws.String(region), ExternalMeetingId: aws.String(token),
	})
	if err != nil {
		t.Fatalf("CreateMeeting %s in %s via %s: %v", token, region, s.Endpoint, err)
	}
	return out.Meeting
}

func errCode(err error) string {
	if ae, ok := err.(awserr.Error); ok {
		return ae.Code()
	}
	return ""
}

// TestCluster runs three `confab serve` nodes on one redis-server (AOF on):
// placement by MediaRegion and load, every control-plane operation through
// every node, one meeting for one ClientRequestToken raced on three nodes,
// 503 for a region no node serves, kill -9 of a node (its meetings end with
// one MeetingEnded each, the others keep serving, placement avoids it, it
// rejoins after a restart), a SIGTERM drain, and Redis killed and restarted
// (no acknowledged change lost, /readyz follows Redis).
func TestCluster(t *testing.T) {
	rd := redistest.StartRedis(t)
	hook := newWebhookLog(t)
	dirB := t.TempDir()
	a := clusterNode(t, rd, hook, "node-a", "us-east-1", "")
	b := clusterNode(t, rd, hook, "node-b", "us-west-2", dirB)
	c := clusterNode(t, rd, hook, "node-c", "eu-west-1,us-west-2", "")
	nodes := map[string]*server{"a": a, "b": b, "c": c}

	// Each node answers its own region, like Chime's nearest-media-region.
	for name, want := range map[string]string{"a": "us-east-1", "c": "eu-west-1"} {
		resp, err := http.Get(nodes[name].Endpoint + "/nearest-media-region")
		if err != nil {
			t.Fatal(err)
		}
		var body struct{ Region string }
		_ = json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if body.Region != want {
			t.Errorf("node %s: nearest-media-region %q, want %q", name, body.Region, want)
		}
	}

	// Placement by region, through node A.
	east := createIn(t, a, "us-east-1", "east")
	eu := createIn(t, a, "eu-west-1", "eu")
	if h := hostOf(t, east, nodes); h != "a" {
		t.Errorf("us-east-1 meeting on %s, want a", h)
	}
	if h := hostOf(t, eu, nodes); h != "c" {
		t.Errorf("eu-west-1 meeting on %s, want c", h)
	}
	// us-west-2 is served by B and C: by load, B (no meeting) first.
	time.Sleep(700 * time.Millisecond) // two heartbeats: C reports its meeting
	west := createIn(t, a, "us-west-2", "west")
	if h := hostOf(t, west, nodes); h != "b" {
		t.Errorf("us-west-2 meeting on %s, want the less loaded b", h)
	}

	// Every operation through every node.
	ca, cb, cc := a.client(testKeyID, testSecret), b.client(testKeyID, testSecret), c.client(testKeyID, testSecret)
	att, err := cb.CreateAttendee(&chimesdkmeetings.CreateAttendeeInput{MeetingId: eu.MeetingId, ExternalUserId: aws.String("u1")})
	if err != nil {
		t.Fatalf("CreateAttendee via b for a meeting on c: %v", err)
	}
	for name, cl := range map[string]*chimesdkmeetings.ChimeSDKMeetings{"a": ca, "b": cb, "c": cc} {
		g, err := cl.GetMeeting(&chimesdkmeetings.GetMeetingInput{MeetingId: eu.MeetingId})
		if err != nil || aws.StringValue(g.Meeting.MediaPlacement.SignalingUrl) != aws.StringValue(eu.MediaPlacement.SignalingUrl) {
			t.Errorf("GetMeeting via %s: %v %v", name, g, err)
		}
		l, err := cl.ListAttendees(&chimesdkmeetings.ListAttendeesInput{MeetingId: eu.MeetingId})
		if err != nil || len(l.Attendees) != 1 || aws.StringValue(l.Attendees[0].AttendeeId) != aws.StringValue(att.Attendee.AttendeeId) {
			t.Errorf("ListAttendees via %s: %v %v", name, l, err)
		}
		ga, err := cl.GetAttendee(&chimesdkmeetings.GetAttendeeInput{MeetingId: eu.MeetingId, AttendeeId: att.Attendee.AttendeeId})
		if err != nil || aws.StringValue(ga.Attendee.JoinToken) != aws.StringValue(att.Attendee.JoinToken) {
			t.Errorf("GetAttendee via %s: %v %v", name, ga, err)
		}
	}
	if _, err := ca.DeleteAttendee(&chimesdkmeetings.DeleteAttendeeInput{MeetingId: eu.MeetingId, AttendeeId: att.Attendee.AttendeeId}); err != nil {
		t.Fatalf("DeleteAttendee via a: %v", err)
	}
	if l, err := cc.ListAttendees(&chimesdkmeetings.ListAttendeesInput{MeetingId: eu.MeetingId}); err != nil || len(l.Attendees) != 0 {
		t.Errorf("ListAttendees on c after the delete via a: %v %v", l, err)
	}
	if _, err := cb.GetMeeting(&chimesdkmeetings.GetMeetingInput{MeetingId: aws.String("00000000-0000-4000-8000-000000000000")}); errCode(err) != "NotFoundException" {
		t.Errorf("unknown meeting via b: %v", err)
	}

	// One ClientRequestToken raced on three nodes: one meeting.
	var wg sync.WaitGroup
	ids := make([]string, 3)
	// (aws-sdk-go v1 sessions are not safe to create concurrently.)
	for i, cl := range []*chimesdkmeetings.ChimeSDKMeetings{ca, cb, cc} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out, err := cl.CreateMeeting(&chimesdkmeetings.CreateMeetingInput{
				ClientRequestToken: aws.String("raced"), MediaRegion: aws.String("us-west-2"), ExternalMeetingId: aws.String("raced"),
			})
			if err != nil {
				t.Errorf("raced CreateMeeting: %v", err)
				return
			}
			ids[i] = aws.StringValue(out.Meeting.MeetingId)
		}()
	}
	wg.Wait()
	if ids[0] == "" || ids[0] != ids[1] || ids[1] != ids[2] {
		t.Errorf("one token on three nodes made meetings %v", ids)
	}

	// A region no node serves.
	_, err = ca.CreateMeeting(&chimesdkmeetings.CreateMeetingInput{ClientRequestToken: aws.String("nowhere"), MediaRegion: aws.String("ap-south-1"), ExternalMeetingId: aws.String("nowhere")})
	if errCode(err) != "ServiceUnavailableException" {
		t.Errorf("unserved region: %v, want ServiceUnavailableException", err)
	}

	// kill -9 of node B: its meetings end, each announced once.
	onB := []string{aws.StringValue(west.MeetingId)}
	if ids[0] != "" && hostOfID(t, ca, ids[0], nodes) == "b" {
		onB = append(onB, ids[0])
	}
	_ = b.cmd.Process.Kill()
	<-b.done
	for _, id := range onB {
		hook.waitCount(t, events.MeetingEnded, id, 1, 10*time.Second)
	}
	time.Sleep(time.Second) // a second announcement would arrive by now
	for _, id := range onB {
		if n := hook.count(events.MeetingEnded, id); n != 1 {
			t.Errorf("MeetingEnded for %s delivered %d times, want once", id, n)
		}
		if _, err := ca.GetMeeting(&chimesdkmeetings.GetMeetingInput{MeetingId: aws.String(id)}); errCode(err) != "NotFoundException" {
			t.Errorf("meeting %s of the dead node: %v, want NotFoundException", id, err)
		}
	}
	for _, m := range []*chimesdkmeetings.Meeting{east, eu} {
		if _, err := ca.GetMeeting(&chimesdkmeetings.GetMeetingInput{MeetingId: m.MeetingId}); err != nil {
			t.Errorf("surviving meeting %s: %v", aws.StringValue(m.MeetingId), err)
		}
	}
	if h := hostOf(t, createIn(t, a, "us-west-2", "after-death"), nodes); h != "c" {
		t.Errorf("us-west-2 meeting after b died on %s, want c", h)
	}

	// B restarts under its id and rejoins: it is the less loaded again.
	b = clusterNode(t, rd, hook, "node-b", "us-west-2", dirB)
	nodes["b"] = b
	time.Sleep(700 * time.Millisecond)
	if h := hostOf(t, createIn(t, c, "us-west-2", "rejoined"), nodes); h != "b" {
		t.Errorf("us-west-2 meeting after b rejoined on %s, want b", h)
	}

	// SIGTERM drains C: no new placements at once, its meetings end at
	// the deadline (2 s), the process exits cleanly.
	stopped := make(chan struct{})
	go func() { c.Stop(); close(stopped) }()
	time.Sleep(500 * time.Millisecond)
	if h := hostOf(t, createIn(t, a, "us-west-2", "while-draining"), nodes); h != "b" {
		t.Errorf("us-west-2 meeting while c drains on %s, want b", h)
	}
	hook.waitCount(t, events.MeetingEnded, aws.StringValue(eu.MeetingId), 1, 10*time.Second)
	<-stopped

	// Redis killed and restarted: /readyz follows it, nothing acknowledged
	// is lost (AOF, appendfsync always).
	rd.Kill()
	if code := getStatus(t, a, "/readyz"); code != http.StatusServiceUnavailable {
		t.Errorf("/readyz with Redis down: %d", code)
	}
	rd.Start()
	deadline := time.Now().Add(10 * time.Second)
	for getStatus(t, a, "/readyz") != http.StatusOK {
		if time.Now().After(deadline) {
			t.Fatal("/readyz did not recover after Redis came back")
		}
		time.Sleep(100 * time.Millisecond)
	}
	// Node a re-registers within a heartbeat or two of Redis returning;
	// until then b answers 503 for a's meetings, never NotFound.
	cb = b.client(testKeyID, testSecret)
	deadline = time.Now().Add(10 * time.Second)
	for {
		_, err := cb.GetMeeting(&chimesdkmeetings.GetMeetingInput{MeetingId: east.MeetingId})
		if err == nil {
			break
		}
		if errCode(err) != "ServiceUnavailableException" || time.Now().After(deadline) {
			t.Fatalf("meeting created before Redis restarted, via b: %v", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func hostOfID(t *testing.T, c *chimesdkmeetings.ChimeSDKMeetings, id string, nodes map[string]*server) string {
	t.Helper()
	g, err := c.GetMeeting(&chimesdkmeetings.GetMeetingInput{MeetingId: aws.String(id)})
	if err != nil {
		t.Fatal(err)
	}
	return hostOf(t, g.Meeting, nodes)
}

func getStatus(t *testing.T, s *server, path string) int {
	t.Helper()
	cl := http.Client{Timeout: 5 * time.Second}
	resp, err := cl.Get(s.Endpoint + path)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestClusterSIPHandover: baresip dials node A's SIP gateway with the join
// token of a meeting hosted on node B. A hands the INVITE over to B's
// gateway; the call then runs on B: a WebRTC attendee in the meeting (on
// B) hears the phone and the phone hears it, not itself; DeleteAttendee
// through A hangs the phone up.
func TestClusterSIPHandover(t *testing.T) {
	rd := redistest.StartRedis(t)
	hook := newWebhookLog(t)
	a := clusterNode(t, rd, hook, "node-a", "us-east-1", "")
	b := clusterNode(t, rd, hook, "node-b", "eu-west-1", "")
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("node a:\n%s\nnode b:\n%s", grepLines(a.Log(), "sipgw"), grepLines(b.Log(), "sipgw"))
		}
	})
	ca := a.client(testKeyID, testSecret)
	m := createIn(t, a, "eu-west-1", "sip-cluster")
	if h := hostOf(t, m, map[string]*server{"a": a, "b": b}); h != "b" {
		t.Fatalf("meeting on %s, want b", h)
	}
	phone, err := ca.CreateAttendee(&chimesdkmeetings.CreateAttendeeInput{MeetingId: m.MeetingId, ExternalUserId: aws.String("phone-user")})
	if err != nil {
		t.Fatal(err)
	}
	web, err := ca.CreateAttendee(&chimesdkmeetings.CreateAttendeeInput{MeetingId: m.MeetingId, ExternalUserId: aws.String("web-user")})
	if err != nil {
		t.Fatal(err)
	}
	const webTone, phoneTone = 700.0, 1000.0
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	browser, err := attendee.Dial(ctx, attendee.Config{
		SignalingURL: aws.StringValue(m.MediaPlacement.SignalingUrl), JoinToken: aws.StringValue(web.Attendee.JoinToken),
		Name: "web", ToneHz: webTone, Loopback: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer browser.Close()

	dir, out := startBaresip(t, sipListener(t, a), aws.StringValue(phone.Attendee.JoinToken), phoneTone)
	phoneID := aws.StringValue(phone.Attendee.AttendeeId)
	waitUntil(t, 15*time.Second, "the phone in the browser's presence", func() bool {
		for _, p := range browser.Presence() {
			if p.AttendeeID == phoneID {
				return true
			}
		}
		return false
	})
	time.Sleep(4 * time.Second) // jitter buffers, talker selection
	pw, n := browser.Power(2*time.Second, phoneTone, webTone)
	if n == 0 || attendee.DB(pw[0])-attendee.DB(pw[1]) < 20 {
		t.Errorf("browser hears the phone at %.1f dB, its own tone at %.1f dB (%d samples): want ≥ 20 dB apart", attendee.DB(pw[0]), attendee.DB(pw[1]), n)
	}
	if got := scrapeMetric(t, a, "confab_sipgw_calls_handed_over_total"); got != 1 {
		t.Errorf("node a handed over %v calls, want 1", got)
	}
	if _, err := ca.DeleteAttendee(&chimesdkmeetings.DeleteAttendeeInput{MeetingId: m.MeetingId, AttendeeId: phone.Attendee.AttendeeId}); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 10*time.Second, "baresip told the call ended (BYE)", func() bool {
		o := strings.ToLower(out.String())
		return strings.Contains(o, "terminated") || strings.Contains(o, "closed")
	})
	checkPhoneHeard(t, dir, webTone, phoneTone)
}

// grepLines returns the lines of log that contain substr.
func grepLines(log, substr string) string {
	var out []string
	for _, l := range strings.Split(log, "\n") {
		if strings.Contains(l, substr) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// TestClusterRateLimit: the API rate per access key holds across the
// cluster: a client alternating between two nodes gets the burst once, not
// once per node.
func TestClusterRateLimit(t *testing.T) {
	rd := redistest.StartRedis(t)
	hook := newWebhookLog(t)
	quotas := "quotas:\n  api_requests_per_second: 1\n  api_burst: 4\n"
	a := clusterNode(t, rd, hook, "node-a", "us-east-1", "", quotas)
	b := clusterNode(t, rd, hook, "node-b", "us-east-1", "", quotas)
	allowed := map[string]int{}
	throttled := 0
	for i := 0; i < 12; i++ {
		s := []*server{a, b}[i%2]
		code, typ, _ := rawCall(t, s, http.MethodGet, "/meetings/00000000-0000-4000-8000-000000000000", "")
		switch {
		case code == http.StatusTooManyRequests && typ == "ThrottlingException":
			throttled++
		case code == http.StatusNotFound:
			allowed[s.Endpoint]++
		default:
			t.Fatalf("GET via %s: %d %s", s.Endpoint, code, typ)
		}
	}
	n := allowed[a.Endpoint] + allowed[b.Endpoint]
	// 4 of burst, plus at most a couple refilled during the calls; a
	// limit per node would have let 8 or more through.
	if n < 4 || n > 6 || throttled == 0 {
		t.Errorf("allowed %v (%d in all), throttled %d: want the burst of 4 once across both nodes", allowed, n, throttled)
	}
}

// TestClusterAdminDrain: POST /admin/drain (SigV4 only) stops placements
// on the node at once and ends its meetings at the drain deadline, while
// the node keeps answering.
func TestClusterAdminDrain(t *testing.T) {
	rd := redistest.StartRedis(t)
	hook := newWebhookLog(t)
	a := clusterNode(t, rd, hook, "node-a", "us-east-1", "")
	b := clusterNode(t, rd, hook, "node-b", "us-east-1", "")
	nodes := map[string]*server{"a": a, "b": b}
	m := createIn(t, a, "us-east-1", "before-drain")
	onA := hostOf(t, m, nodes) == "a"
	drained := b
	if onA {
		drained = a
	}
	if code, _, _ := rawCall(t, drained, http.MethodPost, "/admin/drain", "", "no-sign"); code != http.StatusUnauthorized {
		t.Errorf("unsigned drain: %d, want 401", code)
	}
	if code, _, _ := rawCall(t, drained, http.MethodPost, "/admin/drain", ""); code != http.StatusAccepted {
		t.Fatalf("drain: %d, want 202", code)
	}
	for i := range 3 {
		n := createIn(t, a, "us-east-1", fmt.Sprintf("during-drain-%d", i))
		if s := nodes[hostOf(t, n, nodes)]; s == drained {
			t.Errorf("meeting placed on the draining node")
		}
	}
	hook.waitCount(t, events.MeetingEnded, aws.StringValue(m.MeetingId), 1, 10*time.Second)
	if code := getStatus(t, drained, "/readyz"); code != http.StatusOK {
		t.Errorf("drained node /readyz: %d", code)
	}
}
