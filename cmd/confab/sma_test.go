package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go/aws"
	"github.com/aws/aws-sdk-go/aws/credentials"
	"github.com/aws/aws-sdk-go/aws/session"
	"github.com/aws/aws-sdk-go/service/chimesdkmeetings"
	"github.com/aws/aws-sdk-go/service/chimesdkvoice"
	awss3 "github.com/aws/aws-sdk-go/service/s3"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/confab-media/confab/bench/attendee"
	"github.com/confab-media/confab/signaling/notify"
	"github.com/confab-media/confab/sma"
)

const smaSecret = "sma-secret-at-least-16-bytes"

// pinHandler is a SIP media application's handler as its author would
// write it: a PIN prompt, CreateAttendee through the Chime SDK API when
// the PIN names the meeting, JoinChimeMeeting with its token, then "*"
// mutes and "#" hangs up.
type pinHandler struct {
	t       *testing.T
	pin     string
	meeting atomic.Pointer[string]
	client  atomic.Pointer[chimesdkmeetings.ChimeSDKMeetings]
	caller  atomic.Pointer[string] // the caller's attendee id
	events  chan sma.Event
	// token, if set, is the join token (of attendee caller) to answer the
	// PIN with, instead of creating an attendee.
	token string
}

func (h *pinHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	if err := notify.VerifyWebhook([]byte(smaSecret), r.Header, body, time.Now(), 0); err != nil {
		h.t.Errorf("handler: %v", err)
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	var ev sma.Event
	if err := json.Unmarshal(body, &ev); err != nil {
		h.t.Errorf("handler: %v", err)
		return
	}
	h.events <- ev
	act := func(typ string, p map[string]any) map[string]any { return map[string]any{"Type": typ, "Parameters": p} }
	reply := func(actions ...map[string]any) {
		if actions == nil {
			actions = []map[string]any{}
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"SchemaVersion": "1.0", "Actions": actions})
	}
	src := func(key string) map[string]any {
		return map[string]any{"Type": "S3", "BucketName": "prompts", "Key": key}
	}
	switch ev.InvocationEventType {
	case sma.EventNewInboundCall:
		reply(act("PlayAudioAndGetDigits", map[string]any{
			"AudioSource": src("pin.wav"), "FailureAudioSource": src("bad.wav"), "MinNumberOfDigits": 4,
			"MaxNumberOfDigits": 8, "TerminatorDigits": []string{"#"}, "Repeat": 3, "RepeatDurationInMilliseconds": 10000}))
	case sma.EventActionSuccessful:
		switch ev.ActionData.Type {
		case "PlayAudioAndGetDigits":
			if *ev.ActionData.ReceivedDigits != h.pin {
				reply(act("Hangup", map[string]any{"SipResponseCode": "0"}))
				return
			}
			if h.token != "" {
				reply(act("JoinChimeMeeting", map[string]any{"JoinToken": h.token}))
				return
			}
			a, err := h.client.Load().CreateAttendee(&chimesdkmeetings.CreateAttendeeInput{MeetingId: h.meeting.Load(), ExternalUserId: aws.String("pstn-caller")})
			if err != nil {
				h.t.Errorf("handler: CreateAttendee: %v", err)
				reply(act("Hangup", map[string]any{}))
				return
			}
			h.caller.Store(a.Attendee.AttendeeId)
			reply(act("JoinChimeMeeting", map[string]any{"JoinToken": *a.Attendee.JoinToken}))
		case "JoinChimeMeeting":
			reply(act("ReceiveDigits", map[string]any{"InputDigitsRegex": "^[*#]$", "InBetweenDigitsDurationInMilliseconds": 200, "FlushDigitsDurationInMilliseconds": 5000}))
		default:
			reply()
		}
	case sma.EventDigitsReceived:
		if *ev.ActionData.ReceivedDigits == "*" {
			reply(act("ModifyChimeMeetingAttendees", map[string]any{"Operation": "Mute", "MeetingId": *h.meeting.Load(),
				"ParticipantTag": "LEG-B", "AttendeeList": []string{*h.caller.Load()}}))
			return
		}
		reply(act("Hangup", map[string]any{}))
	default:
		reply()
	}
}

func (h *pinHandler) next(t *testing.T, want, action string) sma.Event {
	t.Helper()
	for {
		select {
		case ev := <-h.events:
			if ev.InvocationEventType == want && (action == "" || ev.ActionData != nil && ev.ActionData.Type == action) {
				return ev
			}
			if ev.InvocationEventType == sma.EventActionFailed {
				t.Fatalf("ACTION_FAILED %s: %s %s", ev.ActionData.Type, ev.ActionData.ErrorType, ev.ActionData.ErrorMessage)
			}
		case <-time.After(20 * time.Second):
			t.Fatalf("no %s %s within 20 s", want, action)
		}
	}
}

// TestSIPMediaApplicationOverServe: baresip dials a PIN number of `confab
// serve` with no join token. The SIP rule sends the call to an HTTP
// handler (signed requests) that plays a PIN prompt; the caller keys
// "1234#" (RFC 4733 from baresip's keypad); the handler creates an
// attendee through the Meetings API and answers JoinChimeMeeting. A
// WebRTC attendee in the meeting then sees the caller in its presence
// and hears its tone; "*" mutes the caller (ModifyChimeMeetingAttendees:
// its tone drops by more than 30 dB) and "#" hangs up (BYE, and HANGUP
// with every leg Disconnected). The phone heard the prompt, then the
// meeting.
func TestSIPMediaApplicationOverServe(t *testing.T) {
	const webTone, phoneTone, promptTone = 700.0, 1000.0, 1400.0
	prompts := t.TempDir()
	if err := os.MkdirAll(filepath.Join(prompts, "prompts"), 0o755); err != nil {
		t.Fatal(err)
	}
	writeWAV(t, filepath.Join(prompts, "prompts", "pin.wav"), 16000, promptTone, 15*time.Second)
	writeWAV(t, filepath.Join(prompts, "prompts", "bad.wav"), 8000, 300, 500*time.Millisecond)

	h := &pinHandler{t: t, pin: "1234", events: make(chan sma.Event, 64)}
	hs := httptest.NewServer(h)
	defer hs.Close()
	yaml := noThrottle() + fmt.Sprintf(`sip:
  applications:
    - {id: pin-app, endpoint: %q, secret: %q}
  rules:
    - {id: pin-rule, trigger_type: ToPhoneNumber, trigger_value: "+15550100", application: pin-app}
  prompts_dir: %q
`, hs.URL, smaSecret, prompts)
	s := startServer(t, "", yaml)
	c := s.client(testKeyID, testSecret)
	h.client.Store(c)
	cm, err := c.CreateMeeting(&chimesdkmeetings.CreateMeetingInput{
		ClientRequestToken: aws.String("sma-1"), MediaRegion: aws.String("us-east-1"), ExternalMeetingId: aws.String("sma-1"),
	})
	if err != nil {
		t.Fatal(err)
	}
	h.meeting.Store(cm.Meeting.MeetingId)
	web, err := c.CreateAttendee(&chimesdkmeetings.CreateAttendeeInput{MeetingId: cm.Meeting.MeetingId, ExternalUserId: aws.String("web-user")})
	if err != nil {
		t.Fatal(err)
	}
	browser, err := attendee.Dial(t.Context(), attendee.Config{
		SignalingURL: aws.StringValue(cm.Meeting.MediaPlacement.SignalingUrl), JoinToken: aws.StringValue(web.Attendee.JoinToken),
		Name: "web", ToneHz: webTone, Loopback: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer browser.Close()

	cons := freeUDP(t)
	dir, out := startBaresipDial(t, "sip:+15550100@"+sipListener(t, s), phoneTone, cons)
	ev := h.next(t, sma.EventNewInboundCall, "")
	if p := ev.CallDetails.Participants; len(p) != 1 || p[0].To != "+15550100" || p[0].From != "+12065550100" ||
		ev.CallDetails.SipRuleID != "pin-rule" || ev.CallDetails.SipApplicationID != "pin-app" || ev.CallDetails.AwsAccountID == "" {
		t.Fatalf("NEW_INBOUND_CALL %+v", ev.CallDetails)
	}
	time.Sleep(2 * time.Second) // the prompt plays
	sendKeys(t, cons, "1234#", 300*time.Millisecond)
	ev = h.next(t, sma.EventActionSuccessful, "PlayAudioAndGetDigits")
	if *ev.ActionData.ReceivedDigits != "1234" {
		t.Fatalf("ReceivedDigits %q", *ev.ActionData.ReceivedDigits)
	}
	ev = h.next(t, sma.EventActionSuccessful, "JoinChimeMeeting")
	if p := ev.CallDetails.Participants; len(p) != 2 || p[1].ParticipantTag != "LEG-B" || p[1].Status != "Connected" {
		t.Fatalf("after JoinChimeMeeting: %+v", ev.CallDetails.Participants)
	}
	callerID := *h.caller.Load()
	present := func() bool {
		for _, p := range browser.Presence() {
			if p.AttendeeID == callerID {
				return true
			}
		}
		return false
	}
	waitUntil(t, 15*time.Second, "the caller in the WebRTC attendee's presence", present)
	time.Sleep(3 * time.Second) // jitter buffers, talker selection
	pw, n := browser.Power(2*time.Second, phoneTone, webTone)
	before := attendee.DB(pw[0])
	if n == 0 || before-attendee.DB(pw[1]) < 20 {
		t.Fatalf("the WebRTC attendee hears the caller at %.1f dB, its own tone at %.1f dB (%d samples): want ≥ 20 dB apart", before, attendee.DB(pw[1]), n)
	}

	sendKeys(t, cons, "*", 0)
	h.next(t, sma.EventDigitsReceived, "ReceiveDigits")
	h.next(t, sma.EventActionSuccessful, "ModifyChimeMeetingAttendees")
	time.Sleep(1500 * time.Millisecond)
	pw, _ = browser.Power(time.Second, phoneTone)
	after := attendee.DB(pw[0])
	t.Logf("the caller's tone at the WebRTC attendee: %.1f dB, %.1f dB once muted", before, after)
	if before-after < 30 {
		t.Errorf("muted caller: its tone at %.1f dB, was %.1f dB: want a drop over 30 dB", after, before)
	}

	sendKeys(t, cons, "#", 0)
	ev = h.next(t, sma.EventHangup, "")
	for _, p := range ev.CallDetails.Participants {
		if p.Status != "Disconnected" {
			t.Errorf("HANGUP: %s is %s", p.ParticipantTag, p.Status)
		}
	}
	waitUntil(t, 10*time.Second, "baresip told the call ended (BYE)", func() bool {
		o := out.String()
		o = strings.ToLower(o)
		return strings.Contains(o, "terminated") || strings.Contains(o, "closed")
	})
	waitUntil(t, 10*time.Second, "the caller's presence gone", func() bool { return !present() })

	// What the phone heard: the prompt first, then the meeting.
	files, _ := filepath.Glob(filepath.Join(dir, "dump-*-dec.wav"))
	if len(files) != 1 {
		t.Fatalf("baresip recordings: %v", files)
	}
	pcm := readPCM16(t, files[0])
	if len(pcm) < 6*8000 {
		t.Fatalf("the phone recorded %d samples", len(pcm))
	}
	first := pcm[4000:12000] // 0.5–1.5 s: the PIN prompt
	if p, w := goertzel8k(first, promptTone), goertzel8k(first, webTone); p-w < 20 {
		t.Errorf("phone's first second: prompt at %.1f dB, meeting at %.1f dB", p, w)
	}
	var heardMeeting bool
	for i := 8000; i+8000 <= len(pcm); i += 4000 {
		win := pcm[i : i+8000]
		if goertzel8k(win, webTone)-goertzel8k(win, promptTone) >= 20 && goertzel8k(win, webTone)-goertzel8k(win, phoneTone) >= 20 {
			heardMeeting = true
			break
		}
	}
	if !heardMeeting {
		t.Error("the phone never heard the meeting (the WebRTC attendee's tone) after the join")
	}
}

// TestSIPMediaApplicationLambda: an application whose handler is a Lambda
// ARN is invoked RequestResponse (SigV4, service lambda) through the
// notifications endpoint that serves the ARN, with the event as payload;
// the function's Hangup 486 is the caller's final response.
func TestSIPMediaApplicationLambda(t *testing.T) {
	const fn = "arn:aws:lambda:us-east-1:000000000000:function:pin-dialin"
	type invocation struct {
		path, invocationType, auth string
		ev                         sma.Event
	}
	got := make(chan invocation, 8)
	lambda := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var ev sma.Event
		_ = json.Unmarshal(body, &ev)
		got <- invocation{r.URL.EscapedPath(), r.Header.Get("X-Amz-Invocation-Type"), r.Header.Get("Authorization"), ev}
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"SchemaVersion":"1.0","Actions":[{"Type":"Hangup","Parameters":{"SipResponseCode":"486"}}]}`)
	}))
	defer lambda.Close()
	yaml := noThrottle() + fmt.Sprintf(`notifications:
  endpoints:
    - {service: lambda, url: %q, access_key_id: AKIDLAMBDA, secret_access_key: lambda-secret}
sip:
  applications:
    - {id: lambda-app, lambda_arn: %q}
  rules:
    - {id: lambda-rule, trigger_type: ToPhoneNumber, trigger_value: "+15550102", application: lambda-app}
`, lambda.URL, fn)
	s := startServer(t, "", yaml)
	_, out := startBaresipDial(t, "sip:+15550102@"+sipListener(t, s), 1000, 0)
	var inv invocation
	select {
	case inv = <-got:
	case <-time.After(15 * time.Second):
		t.Fatal("the function was not invoked")
	}
	if want := "/2015-03-31/functions/" + strings.ReplaceAll(fn, ":", "%3A") + "/invocations"; inv.path != want {
		t.Errorf("invoked %s, want %s", inv.path, want)
	}
	if inv.invocationType != "RequestResponse" || !strings.Contains(inv.auth, "/us-east-1/lambda/aws4_request") {
		t.Errorf("invocation type %q, authorization %q", inv.invocationType, inv.auth)
	}
	if inv.ev.InvocationEventType != sma.EventNewInboundCall || inv.ev.CallDetails.SipApplicationID != "lambda-app" ||
		inv.ev.CallDetails.Participants[0].To != "+15550102" {
		t.Errorf("payload %+v", inv.ev)
	}
	waitUntil(t, 10*time.Second, "baresip refused with 486", func() bool { return strings.Contains(out.String(), "486") })
}

// TestVoiceAPIRulesRouteCallsAfterKill: an application and a rule created
// through the Chime SDK Voice API (aws-sdk-go's chimesdkvoice) survive
// kill -9 of the server; after a restart on the same data directory a call
// to the rule's number reaches the application's handler (signed with
// sip.application_secret), whose Hangup 486 the caller gets.
func TestVoiceAPIRulesRouteCallsAfterKill(t *testing.T) {
	const secret = "api-apps-secret-0123456789"
	got := make(chan sma.Event, 8)
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if err := notify.VerifyWebhook([]byte(secret), r.Header, body, time.Now(), 0); err != nil {
			t.Errorf("handler: %v", err)
		}
		var ev sma.Event
		_ = json.Unmarshal(body, &ev)
		got <- ev
		_, _ = io.WriteString(w, `{"SchemaVersion":"1.0","Actions":[{"Type":"Hangup","Parameters":{"SipResponseCode":"486"}}]}`)
	}))
	defer hs.Close()
	yaml := noThrottle() + fmt.Sprintf("sip:\n  application_secret: %q\n", secret)
	dataDir := t.TempDir()
	s := startServer(t, dataDir, yaml)
	v := voiceClient(s)
	app, err := v.CreateSipMediaApplication(&chimesdkvoice.CreateSipMediaApplicationInput{
		AwsRegion: aws.String("us-east-1"), Name: aws.String("api-app"),
		Endpoints: []*chimesdkvoice.SipMediaApplicationEndpoint{{LambdaArn: aws.String(hs.URL)}},
	})
	if err != nil {
		t.Fatal(err)
	}
	rule, err := v.CreateSipRule(&chimesdkvoice.CreateSipRuleInput{
		Name: aws.String("api-rule"), TriggerType: aws.String("ToPhoneNumber"), TriggerValue: aws.String("+15550103"),
		TargetApplications: []*chimesdkvoice.SipRuleTargetApplication{{SipMediaApplicationId: app.SipMediaApplication.SipMediaApplicationId, Priority: aws.Int64(1)}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.cmd.Process.Kill(); err != nil { // kill -9 right after the acknowledgements
		t.Fatal(err)
	}
	<-s.done

	s = startServer(t, dataDir, yaml)
	_, out := startBaresipDial(t, "sip:+15550103@"+sipListener(t, s), 1000, 0)
	select {
	case ev := <-got:
		if ev.InvocationEventType != sma.EventNewInboundCall || ev.CallDetails.SipRuleID != *rule.SipRule.SipRuleId ||
			ev.CallDetails.SipApplicationID != *app.SipMediaApplication.SipMediaApplicationId {
			t.Fatalf("event %+v", ev)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("the API-created application's handler was not called after the restart")
	}
	waitUntil(t, 10*time.Second, "baresip refused with 486", func() bool { return strings.Contains(out.String(), "486") })
}

// TestSIPMediaApplicationDialOut: CreateSipMediaApplicationCall (aws-sdk-go
// chimesdkvoice) makes `confab serve` place a call through its outbound
// trunk to an auto-answering baresip; the handler gets NEW_OUTBOUND_CALL
// and CALL_ANSWERED, creates an attendee and answers JoinChimeMeeting; a
// WebRTC attendee in the meeting hears the callee's tone and sees it;
// UpdateSipMediaApplicationCall's arguments reach the handler as
// CALL_UPDATE_REQUESTED, whose Hangup ends the call (baresip sees BYE).
func TestSIPMediaApplicationDialOut(t *testing.T) {
	const webTone, calleeTone = 700.0, 1000.0
	trunk, out := startBaresipCallee(t, "+15550155", calleeTone)

	var meetingID atomic.Pointer[string]
	var client atomic.Pointer[chimesdkmeetings.ChimeSDKMeetings]
	var calleeID atomic.Pointer[string]
	events := make(chan sma.Event, 32)
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var ev sma.Event
		_ = json.Unmarshal(body, &ev)
		events <- ev
		switch ev.InvocationEventType {
		case sma.EventCallAnswered:
			a, err := client.Load().CreateAttendee(&chimesdkmeetings.CreateAttendeeInput{MeetingId: meetingID.Load(), ExternalUserId: aws.String("callee")})
			if err != nil {
				t.Errorf("CreateAttendee: %v", err)
				return
			}
			calleeID.Store(a.Attendee.AttendeeId)
			fmt.Fprintf(w, `{"SchemaVersion":"1.0","Actions":[{"Type":"JoinChimeMeeting","Parameters":{"JoinToken":%q}}]}`, *a.Attendee.JoinToken)
		case sma.EventCallUpdateRequested:
			_, _ = io.WriteString(w, `{"SchemaVersion":"1.0","Actions":[{"Type":"Hangup","Parameters":{}}]}`)
		default:
			_, _ = io.WriteString(w, `{"SchemaVersion":"1.0","Actions":[]}`)
		}
	}))
	defer hs.Close()
	yaml := noThrottle() + fmt.Sprintf(`sip:
  applications:
    - {id: out-app, endpoint: %q}
  outbound:
    host: "127.0.0.1:%d"
`, hs.URL, trunk)
	s := startServer(t, "", yaml)
	c := s.client(testKeyID, testSecret)
	client.Store(c)
	cm, err := c.CreateMeeting(&chimesdkmeetings.CreateMeetingInput{ClientRequestToken: aws.String("out-1"), MediaRegion: aws.String("us-east-1"), ExternalMeetingId: aws.String("out-1")})
	if err != nil {
		t.Fatal(err)
	}
	meetingID.Store(cm.Meeting.MeetingId)
	web, err := c.CreateAttendee(&chimesdkmeetings.CreateAttendeeInput{MeetingId: cm.Meeting.MeetingId, ExternalUserId: aws.String("web")})
	if err != nil {
		t.Fatal(err)
	}
	browser, err := attendee.Dial(t.Context(), attendee.Config{SignalingURL: *cm.Meeting.MediaPlacement.SignalingUrl,
		JoinToken: *web.Attendee.JoinToken, Name: "web", ToneHz: webTone, Loopback: true})
	if err != nil {
		t.Fatal(err)
	}
	defer browser.Close()

	v := voiceClient(s)
	call, err := v.CreateSipMediaApplicationCall(&chimesdkvoice.CreateSipMediaApplicationCallInput{
		SipMediaApplicationId: aws.String("out-app"), FromPhoneNumber: aws.String("+15550100"), ToPhoneNumber: aws.String("+15550155"),
		ArgumentsMap: map[string]*string{"meeting": cm.Meeting.MeetingId},
	})
	if err != nil {
		t.Fatal(err)
	}
	tx := *call.SipMediaApplicationCall.TransactionId
	next := func(want string) sma.Event {
		t.Helper()
		for {
			select {
			case ev := <-events:
				if ev.InvocationEventType == want {
					return ev
				}
			case <-time.After(20 * time.Second):
				t.Fatalf("no %s within 20 s", want)
			}
		}
	}
	ev := next(sma.EventNewOutboundCall)
	if ev.CallDetails.TransactionID != tx || ev.CallDetails.ArgumentsMap["meeting"] != *cm.Meeting.MeetingId {
		t.Fatalf("NEW_OUTBOUND_CALL %+v", ev.CallDetails)
	}
	next(sma.EventCallAnswered)
	next(sma.EventActionSuccessful) // JoinChimeMeeting
	waitUntil(t, 15*time.Second, "the callee in the WebRTC attendee's presence", func() bool {
		for _, p := range browser.Presence() {
			if id := calleeID.Load(); id != nil && p.AttendeeID == *id {
				return true
			}
		}
		return false
	})
	time.Sleep(3 * time.Second)
	pw, n := browser.Power(2*time.Second, calleeTone, webTone)
	t.Logf("the callee's tone at the WebRTC attendee: %.1f dB, its own %.1f dB", attendee.DB(pw[0]), attendee.DB(pw[1]))
	if n == 0 || attendee.DB(pw[0])-attendee.DB(pw[1]) < 20 {
		t.Errorf("the WebRTC attendee does not hear the callee ≥ 20 dB over its own tone")
	}
	if _, err := v.UpdateSipMediaApplicationCall(&chimesdkvoice.UpdateSipMediaApplicationCallInput{
		SipMediaApplicationId: aws.String("out-app"), TransactionId: aws.String(tx), Arguments: map[string]*string{"action": aws.String("bye")},
	}); err != nil {
		t.Fatal(err)
	}
	next(sma.EventCallUpdateRequested)
	next(sma.EventHangup)
	waitUntil(t, 10*time.Second, "baresip told the call ended (BYE)", func() bool {
		o := strings.ToLower(out.String())
		return strings.Contains(o, "terminated") || strings.Contains(o, "closed")
	})
}

// TestSIPMediaApplicationS3: with sip.s3 pointing at an S3-compatible
// server (gofakes3, in this process), the PIN prompt is read from a bucket
// and RecordAudio writes the caller's audio into another: baresip hears
// the prompt, and the stored WAV (read back through S3) holds its tone.
func TestSIPMediaApplicationS3(t *testing.T) {
	const callerTone, promptTone = 1000.0, 1400.0
	s3srv := httptest.NewServer(gofakes3.New(s3mem.New()).Server())
	defer s3srv.Close()
	store := awss3.New(session.Must(session.NewSession(&aws.Config{
		Region: aws.String("us-east-1"), Endpoint: aws.String(s3srv.URL), S3ForcePathStyle: aws.Bool(true),
		Credentials: credentials.NewStaticCredentials("AKIDS3", "s3-secret", ""),
	})))
	for _, b := range []string{"prompts", "recordings"} {
		if _, err := store.CreateBucket(&awss3.CreateBucketInput{Bucket: aws.String(b)}); err != nil {
			t.Fatal(err)
		}
	}
	dir := t.TempDir()
	writeWAV(t, filepath.Join(dir, "hello.wav"), 8000, promptTone, 1500*time.Millisecond)
	wav, _ := os.ReadFile(filepath.Join(dir, "hello.wav"))
	if _, err := store.PutObject(&awss3.PutObjectInput{Bucket: aws.String("prompts"), Key: aws.String("hello.wav"), Body: bytes.NewReader(wav)}); err != nil {
		t.Fatal(err)
	}
	events := make(chan sma.Event, 16)
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var ev sma.Event
		_ = json.Unmarshal(body, &ev)
		events <- ev
		switch {
		case ev.InvocationEventType == sma.EventNewInboundCall:
			_, _ = io.WriteString(w, `{"SchemaVersion":"1.0","Actions":[
				{"Type":"PlayAudio","Parameters":{"AudioSource":{"Type":"S3","BucketName":"prompts","Key":"hello.wav"}}},
				{"Type":"RecordAudio","Parameters":{"DurationInSeconds":"2","RecordingTerminators":["#"],"RecordingDestination":{"Type":"S3","BucketName":"recordings","Prefix":"pin/"}}}]}`)
		case ev.InvocationEventType == sma.EventActionSuccessful && ev.ActionData.Type == "RecordAudio":
			_, _ = io.WriteString(w, `{"SchemaVersion":"1.0","Actions":[{"Type":"Hangup","Parameters":{}}]}`)
		default:
			_, _ = io.WriteString(w, `{"SchemaVersion":"1.0","Actions":[]}`)
		}
	}))
	defer hs.Close()
	yaml := noThrottle() + fmt.Sprintf(`sip:
  applications:
    - {id: rec-app, endpoint: %q}
  rules:
    - {id: rec-rule, trigger_type: ToPhoneNumber, trigger_value: "+15550104", application: rec-app}
  s3:
    endpoint: %q
    region: us-east-1
    access_key_id: AKIDS3
    secret_access_key: s3-secret
`, hs.URL, s3srv.URL)
	s := startServer(t, "", yaml)
	phoneDir, out := startBaresipDial(t, "sip:+15550104@"+sipListener(t, s), callerTone, 0)
	var rec *sma.RecordingDestination
	for rec == nil {
		select {
		case ev := <-events:
			if ev.InvocationEventType == sma.EventActionFailed {
				t.Fatalf("ACTION_FAILED %s: %s", ev.ActionData.ErrorType, ev.ActionData.ErrorMessage)
			}
			if ev.InvocationEventType == sma.EventActionSuccessful && ev.ActionData.Type == "RecordAudio" {
				rec = ev.ActionData.RecordingDestination
			}
		case <-time.After(20 * time.Second):
			t.Fatal("no RecordAudio result within 20 s")
		}
	}
	if rec.BucketName != "recordings" || !strings.HasPrefix(rec.Key, "pin/") {
		t.Fatalf("RecordingDestination %+v", rec)
	}
	obj, err := store.GetObject(&awss3.GetObjectInput{Bucket: aws.String(rec.BucketName), Key: aws.String(rec.Key)})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(obj.Body)
	_ = obj.Body.Close()
	recPath := filepath.Join(t.TempDir(), "rec.wav")
	_ = os.WriteFile(recPath, b, 0o644)
	pcm := readPCM16(t, recPath)
	if len(pcm) < 12000 {
		t.Fatalf("the recording has %d samples, want about 2 s", len(pcm))
	}
	tail := pcm[len(pcm)-8000:]
	if c, p := goertzel8k(tail, callerTone), goertzel8k(tail, promptTone); c-p < 20 {
		t.Errorf("recording: caller's tone %.1f dB, prompt's %.1f dB", c, p)
	}
	waitUntil(t, 10*time.Second, "baresip told the call ended (BYE)", func() bool {
		o := strings.ToLower(out.String())
		return strings.Contains(o, "terminated") || strings.Contains(o, "closed")
	})
	files, _ := filepath.Glob(filepath.Join(phoneDir, "dump-*-dec.wav"))
	if len(files) != 1 {
		t.Fatalf("baresip recordings: %v", files)
	}
	heard := readPCM16(t, files[0])
	if len(heard) < 8000 {
		t.Fatalf("the phone recorded %d samples", len(heard))
	}
	first := heard[2000:8000]
	if p, c := goertzel8k(first, promptTone), goertzel8k(first, callerTone); p-c < 20 {
		t.Errorf("the phone's first second: prompt at %.1f dB, its own tone at %.1f dB", p, c)
	}
}

// voiceClient is aws-sdk-go's Chime SDK Voice client for s, with the test key.
func voiceClient(s *server) *chimesdkvoice.ChimeSDKVoice {
	return chimesdkvoice.New(session.Must(session.NewSession(&aws.Config{
		Region: aws.String("us-east-1"), Endpoint: aws.String(s.Endpoint),
		Credentials: credentials.NewStaticCredentials(testKeyID, testSecret, ""), MaxRetries: aws.Int(0),
	})))
}
