package sma

import (
	"context"
	"encoding/json"
	"strings"

	"github.com/confab-media/confab/internal/clock"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// pinScript is the guide's end-to-end use case: welcome, PIN, join, then
// what the test asks for.
func pinScript(after func(ev Event) any) handlerFunc {
	return func(ev Event) any {
		switch {
		case ev.InvocationEventType == EventNewInboundCall:
			return actions(
				action("PlayAudio", map[string]any{"AudioSource": s3src("welcome.wav")}),
				action("PlayAudioAndGetDigits", map[string]any{
					"ParticipantTag": "LEG-A", "AudioSource": s3src("pin.wav"), "FailureAudioSource": s3src("bad.wav"),
					"MinNumberOfDigits": 3, "MaxNumberOfDigits": 5, "TerminatorDigits": []string{"#"},
					"InputDigitsRegex": "^1234$", "InBetweenDigitsDurationInMilliseconds": 2000,
					"Repeat": 3, "RepeatDurationInMilliseconds": 3000,
				}),
			)
		case ev.InvocationEventType == EventActionSuccessful && ev.ActionData.Type == "PlayAudioAndGetDigits":
			return actions(action("JoinChimeMeeting", map[string]any{"JoinToken": "good"}))
		}
		return after(ev)
	}
}

var markers = map[string]int16{"welcome.wav": 1, "pin.wav": 2, "bad.wav": 3}

func sendDigits(s *Session, digits string) {
	for _, d := range digits {
		s.Digit(d)
	}
}

func TestPINFlowJoinMuteHangup(t *testing.T) {
	ta := newTestApp(t, pinScript(func(ev Event) any {
		switch {
		case ev.InvocationEventType == EventActionSuccessful && ev.ActionData.Type == "JoinChimeMeeting":
			return actions(action("ModifyChimeMeetingAttendees", map[string]any{
				"Operation": "Mute", "MeetingId": "meeting-1", "ParticipantTag": "LEG-B", "AttendeeList": []string{"attendee-1"}}))
		case ev.InvocationEventType == EventActionSuccessful && ev.ActionData.Type == "ModifyChimeMeetingAttendees":
			return actions(action("Hangup", map[string]any{"SipResponseCode": "0"}))
		}
		return nil
	}))
	call := newFakeCall()
	s, code, done := startSession(t, ta, prompts(t, 800, markers), call)
	if code != 0 {
		t.Fatalf("Begin = %d", code)
	}
	ev := ta.next()
	if ev.InvocationEventType != EventNewInboundCall || ev.Sequence != 1 || ev.SchemaVersion != "1.0" {
		t.Fatalf("first event %+v", ev)
	}
	cd := ev.CallDetails
	if cd.SipRuleID != "rule-1" || cd.SipApplicationID != "app-1" || cd.AwsAccountID != "123456789012" || cd.AwsRegion != "us-east-1" ||
		len(cd.Participants) != 1 || cd.Participants[0].ParticipantTag != LegA || cd.Participants[0].To != "+15550100" ||
		cd.Participants[0].From != "+15550111" || cd.Participants[0].Direction != "Inbound" || cd.Participants[0].Status != StatusConnected {
		t.Fatalf("call details %+v", cd)
	}
	time.Sleep(150 * time.Millisecond) // welcome (100 ms) is over, the PIN prompt plays
	sendDigits(s, "1234#")
	ev = ta.next()
	if ev.InvocationEventType != EventActionSuccessful || ev.ActionData.Type != "PlayAudioAndGetDigits" ||
		ev.ActionData.ReceivedDigits == nil || *ev.ActionData.ReceivedDigits != "1234" {
		t.Fatalf("after the PIN: %+v %+v", ev, ev.ActionData)
	}
	var params map[string]any
	if err := json.Unmarshal(ev.ActionData.Parameters, &params); err != nil || params["InputDigitsRegex"] != "^1234$" {
		t.Fatalf("ActionData.Parameters are not echoed: %s", ev.ActionData.Parameters)
	}
	ev = ta.next()
	if ev.ActionData.Type != "JoinChimeMeeting" || len(ev.CallDetails.Participants) != 2 {
		t.Fatalf("after join: %+v", ev)
	}
	b := ev.CallDetails.Participants[1]
	if b.ParticipantTag != LegB || b.To != "SMA" || b.From != "+17035550122" || b.Direction != "Outbound" || b.Status != StatusConnected {
		t.Fatalf("LEG-B %+v", b)
	}
	ev = ta.next()
	if ev.ActionData.Type != "ModifyChimeMeetingAttendees" || ev.InvocationEventType != EventActionSuccessful {
		t.Fatalf("after mute: %+v", ev)
	}
	if !call.bridged.muted {
		t.Fatal("the caller is not muted")
	}
	select {
	case c := <-call.hangup:
		if c != 0 {
			t.Fatalf("hangup code %d", c)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no hangup")
	}
	s.End() // the gateway reports the call over
	ev = ta.next()
	if ev.InvocationEventType != EventHangup || ev.ActionData.Type != "Hangup" {
		t.Fatalf("last event %+v", ev)
	}
	for _, p := range ev.CallDetails.Participants {
		if p.Status != StatusGone {
			t.Fatalf("participant still %s: %+v", p.Status, p)
		}
	}
	<-done
	if got := call.plays(); len(got) != 2 || got[0] != 1 || got[1] != 2 {
		t.Fatalf("played %v, want welcome then PIN prompt", got)
	}
	if !call.bridged.left {
		t.Fatal("the meeting leg was not left")
	}
}

func TestWrongPINPlaysFailureAndRepeats(t *testing.T) {
	ta := newTestApp(t, pinScript(func(Event) any { return actions() }))
	call := newFakeCall()
	s, _, _ := startSession(t, ta, prompts(t, 400, markers), call)
	ta.next() // NEW_INBOUND_CALL
	time.Sleep(100 * time.Millisecond)
	sendDigits(s, "9999#") // wrong: the failure prompt, then the PIN prompt again
	deadline := time.Now().Add(5 * time.Second)
	for len(call.plays()) < 4 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	sendDigits(s, "1234#")
	ev := ta.next()
	if *ev.ActionData.ReceivedDigits != "1234" {
		t.Fatalf("digits %q", *ev.ActionData.ReceivedDigits)
	}
	if got := call.plays(); len(got) != 4 || got[1] != 2 || got[2] != 3 || got[3] != 2 {
		t.Fatalf("played %v, want welcome, PIN, failure, PIN", got)
	}
}

func TestDigitsTimeoutFailsAfterRepeats(t *testing.T) {
	ta := newTestApp(t, func(ev Event) any {
		if ev.InvocationEventType == EventNewInboundCall {
			return actions(action("PlayAudioAndGetDigits", map[string]any{
				"AudioSource": s3src("pin.wav"), "FailureAudioSource": s3src("bad.wav"), "MinNumberOfDigits": 1,
				"Repeat": 2, "RepeatDurationInMilliseconds": 100}))
		}
		return actions()
	})
	call := newFakeCall()
	startSession(t, ta, prompts(t, 80, markers), call)
	ta.next()
	ev := ta.next()
	if ev.InvocationEventType != EventActionFailed || ev.ActionData.ErrorType != ErrInvalidDigitsReceived {
		t.Fatalf("%+v %+v", ev, ev.ActionData)
	}
	if got := call.plays(); len(got) != 4 {
		t.Fatalf("played %v, want PIN, failure, PIN, failure", got)
	}
}

// TestActionErrors: each bad action gives ACTION_FAILED with the guide's
// error type, and the call goes on with the handler's next actions.
func TestActionErrors(t *testing.T) {
	cases := []struct {
		name    string
		action  map[string]any
		errType string
	}{
		{"PlayAudio without AudioSource", action("PlayAudio", map[string]any{}), ErrInvalidAudioSource},
		{"PlayAudio of a missing key", action("PlayAudio", map[string]any{"AudioSource": s3src("nope.wav")}), ErrInvalidAudioSource},
		{"PlayAudio of a text file", action("PlayAudio", map[string]any{"AudioSource": s3src("text.wav")}), ErrInvalidAudioSource},
		{"PlayAudio leaving the directory", action("PlayAudio", map[string]any{"AudioSource": map[string]any{"Type": "S3", "BucketName": "..", "Key": "x.wav"}}), ErrInvalidAudioSource},
		{"PlayAudio on an unknown CallId", action("PlayAudio", map[string]any{"CallId": "nope", "AudioSource": s3src("pin.wav")}), ErrInvalidActionParameter},
		{"Pause on LEG-B unbridged", action("Pause", map[string]any{"ParticipantTag": "LEG-B", "DurationInMilliseconds": "10"}), ErrInvalidActionParameter},
		{"Pause without a duration", action("Pause", map[string]any{}), ErrInvalidActionParameter},
		{"Pause with a word for a duration", action("Pause", map[string]any{"DurationInMilliseconds": "soon"}), ErrInvalidActionParameter},
		{"ReceiveDigits with a bad regex", action("ReceiveDigits", map[string]any{"InputDigitsRegex": "(", "InBetweenDigitsDurationInMilliseconds": 10, "FlushDigitsDurationInMilliseconds": 10}), ErrInvalidActionParameter},
		{"PlayAudioAndGetDigits with a bad terminator", action("PlayAudioAndGetDigits", map[string]any{"AudioSource": s3src("pin.wav"), "FailureAudioSource": s3src("bad.wav"), "TerminatorDigits": []string{"x"}, "RepeatDurationInMilliseconds": 10}), ErrInvalidActionParameter},
		{"JoinChimeMeeting with a bad token", action("JoinChimeMeeting", map[string]any{"JoinToken": "bad"}), ErrInvalidActionParameter},
		{"Mute unbridged", action("ModifyChimeMeetingAttendees", map[string]any{"Operation": "Mute", "MeetingId": "m", "AttendeeList": []string{"a"}}), ErrInvalidActionParameter},
		{"Modify with a bad operation", action("ModifyChimeMeetingAttendees", map[string]any{"Operation": "Shout", "MeetingId": "m", "AttendeeList": []string{"a"}}), ErrInvalidActionParameter},
		{"Hangup with code 404", action("Hangup", map[string]any{"SipResponseCode": "404"}), ErrInvalidActionParameter},
		{"an unknown action", action("Dance", map[string]any{}), ErrInvalidActionParameter},
		{"RecordAudio to a missing bucket", action("RecordAudio", map[string]any{"DurationInSeconds": "1", "RecordingDestination": map[string]any{"Type": "S3", "BucketName": "nope"}}), ErrInvalidActionParameter},
		{"RecordAudio without a duration", action("RecordAudio", map[string]any{"RecordingDestination": map[string]any{"Type": "S3", "BucketName": "recs"}}), ErrInvalidActionParameter},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ta := newTestApp(t, func(ev Event) any {
				if ev.InvocationEventType == EventNewInboundCall {
					return actions(tc.action)
				}
				return actions()
			})
			audio := prompts(t, 80, markers)
			if err := os.WriteFile(filepath.Join(audio.Dir, "prompts", "text.wav"), []byte("not audio"), 0o644); err != nil {
				t.Fatal(err)
			}
			startSession(t, ta, audio, newFakeCall())
			ta.next()
			ev := ta.next()
			if ev.InvocationEventType != EventActionFailed || ev.ActionData.ErrorType != tc.errType || ev.ActionData.ErrorMessage == "" {
				t.Fatalf("got %s %+v, want ACTION_FAILED %s", ev.InvocationEventType, ev.ActionData, tc.errType)
			}
		})
	}
}

func TestReceiveDigitsInBackground(t *testing.T) {
	ta := newTestApp(t, func(ev Event) any {
		if ev.InvocationEventType == EventNewInboundCall {
			return actions(action("ReceiveDigits", map[string]any{
				"InputDigitsRegex": `^\d{2}#$`, "InBetweenDigitsDurationInMilliseconds": 50, "FlushDigitsDurationInMilliseconds": 5000}))
		}
		return actions()
	})
	s, _, _ := startSession(t, ta, prompts(t, 80, markers), newFakeCall())
	ta.next()
	ev := ta.next()
	if ev.InvocationEventType != EventActionSuccessful || ev.ActionData.ReceivedDigits == nil || *ev.ActionData.ReceivedDigits != "" {
		t.Fatalf("%+v", ev)
	}
	sendDigits(s, "12#")
	ev = ta.next()
	if ev.InvocationEventType != EventDigitsReceived || *ev.ActionData.ReceivedDigits != "12#" || ev.ActionData.Type != "ReceiveDigits" {
		t.Fatalf("%+v %+v", ev, ev.ActionData)
	}
}

func TestCallerHangsUpDuringPrompt(t *testing.T) {
	ta := newTestApp(t, func(ev Event) any {
		return actions(action("PlayAudio", map[string]any{"AudioSource": s3src("welcome.wav")}))
	})
	s, _, done := startSession(t, ta, prompts(t, 80000, markers), newFakeCall()) // 10 s
	ta.next()
	s.End()
	ev := ta.next()
	if ev.InvocationEventType != EventHangup || ev.CallDetails.Participants[0].Status != StatusGone {
		t.Fatalf("%+v", ev)
	}
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return")
	}
}

// TestKeyPressStopsPlayAudio: a digit during a PlayAudio prompt stops it
// and the action succeeds at once, as the guide's PlayAudio says ("if a
// user stops playback with a key press").
func TestKeyPressStopsPlayAudio(t *testing.T) {
	ta := newTestApp(t, func(ev Event) any {
		if ev.InvocationEventType == EventNewInboundCall {
			return actions(action("PlayAudio", map[string]any{"AudioSource": s3src("welcome.wav")}))
		}
		return actions()
	})
	call := newFakeCall()
	s, _, _ := startSession(t, ta, prompts(t, 80000, markers), call) // 10 s
	ta.next()
	time.Sleep(100 * time.Millisecond) // playing
	start := time.Now()
	sendDigits(s, "5")
	ev := ta.next()
	if ev.InvocationEventType != EventActionSuccessful || ev.ActionData.Type != "PlayAudio" {
		t.Fatalf("%+v", ev)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("the prompt played on for %v after the key press", d)
	}
	call.mu.Lock()
	stopped := call.stopped
	call.mu.Unlock()
	if stopped == 0 {
		t.Fatal("StopPlay was not called")
	}
}

func TestMeetingEndsWhileBridged(t *testing.T) {
	ta := newTestApp(t, func(ev Event) any {
		if ev.InvocationEventType == EventNewInboundCall {
			return actions(action("JoinChimeMeeting", map[string]any{"JoinToken": "good"}))
		}
		return actions()
	})
	call := newFakeCall()
	startSession(t, ta, prompts(t, 80, markers), call)
	ta.next()
	ta.next() // ACTION_SUCCESSFUL JoinChimeMeeting
	close(call.bridged.done)
	ev := ta.next()
	if ev.InvocationEventType != EventHangup || len(ev.CallDetails.Participants) != 2 ||
		ev.CallDetails.Participants[0].Status != StatusConnected || ev.CallDetails.Participants[1].Status != StatusGone {
		t.Fatalf("%+v", ev)
	}
	var p legParams
	_ = json.Unmarshal(ev.ActionData.Parameters, &p)
	if p.ParticipantTag != LegB {
		t.Fatalf("HANGUP names %+v, want LEG-B", p)
	}
}

func TestBeginRefusals(t *testing.T) {
	hang := newTestApp(t, func(Event) any {
		return actions(action("Hangup", map[string]any{"SipResponseCode": "486"}))
	})
	if _, code, _ := startSession(t, hang, prompts(t, 80, markers), newFakeCall()); code != 486 {
		t.Fatalf("Hangup 486 first: Begin = %d", code)
	}
	broken := newTestApp(t, func(Event) any { return "not a response" })
	if _, code, _ := startSession(t, broken, prompts(t, 80, markers), newFakeCall()); code != 480 {
		t.Fatalf("a broken handler: Begin = %d, want 480", code)
	}
	broken.mu.Lock()
	n := len(broken.events)
	broken.mu.Unlock()
	if n != 2 {
		t.Fatalf("a broken handler got %d tries, want 2", n)
	}
}

// TestRecordAudio: RecordAudio keeps the caller's audio until a
// terminator, stores it as a WAV in the bucket, and reports where.
func TestRecordAudio(t *testing.T) {
	ta := newTestApp(t, func(ev Event) any {
		if ev.InvocationEventType == EventNewInboundCall {
			return actions(action("RecordAudio", map[string]any{"DurationInSeconds": "10", "RecordingTerminators": []string{"#"},
				"RecordingDestination": map[string]any{"Type": "S3", "BucketName": "recs", "Prefix": "voicemail/"}}))
		}
		return actions()
	})
	recs := t.TempDir()
	if err := os.Mkdir(filepath.Join(recs, "recs"), 0o755); err != nil {
		t.Fatal(err)
	}
	rt := &Runtime{Invoker: &HTTPInvoker{}, Audio: prompts(t, 80, markers), Recordings: &RecordingStore{Dir: recs}, Clock: clock.System{}}
	s := rt.NewSession(CallInfo{Rule: &Rule{ID: "r"}, App: ta.app, To: "+1555", From: "+1666"})
	if code := s.Begin(context.Background()); code != 0 {
		t.Fatal(code)
	}
	done := make(chan struct{})
	go func() { defer close(done); s.Run(context.Background(), newFakeCall()) }()
	defer func() { s.End(); <-done }()
	ta.next()
	time.Sleep(300 * time.Millisecond)
	s.Digit('#')
	ev := ta.next()
	d := ev.ActionData.RecordingDestination
	if ev.InvocationEventType != EventActionSuccessful || d == nil || d.BucketName != "recs" || !strings.HasPrefix(d.Key, "voicemail/") {
		t.Fatalf("%+v %+v", ev, ev.ActionData)
	}
	b, err := os.ReadFile(filepath.Join(recs, "recs", d.Key))
	if err != nil {
		t.Fatal(err)
	}
	pcm, err := decodeWAV(b)
	if err != nil || len(pcm) < 1600 {
		t.Fatalf("recording: %d samples, %v", len(pcm), err)
	}
}

// TestFailingHandlerLoopEnds: a handler that answers every ACTION_FAILED
// with another failing action does not spin the call forever: after
// maxFailures in a row the call is hung up.
func TestFailingHandlerLoopEnds(t *testing.T) {
	ta := newTestApp(t, func(ev Event) any {
		return actions(action("Pause", map[string]any{})) // no duration: always fails
	})
	call := newFakeCall()
	startSession(t, ta, prompts(t, 80, markers), call)
	select {
	case <-call.hangup:
	case <-time.After(10 * time.Second):
		t.Fatal("the call was not hung up")
	}
	ta.mu.Lock()
	n := len(ta.events)
	ta.mu.Unlock()
	if n != maxFailures+1 { // NEW_INBOUND_CALL, maxFailures ACTION_FAILED; the next failure hangs up
		t.Fatalf("%d events, want %d", n, maxFailures+1)
	}
}
