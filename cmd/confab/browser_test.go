package main

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go/aws"
	"github.com/aws/aws-sdk-go/service/chimesdkmeetings"

	"github.com/confab-media/confab/internal/redistest"
	"github.com/confab-media/confab/sma"
)

// browserTestDir holds the real-browser harness, relative to the repository root.
const browserTestDir = "cmd/confab/browsertest"

// chromiumPath is the Debian chromium binary (the /usr/bin/chromium wrapper
// prints a harmless shell error, so the driver calls this one directly).
const chromiumPath = "/usr/lib/chromium/chromium"

// TestBrowserStockSDK joins a running `confab serve` with the UNMODIFIED
// amazon-chime-sdk-js (npm 3.x) in three headless Chromium instances driven
// by playwright-core (cmd/confab/browsertest/driver.mjs). Each attendee's
// fake microphone plays its own tone (440/660/880 Hz).
//
// It runs the driver's full stage: all three reach audioVideoDidStart;
// presence shows all three (including self) on every page; each hears both
// other tones and its own at least 20 dB weaker (mix-minus, Goertzel on the
// received stream); volume indicators fire; a data message from A reaches B
// and C but not A. Then video (RID simulcast uplink, an application
// downlink policy in browsertest/policy.js): every attendee starts its fake
// camera and gets two decoding remote tiles bound to the other two
// attendees; A switches both from the highest to the lowest layer, which
// the SDK sends as REMOTE_VIDEO_UPDATE with no new SUBSCRIBE, and the same
// tiles keep decoding at the smaller size; B shares a canvas as content and
// A and C get a decoding content tile bound to B#content. Then the
// capabilities the API sets are enforced on the live sessions:
// UpdateAttendeeCapabilities(C, Audio=Receive) and A and B stop hearing C
// (the tone check); Video=Receive and C's tile stops decoding on A and B;
// SendReceive brings both back with nothing done on C's page. Last, stop()
// ends each session with Left, and DeleteMeeting.
// (The driver's older "signaling" stage expected SUBSCRIBE to fail with 503,
// from before the SFU existed; it is kept only for debugging signaling.)
//
// Chromium, node and the npm packages are test dependencies: their absence
// fails the test instead of skipping it.
func TestBrowserStockSDK(t *testing.T) {
	node := requireNode(t, browserTestDir)
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Fatalf("%s is missing (%v): run `make test-deps`", chromiumPath, err)
	}
	s := startServer(t, "", noThrottle(), "CONFAB_ACCESS_KEY_ID="+testKeyID, "CONFAB_SECRET_ACCESS_KEY="+testSecret, "PION_LOG_WARN=all")
	warnings := func() string { return "server warnings:\n" + serverWarnings(s.Log(), 60) }
	runNode(t, node, 5*time.Minute, []string{
		"CONFAB_ENDPOINT=" + s.Endpoint,
		"CONFAB_ACCESS_KEY_ID=" + testKeyID,
		"CONFAB_SECRET_ACCESS_KEY=" + testSecret,
		"CONFAB_BROWSER_STAGE=full",
		"CONFAB_CHROMIUM=" + chromiumPath,
	}, warnings, browserTestDir+"/driver.mjs")
}

// serverWarnings returns the last max lines of log that are warnings or
// errors (confab's own and pion's), for a failed browser run.
func serverWarnings(log string, max int) string {
	var out []string
	for _, l := range strings.Split(log, "\n") {
		if strings.Contains(l, "WARN") || strings.Contains(l, "ERROR") || strings.Contains(l, "level=warn") ||
			strings.Contains(l, "level=error") || strings.Contains(l, "warning") {
			out = append(out, l)
		}
	}
	if len(out) > max {
		out = out[len(out)-max:]
	}
	return strings.Join(out, "\n")
}

// TestBrowserCluster runs the driver's cluster stage against two `confab
// serve` nodes on one redis-server: meetings in us-east-1 and eu-west-1 are
// created through node A, land on the two nodes (one serves each region),
// and three Chromium pages with the stock SDK join each, through TURN: each
// page hears the other two of its meeting and not itself.
func TestBrowserCluster(t *testing.T) {
	node := requireNode(t, browserTestDir)
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Fatalf("%s is missing (%v): run `make test-deps`", chromiumPath, err)
	}
	rd := redistest.StartRedis(t)
	hook := newWebhookLog(t)
	a := clusterNode(t, rd, hook, "node-a", "us-east-1", "")
	b := clusterNode(t, rd, hook, "node-b", "eu-west-1", "")
	warnings := func() string {
		var out strings.Builder
		for _, s := range []*server{a, b} {
			fmt.Fprintf(&out, "%s warnings:\n%s\n", s.Endpoint, serverWarnings(s.Log(), 40))
		}
		return out.String()
	}
	runNode(t, node, 5*time.Minute, []string{
		"CONFAB_ENDPOINT=" + a.Endpoint,
		"CONFAB_ACCESS_KEY_ID=" + testKeyID,
		"CONFAB_SECRET_ACCESS_KEY=" + testSecret,
		"CONFAB_BROWSER_STAGE=cluster",
		"CONFAB_BROWSER_REGIONS=us-east-1,eu-west-1",
		"CONFAB_CHROMIUM=" + chromiumPath,
	}, warnings, browserTestDir+"/driver.mjs")
}

// TestBrowserDemo uses Confab's own meeting web app (package demo, served
// at / on loopback by default) as a person would, in two headless Chromium
// pages (cmd/confab/browsertest/demo.mjs): each types the meeting name and
// a name and presses Join; both rosters list both; each starts its camera
// and shows the other's decoding tile; each hears the other's tone and not
// its own; a screen share shows as a content tile on the other page; a
// chat line from one appears on the other; Leave takes one out
// of the other's roster. CONFAB_DEMO_SCREENSHOT=<png> keeps a screenshot
// (the README's). The binary must have been built with the app's script
// (`make demo`, part of `make test`): without it the test fails, saying so.
func TestBrowserDemo(t *testing.T) {
	node := requireNode(t, browserTestDir)
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Fatalf("%s is missing (%v): run `make test-deps`", chromiumPath, err)
	}
	s := startServer(t, "", "", "PION_LOG_WARN=all")
	warnings := func() string { return "server warnings:\n" + serverWarnings(s.Log(), 60) }
	runNode(t, node, 3*time.Minute, []string{
		"CONFAB_ENDPOINT=" + s.Endpoint,
		"CONFAB_CHROMIUM=" + chromiumPath,
		"CONFAB_DEMO_SCREENSHOT=" + os.Getenv("CONFAB_DEMO_SCREENSHOT"),
	}, warnings, browserTestDir+"/demo.mjs")
}

// TestBrowserSIPMediaApplication: the SIP media application PIN flow with
// the stock SDK in Chromium on the other end. baresip dials a PIN number
// of `confab serve` with no token, keys "1234#" at the prompt, and the
// signed HTTP handler answers JoinChimeMeeting; a Chromium page joined to
// the meeting (cmd/confab/browsertest/driver.mjs, stage "phone") shows the
// caller in its roster and hears its tone; "*" (ModifyChimeMeetingAttendees
// Mute) drops the tone by more than 30 dB at the page; "#" hangs up and
// the caller leaves the roster; HANGUP reaches the handler.
func TestBrowserSIPMediaApplication(t *testing.T) {
	const phoneTone = 1000.0
	node := requireNode(t, browserTestDir)
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Fatalf("%s is missing (%v): run `make test-deps`", chromiumPath, err)
	}
	prompts := t.TempDir()
	if err := os.MkdirAll(filepath.Join(prompts, "prompts"), 0o755); err != nil {
		t.Fatal(err)
	}
	writeWAV(t, filepath.Join(prompts, "prompts", "pin.wav"), 8000, 1400, 15*time.Second)
	writeWAV(t, filepath.Join(prompts, "prompts", "bad.wav"), 8000, 300, 500*time.Millisecond)
	h := &pinHandler{t: t, pin: "1234", events: make(chan sma.Event, 64)}
	hs := httptest.NewServer(h)
	defer hs.Close()
	s := startServer(t, "", noThrottle()+fmt.Sprintf(`sip:
  applications:
    - {id: pin-app, endpoint: %q, secret: %q}
  rules:
    - {id: pin-rule, trigger_type: ToPhoneNumber, trigger_value: "+15550100", application: pin-app}
  prompts_dir: %q
`, hs.URL, smaSecret, prompts))
	c := s.client(testKeyID, testSecret)
	h.client.Store(c)
	cm, err := c.CreateMeeting(&chimesdkmeetings.CreateMeetingInput{ClientRequestToken: aws.String("sma-browser"),
		MediaRegion: aws.String("us-east-1"), ExternalMeetingId: aws.String("sma-browser")})
	if err != nil {
		t.Fatal(err)
	}
	h.meeting.Store(cm.Meeting.MeetingId)
	web, err := c.CreateAttendee(&chimesdkmeetings.CreateAttendeeInput{MeetingId: cm.Meeting.MeetingId, ExternalUserId: aws.String("web")})
	if err != nil {
		t.Fatal(err)
	}
	phone, err := c.CreateAttendee(&chimesdkmeetings.CreateAttendeeInput{MeetingId: cm.Meeting.MeetingId, ExternalUserId: aws.String("pstn-caller")})
	if err != nil {
		t.Fatal(err)
	}
	h.token = *phone.Attendee.JoinToken
	h.caller.Store(phone.Attendee.AttendeeId)

	cons := freeUDP(t)
	startBaresipDial(t, "sip:+15550100@"+sipListener(t, s), phoneTone, cons)
	h.next(t, sma.EventNewInboundCall, "")
	time.Sleep(2 * time.Second) // the prompt plays
	sendKeys(t, cons, "1234#", 300*time.Millisecond)
	h.next(t, sma.EventActionSuccessful, "JoinChimeMeeting")

	// The page signals through files: heard → mute, muted → hang up.
	signals := t.TempDir()
	keysDone := make(chan struct{})
	go func() {
		defer close(keysDone)
		for _, step := range []struct{ file, key string }{{"heard", "*"}, {"muted", "#"}} {
			deadline := time.Now().Add(2 * time.Minute)
			for {
				if _, err := os.Stat(filepath.Join(signals, step.file)); err == nil {
					break
				}
				if time.Now().After(deadline) {
					return
				}
				time.Sleep(100 * time.Millisecond)
			}
			if conn, err := net.Dial("udp", fmt.Sprintf("127.0.0.1:%d", cons)); err == nil {
				_, _ = conn.Write([]byte(step.key))
				_ = conn.Close()
			}
		}
	}()
	meetingJSON, _ := json.Marshal(map[string]any{
		"MeetingId": *cm.Meeting.MeetingId, "ExternalMeetingId": *cm.Meeting.ExternalMeetingId, "MediaRegion": *cm.Meeting.MediaRegion,
		"MediaPlacement": cm.Meeting.MediaPlacement,
	})
	attendeeJSON, _ := json.Marshal(map[string]string{"AttendeeId": *web.Attendee.AttendeeId, "ExternalUserId": "web", "JoinToken": *web.Attendee.JoinToken})
	warnings := func() string { return "server warnings:\n" + serverWarnings(s.Log(), 60) }
	runNode(t, node, 3*time.Minute, []string{
		"CONFAB_ENDPOINT=" + s.Endpoint,
		"CONFAB_ACCESS_KEY_ID=" + testKeyID,
		"CONFAB_SECRET_ACCESS_KEY=" + testSecret,
		"CONFAB_BROWSER_STAGE=phone",
		"CONFAB_CHROMIUM=" + chromiumPath,
		"CONFAB_MEETING=" + string(meetingJSON),
		"CONFAB_ATTENDEE=" + string(attendeeJSON),
		"CONFAB_PHONE_ATTENDEE_ID=" + *phone.Attendee.AttendeeId,
		fmt.Sprintf("CONFAB_PHONE_FREQ=%g", phoneTone),
		"CONFAB_SIGNAL_DIR=" + signals,
	}, warnings, browserTestDir+"/driver.mjs")
	<-keysDone
	h.next(t, sma.EventHangup, "")
}
