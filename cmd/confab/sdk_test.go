package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go/aws"
	"github.com/aws/aws-sdk-go/aws/awserr"
	"github.com/aws/aws-sdk-go/service/chimesdkmeetings"
)

// wantCode asserts an AWS SDK error of the given exception type and status.
func wantCode(t *testing.T, err error, code string, status int) {
	t.Helper()
	var rf awserr.RequestFailure
	if !errors.As(err, &rf) {
		t.Fatalf("err = %v, want %s", err, code)
	}
	if rf.Code() != code || rf.StatusCode() != status || rf.Message() == "" || rf.RequestID() == "" {
		t.Fatalf("got %s/%d %q (request %q), want %s/%d", rf.Code(), rf.StatusCode(), rf.Message(), rf.RequestID(), code, status)
	}
}

var guidRE = regexp.MustCompile(`^[a-f0-9]{8}(-[a-f0-9]{4}){3}-[a-f0-9]{12}$`)

func noThrottle() string { return "quotas:\n  api_requests_per_second: 0\n" }

// TestGoSDKEveryOperation drives all 16 operations through aws-sdk-go v1.
func TestGoSDKEveryOperation(t *testing.T) {
	s := startServer(t, "", noThrottle())
	c := s.client(testKeyID, testSecret)

	// CreateMeeting: shapes and MediaPlacement.
	cm, err := c.CreateMeeting(&chimesdkmeetings.CreateMeetingInput{
		ClientRequestToken: aws.String("go-sdk-1"), MediaRegion: aws.String("eu-west-1"),
		ExternalMeetingId: aws.String("ext-go-1"), MeetingHostId: aws.String("host-1"),
		Tags: []*chimesdkmeetings.Tag{{Key: aws.String("team"), Value: aws.String("a")}},
	})
	if err != nil {
		t.Fatal(err)
	}
	m := cm.Meeting
	id := aws.StringValue(m.MeetingId)
	if !guidRE.MatchString(id) || aws.StringValue(m.MediaRegion) != "eu-west-1" || aws.StringValue(m.ExternalMeetingId) != "ext-go-1" ||
		aws.StringValue(m.MeetingHostId) != "host-1" || m.TenantIds == nil || len(m.TenantIds) != 0 ||
		aws.StringValue(m.MeetingArn) != "arn:aws:chime:eu-west-1:000000000000:meeting/"+id {
		t.Fatalf("meeting = %v", m)
	}
	mp := m.MediaPlacement
	if aws.StringValue(mp.SignalingUrl) != "ws"+strings.TrimPrefix(s.Endpoint, "http")+"/control/"+id ||
		aws.StringValue(mp.AudioHostUrl) == "" || strings.Contains(aws.StringValue(mp.SignalingUrl), "?") {
		t.Fatalf("placement = %v", mp)
	}
	again, err := c.CreateMeeting(&chimesdkmeetings.CreateMeetingInput{
		ClientRequestToken: aws.String("go-sdk-1"), MediaRegion: aws.String("eu-west-1"), ExternalMeetingId: aws.String("ext-go-1"),
	})
	if err != nil || aws.StringValue(again.Meeting.MeetingId) != id {
		t.Fatalf("idempotent create: %v %v", again, err)
	}

	// GetMeeting.
	gm, err := c.GetMeeting(&chimesdkmeetings.GetMeetingInput{MeetingId: aws.String(id)})
	if err != nil || aws.StringValue(gm.Meeting.MeetingId) != id {
		t.Fatalf("get: %v %v", gm, err)
	}

	// CreateAttendee, GetAttendee, BatchCreateAttendee, ListAttendees.
	ca, err := c.CreateAttendee(&chimesdkmeetings.CreateAttendeeInput{MeetingId: aws.String(id), ExternalUserId: aws.String("user-1")})
	if err != nil {
		t.Fatal(err)
	}
	a := ca.Attendee
	if !guidRE.MatchString(aws.StringValue(a.AttendeeId)) || !regexp.MustCompile(`^[A-Za-z0-9_-]+$`).MatchString(aws.StringValue(a.JoinToken)) ||
		aws.StringValue(a.Capabilities.Audio) != "SendReceive" {
		t.Fatalf("attendee = %v", a)
	}
	ga, err := c.GetAttendee(&chimesdkmeetings.GetAttendeeInput{MeetingId: aws.String(id), AttendeeId: a.AttendeeId})
	if err != nil || aws.StringValue(ga.Attendee.JoinToken) != aws.StringValue(a.JoinToken) {
		t.Fatalf("get attendee: %v %v", ga, err)
	}
	bc, err := c.BatchCreateAttendee(&chimesdkmeetings.BatchCreateAttendeeInput{MeetingId: aws.String(id), Attendees: []*chimesdkmeetings.CreateAttendeeRequestItem{
		{ExternalUserId: aws.String("user-2")}, {ExternalUserId: aws.String("aws:reserved")}, {ExternalUserId: aws.String("user-3"),
			Capabilities: &chimesdkmeetings.AttendeeCapabilities{Audio: aws.String("Receive"), Video: aws.String("None"), Content: aws.String("None")}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if len(bc.Attendees) != 2 || len(bc.Errors) != 1 || aws.StringValue(bc.Errors[0].ExternalUserId) != "aws:reserved" ||
		aws.StringValue(bc.Errors[0].ErrorCode) == "" || !strings.Contains(aws.StringValue(bc.Errors[0].ErrorMessage), "ExternalUserId") {
		t.Fatalf("batch = %v", bc)
	}
	var listed []string
	err = c.ListAttendeesPages(&chimesdkmeetings.ListAttendeesInput{MeetingId: aws.String(id), MaxResults: aws.Int64(2)},
		func(p *chimesdkmeetings.ListAttendeesOutput, last bool) bool {
			for _, x := range p.Attendees {
				listed = append(listed, aws.StringValue(x.ExternalUserId))
			}
			return true
		})
	if err != nil || strings.Join(listed, ",") != "user-1,user-2,user-3" {
		t.Fatalf("list = %v %v", listed, err)
	}

	// Capabilities: one, then all but one.
	up, err := c.UpdateAttendeeCapabilities(&chimesdkmeetings.UpdateAttendeeCapabilitiesInput{
		MeetingId: aws.String(id), AttendeeId: a.AttendeeId,
		Capabilities: &chimesdkmeetings.AttendeeCapabilities{Audio: aws.String("Send"), Video: aws.String("Receive"), Content: aws.String("Receive")},
	})
	if err != nil || aws.StringValue(up.Attendee.Capabilities.Audio) != "Send" {
		t.Fatalf("update caps: %v %v", up, err)
	}
	_, err = c.BatchUpdateAttendeeCapabilitiesExcept(&chimesdkmeetings.BatchUpdateAttendeeCapabilitiesExceptInput{
		MeetingId: aws.String(id), ExcludedAttendeeIds: []*chimesdkmeetings.AttendeeIdItem{{AttendeeId: a.AttendeeId}},
		Capabilities: &chimesdkmeetings.AttendeeCapabilities{Audio: aws.String("None"), Video: aws.String("None"), Content: aws.String("None")},
	})
	if err != nil {
		t.Fatal(err)
	}
	ga1, _ := c.GetAttendee(&chimesdkmeetings.GetAttendeeInput{MeetingId: aws.String(id), AttendeeId: a.AttendeeId})
	ga2, _ := c.GetAttendee(&chimesdkmeetings.GetAttendeeInput{MeetingId: aws.String(id), AttendeeId: bc.Attendees[0].AttendeeId})
	if aws.StringValue(ga1.Attendee.Capabilities.Audio) != "Send" || aws.StringValue(ga2.Attendee.Capabilities.Audio) != "None" {
		t.Fatalf("batch-update-except: %v %v", ga1, ga2)
	}

	// Tags.
	arn := m.MeetingArn
	if _, err := c.TagResource(&chimesdkmeetings.TagResourceInput{ResourceARN: arn, Tags: []*chimesdkmeetings.Tag{{Key: aws.String("env"), Value: aws.String("test")}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.UntagResource(&chimesdkmeetings.UntagResourceInput{ResourceARN: arn, TagKeys: []*string{aws.String("team")}}); err != nil {
		t.Fatal(err)
	}
	lt, err := c.ListTagsForResource(&chimesdkmeetings.ListTagsForResourceInput{ResourceARN: arn})
	if err != nil || len(lt.Tags) != 1 || aws.StringValue(lt.Tags[0].Key) != "env" {
		t.Fatalf("tags = %v %v", lt, err)
	}

	// Transcription: a typed 422 that says why.
	_, err = c.StartMeetingTranscription(&chimesdkmeetings.StartMeetingTranscriptionInput{MeetingId: aws.String(id),
		TranscriptionConfiguration: &chimesdkmeetings.TranscriptionConfiguration{EngineTranscribeSettings: &chimesdkmeetings.EngineTranscribeSettings{LanguageCode: aws.String("en-US")}}})
	wantCode(t, err, "UnprocessableEntityException", 422)
	_, err = c.StopMeetingTranscription(&chimesdkmeetings.StopMeetingTranscriptionInput{MeetingId: aws.String(id)})
	wantCode(t, err, "UnprocessableEntityException", 422)

	// CreateMeetingWithAttendees.
	cwa, err := c.CreateMeetingWithAttendees(&chimesdkmeetings.CreateMeetingWithAttendeesInput{
		ClientRequestToken: aws.String("go-sdk-2"), MediaRegion: aws.String("us-east-1"), ExternalMeetingId: aws.String("ext-go-2"),
		Attendees: []*chimesdkmeetings.CreateAttendeeRequestItem{{ExternalUserId: aws.String("p-1")}, {ExternalUserId: aws.String("p-2")}},
	})
	if err != nil || len(cwa.Attendees) != 2 || len(cwa.Errors) != 0 || !guidRE.MatchString(aws.StringValue(cwa.Meeting.MeetingId)) {
		t.Fatalf("create with attendees: %v %v", cwa, err)
	}

	// DeleteAttendee, DeleteMeeting, and the 404s that follow.
	if _, err := c.DeleteAttendee(&chimesdkmeetings.DeleteAttendeeInput{MeetingId: aws.String(id), AttendeeId: a.AttendeeId}); err != nil {
		t.Fatal(err)
	}
	_, err = c.GetAttendee(&chimesdkmeetings.GetAttendeeInput{MeetingId: aws.String(id), AttendeeId: a.AttendeeId})
	wantCode(t, err, "NotFoundException", 404)
	if _, err := c.DeleteMeeting(&chimesdkmeetings.DeleteMeetingInput{MeetingId: aws.String(id)}); err != nil {
		t.Fatal(err)
	}
	_, err = c.GetMeeting(&chimesdkmeetings.GetMeetingInput{MeetingId: aws.String(id)})
	wantCode(t, err, "NotFoundException", 404)
	_, err = c.CreateAttendee(&chimesdkmeetings.CreateAttendeeInput{MeetingId: aws.String(id), ExternalUserId: aws.String("late")})
	wantCode(t, err, "NotFoundException", 404)
	_, err = c.ListTagsForResource(&chimesdkmeetings.ListTagsForResourceInput{ResourceARN: arn})
	wantCode(t, err, "ResourceNotFoundException", 404)

	// The events of all this reached the log sink.
	for _, ev := range []string{"chime:MeetingStarted", "chime:AttendeeAdded", "chime:AttendeeCapabilitiesUpdated", "chime:AttendeeDeleted", "chime:MeetingEnded"} {
		if !strings.Contains(s.Log(), "type="+ev) {
			t.Errorf("no %s event in the log", ev)
		}
	}
}

func TestGoSDKBadInput(t *testing.T) {
	s := startServer(t, "", noThrottle())
	c := s.client(testKeyID, testSecret)
	cm, err := c.CreateMeeting(&chimesdkmeetings.CreateMeetingInput{ClientRequestToken: aws.String("bad-1"), MediaRegion: aws.String("us-east-1"), ExternalMeetingId: aws.String("ext-1")})
	if err != nil {
		t.Fatal(err)
	}
	id := cm.Meeting.MeetingId

	_, err = c.CreateMeeting(&chimesdkmeetings.CreateMeetingInput{ClientRequestToken: aws.String("bad-2"), MediaRegion: aws.String("mars-north-1"), ExternalMeetingId: aws.String("ext-1")})
	wantCode(t, err, "BadRequestException", 400)
	_, err = c.CreateMeeting(&chimesdkmeetings.CreateMeetingInput{ClientRequestToken: aws.String("bad-3"), MediaRegion: aws.String("us-east-1"), ExternalMeetingId: aws.String("ext-1"),
		MeetingFeatures: &chimesdkmeetings.MeetingFeaturesConfiguration{Video: &chimesdkmeetings.VideoFeatures{MaxResolution: aws.String("FHD")}}})
	wantCode(t, err, "BadRequestException", 400)
	_, err = c.CreateAttendee(&chimesdkmeetings.CreateAttendeeInput{MeetingId: id, ExternalUserId: aws.String("user-1"),
		Capabilities: &chimesdkmeetings.AttendeeCapabilities{Audio: aws.String("SendReceive"), Video: aws.String("Send"), Content: aws.String("Receive")}})
	wantCode(t, err, "BadRequestException", 400)
	_, err = c.GetMeeting(&chimesdkmeetings.GetMeetingInput{MeetingId: aws.String("not-a-guid")})
	wantCode(t, err, "BadRequestException", 400)
	_, err = c.GetMeeting(&chimesdkmeetings.GetMeetingInput{MeetingId: aws.String("00000000-0000-0000-0000-000000000000")})
	wantCode(t, err, "NotFoundException", 404)

	// Raw requests the SDK would never send: malformed JSON, wrong types, huge bodies.
	for _, tc := range []struct{ method, path, body, want string }{
		{"POST", "/meetings", `{"ClientRequestToken":`, "not valid JSON"},
		{"POST", "/meetings", `{"ClientRequestToken":42}`, "ClientRequestToken"},
		{"POST", "/meetings", `[1,2]`, "JSON object"},
		{"POST", "/meetings", `{}`, "ClientRequestToken"},
		{"POST", "/meetings/" + aws.StringValue(id) + "/attendees", `{"ExternalUserId":"u","Capabilities":{"Audio":"SendReceive"}}`, "ExternalUserId"},
		{"POST", "/meetings", `{"ClientRequestToken":"` + strings.Repeat("a", 2<<20) + `"}`, "larger than"},
		{"PATCH", "/meetings", ``, "No operation"},
	} {
		status, code, msg := rawCall(t, s, tc.method, tc.path, tc.body)
		wantStatus := 400
		if tc.method == "PATCH" {
			wantStatus = 404
		}
		if status != wantStatus || !strings.Contains(msg, tc.want) || code == "" {
			t.Errorf("%s %s %.40q: %d %s %q, want %d and a message with %q", tc.method, tc.path, tc.body, status, code, msg, wantStatus, tc.want)
		}
	}
}

func TestGoSDKAuthAndThrottling(t *testing.T) {
	s := startServer(t, "", "") // default limits: 10 rps, burst 20
	in := &chimesdkmeetings.GetMeetingInput{MeetingId: aws.String("00000000-0000-0000-0000-000000000000")}

	_, err := s.client("AKIDUNKNOWN00000", testSecret).GetMeeting(in)
	wantCode(t, err, "UnauthorizedException", 401)
	_, err = s.client(testKeyID, "wrong-secret-wrong-secret").GetMeeting(in)
	wantCode(t, err, "ForbiddenException", 403)
	status, code, _ := rawCall(t, s, "GET", "/meetings/00000000-0000-0000-0000-000000000000", "", "no-sign")
	if status != 401 || code != "UnauthorizedException" {
		t.Fatalf("unsigned: %d %s", status, code)
	}

	c := s.client(testKeyID, testSecret)
	var mu sync.Mutex
	counts := map[string]int{}
	var wg sync.WaitGroup
	for range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := c.GetMeeting(in)
			var rf awserr.RequestFailure
			if errors.As(err, &rf) {
				mu.Lock()
				counts[fmt.Sprintf("%s/%d", rf.Code(), rf.StatusCode())]++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	// Auth failures above took tokens too, so at most 20 pass; well under 40 in any case.
	if counts["ThrottlingException/429"] < 15 || counts["NotFoundException/404"] < 1 {
		t.Fatalf("throttling counts = %v", counts)
	}
}

// TestRestartPersistence stops and restarts confab on the same data dir.
func TestRestartPersistence(t *testing.T) {
	dir := t.TempDir()
	s := startServer(t, dir, noThrottle())
	c := s.client(testKeyID, testSecret)
	cm, err := c.CreateMeeting(&chimesdkmeetings.CreateMeetingInput{ClientRequestToken: aws.String("persist-1"), MediaRegion: aws.String("us-east-1"), ExternalMeetingId: aws.String("ext-p")})
	if err != nil {
		t.Fatal(err)
	}
	ca, err := c.CreateAttendee(&chimesdkmeetings.CreateAttendeeInput{MeetingId: cm.Meeting.MeetingId, ExternalUserId: aws.String("user-p")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.TagResource(&chimesdkmeetings.TagResourceInput{ResourceARN: cm.Meeting.MeetingArn, Tags: []*chimesdkmeetings.Tag{{Key: aws.String("k"), Value: aws.String("v")}}}); err != nil {
		t.Fatal(err)
	}
	s.Stop()

	s2 := startServer(t, dir, noThrottle())
	c2 := s2.client(testKeyID, testSecret)
	ga, err := c2.GetAttendee(&chimesdkmeetings.GetAttendeeInput{MeetingId: cm.Meeting.MeetingId, AttendeeId: ca.Attendee.AttendeeId})
	if err != nil || aws.StringValue(ga.Attendee.JoinToken) != aws.StringValue(ca.Attendee.JoinToken) {
		t.Fatalf("attendee after restart: %v %v", ga, err)
	}
	again, err := c2.CreateMeeting(&chimesdkmeetings.CreateMeetingInput{ClientRequestToken: aws.String("persist-1"), MediaRegion: aws.String("us-east-1"), ExternalMeetingId: aws.String("ext-p")})
	if err != nil || aws.StringValue(again.Meeting.MeetingId) != aws.StringValue(cm.Meeting.MeetingId) {
		t.Fatalf("idempotency after restart: %v %v", again, err)
	}
	lt, err := c2.ListTagsForResource(&chimesdkmeetings.ListTagsForResourceInput{ResourceARN: cm.Meeting.MeetingArn})
	if err != nil || len(lt.Tags) != 1 {
		t.Fatalf("tags after restart: %v %v", lt, err)
	}
}

// TestDataDirInUse: a second `confab serve` on a data dir another one holds
// exits at once saying so, naming the holder's pid, and the first one goes
// on serving.
func TestDataDirInUse(t *testing.T) {
	s := startServer(t, "", noThrottle())
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, confabBin, "serve", "--data-dir", s.DataDir, "--listen", "127.0.0.1:0").CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 || !strings.Contains(string(out), "data dir is in use") ||
		!strings.Contains(string(out), fmt.Sprintf("process %d", s.cmd.Process.Pid)) {
		t.Fatalf("second serve: %v\n%s", err, out)
	}
	if _, err := s.client(testKeyID, testSecret).CreateMeeting(&chimesdkmeetings.CreateMeetingInput{
		ClientRequestToken: aws.String("after-refusal"), MediaRegion: aws.String("us-east-1"), ExternalMeetingId: aws.String("ext")}); err != nil {
		t.Fatalf("the first server after the refused second: %v", err)
	}
}

// TestGeneratedCredentials: with no keys configured, confab makes a pair on
// first start, prints it once, and keeps using it.
func TestGeneratedCredentials(t *testing.T) {
	dir := t.TempDir()
	s := startServer(t, dir, "", "CONFAB_UNUSED=1")
	re := regexp.MustCompile(`AWS_ACCESS_KEY_ID=(\S+)\s+AWS_SECRET_ACCESS_KEY=(\S+)`)
	mt := re.FindStringSubmatch(s.Log())
	if mt == nil {
		t.Fatalf("no credentials printed:\n%s", s.Log())
	}
	if _, err := os.Stat(filepath.Join(dir, "credentials.json")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.client(mt[1], mt[2]).CreateMeeting(&chimesdkmeetings.CreateMeetingInput{ClientRequestToken: aws.String("gen-1"), MediaRegion: aws.String("us-east-1"), ExternalMeetingId: aws.String("ext-g")}); err != nil {
		t.Fatal(err)
	}
	s.Stop()
	s2 := startServer(t, dir, "", "CONFAB_UNUSED=1")
	if strings.Contains(s2.Log(), "AWS_SECRET_ACCESS_KEY") {
		t.Fatal("credentials printed a second time")
	}
	if _, err := s2.client(mt[1], mt[2]).GetMeeting(&chimesdkmeetings.GetMeetingInput{MeetingId: aws.String("00000000-0000-0000-0000-000000000000")}); !strings.Contains(fmt.Sprint(err), "NotFound") {
		t.Fatalf("stored credentials not accepted after restart: %v", err)
	}
}

func TestMetricsAndHealth(t *testing.T) {
	s := startServer(t, "", noThrottle())
	c := s.client(testKeyID, testSecret)
	_, _ = c.GetMeeting(&chimesdkmeetings.GetMeetingInput{MeetingId: aws.String("00000000-0000-0000-0000-000000000000")})
	resp, err := http.Get(s.Endpoint + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{
		`confab_api_requests_total{code="404",operation="GetMeeting"} 1`,
		`confab_api_request_duration_seconds_count{operation="GetMeeting"} 1`,
		`confab_meetings_active 0`,
		`confab_attendees 0`,
		`confab_build_info{goversion="` + runtime.Version() + `",version="dev"} 1`,
		// Labelled media series exist at 0 before any meeting.
		`confab_sfu_rtp_packets_total{direction="in",kind="audio"} 0`,
		`confab_sfu_peers{kind="attendee"} 0`,
		`confab_conference_members{kind="phone"} 0`,
		`confab_mixer_jitter_frames_total{event="underrun"} 0`,
		`confab_sipgw_calls_total{codec="pcmu",transport="udp"} 0`,
		`confab_turn_allocations`,
	} {
		if !strings.Contains(string(b), want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	// Every series the Grafana dashboard plots exists from start-up.
	dash, err := os.ReadFile(filepath.Join(repoRoot(t), "docs", "grafana", "confab.json"))
	if err != nil {
		t.Fatal(err)
	}
	var board struct {
		Panels []struct {
			Title   string
			Targets []struct{ Expr string }
		}
	}
	if err := json.Unmarshal(dash, &board); err != nil || len(board.Panels) == 0 {
		t.Fatalf("docs/grafana/confab.json: %v", err)
	}
	name := regexp.MustCompile(`confab_[a-z0-9_]+`)
	for _, p := range board.Panels {
		for _, tg := range p.Targets {
			for _, m := range name.FindAllString(tg.Expr, -1) {
				if !strings.Contains(string(b), "\n"+m+"{") && !strings.Contains(string(b), "\n"+m+" ") {
					t.Errorf("dashboard panel %q plots %s, which /metrics lacks", p.Title, m)
				}
			}
		}
	}
	// /readyz checks the store (a write transaction) and the media socket.
	resp, err = http.Get(s.Endpoint + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || string(b) != "ready\n" {
		t.Errorf("/readyz: %d %q", resp.StatusCode, b)
	}
}

// TestHealthCommand: `confab health URL` (the Docker HEALTHCHECK) exits 0
// against a serving node and 1 against nothing; without a URL it asks the
// port CONFAB_HTTP_LISTEN configures.
func TestHealthCommand(t *testing.T) {
	s := startServer(t, "", noThrottle())
	if out, err := exec.Command(confabBin, "health", s.Endpoint+"/healthz").CombinedOutput(); err != nil {
		t.Fatalf("health of a serving node: %v %s", err, out)
	}
	// Without a URL: the port of CONFAB_HTTP_LISTEN (the container's).
	cmd := exec.Command(confabBin, "health")
	cmd.Env = append(os.Environ(), "CONFAB_HTTP_LISTEN=0.0.0.0:"+strings.TrimPrefix(s.Endpoint, "http://127.0.0.1:"))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("health from CONFAB_HTTP_LISTEN: %v %s", err, out)
	}
	err := exec.Command(confabBin, "health", "http://127.0.0.1:1/healthz").Run()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 {
		t.Fatalf("health of nothing: %v", err)
	}
}

// TestMetricsListen: with http.metrics_listen, /metrics is served there
// and not on the API listener.
func TestMetricsListen(t *testing.T) {
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	s := startServer(t, "", noThrottle(), "CONFAB_HTTP_METRICS_LISTEN="+addr,
		"CONFAB_ACCESS_KEY_ID="+testKeyID, "CONFAB_SECRET_ACCESS_KEY="+testSecret)
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(b), "confab_build_info") {
		t.Fatalf("metrics listener: %d", resp.StatusCode)
	}
	resp, err = http.Get(s.Endpoint + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode == 200 {
		t.Fatal("/metrics still on the API listener")
	}
}
