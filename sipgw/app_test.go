package sipgw

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/confab-media/confab/internal/clock"
	"github.com/confab-media/confab/sma"
)

const (
	appNumber   = "+15550100" // the PIN dial-in number a rule sends to the app
	welcomeTone = 700.0       // the welcome prompt
	pinTone     = 1400.0      // the PIN prompt
)

// appHandler is a SIP media application's HTTP handler run by a script;
// every event it gets is also sent on events.
type appHandler struct {
	srv    *httptest.Server
	events chan sma.Event
	script func(sma.Event) any
}

func newAppHandler(t *testing.T, script func(sma.Event) any) *appHandler {
	h := &appHandler{events: make(chan sma.Event, 64), script: script}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var ev sma.Event
		if err := json.Unmarshal(body, &ev); err != nil {
			t.Errorf("app handler: %v", err)
			return
		}
		h.events <- ev
		if resp := h.script(ev); resp != nil {
			_ = json.NewEncoder(w).Encode(resp)
		}
	}))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *appHandler) next(t *testing.T, want string) sma.Event {
	t.Helper()
	select {
	case ev := <-h.events:
		if ev.InvocationEventType != want {
			t.Fatalf("event %s %+v, want %s", ev.InvocationEventType, ev.ActionData, want)
		}
		return ev
	case <-time.After(10 * time.Second):
		t.Fatalf("no %s within 10 s", want)
		return sma.Event{}
	}
}

// appRuntime routes appNumber to the handler, with prompts of tones.
func appRuntime(t *testing.T, endpoint string, timeout time.Duration) *sma.Runtime {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "prompts"), 0o755); err != nil {
		t.Fatal(err)
	}
	for name, p := range map[string]struct {
		freq float64
		dur  time.Duration
	}{"welcome.wav": {welcomeTone, 1200 * time.Millisecond}, "pin.wav": {pinTone, 10 * time.Second}, "bad.wav": {300, 200 * time.Millisecond}} {
		pcm := make([]int16, int(p.dur/time.Millisecond)*8)
		for i := range pcm {
			pcm[i] = int16(8000 * math.Sin(2*math.Pi*p.freq*float64(i)/8000))
		}
		if err := os.WriteFile(filepath.Join(dir, "prompts", name), sma.EncodeWAV(pcm, 8000), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll(filepath.Join(dir, "recordings"), 0o755); err != nil {
		t.Fatal(err)
	}
	return &sma.Runtime{
		Recordings: &sma.RecordingStore{Dir: dir},
		Config: sma.Config{
			Applications: []sma.Application{{ID: "pin-app", Endpoint: endpoint}},
			Rules:        []sma.Rule{{ID: "pin-rule", TriggerType: sma.TriggerToPhoneNumber, TriggerValue: appNumber, Application: "pin-app"}},
		},
		Invoker: &sma.HTTPInvoker{Timeout: timeout},
		Audio:   &sma.AudioStore{Dir: dir},
		Clock:   clock.System{},
		Log:     testLog(t),
	}
}

func smaActions(as ...map[string]any) map[string]any {
	if as == nil {
		as = []map[string]any{}
	}
	return map[string]any{"SchemaVersion": "1.0", "Actions": as}
}

func smaAction(typ string, params map[string]any) map[string]any {
	return map[string]any{"Type": typ, "Parameters": params}
}

func promptSrc(key string) map[string]any {
	return map[string]any{"Type": "S3", "BucketName": "prompts", "Key": key}
}

// TestAppPINDialIn: a caller dials the PIN number with no token; the
// application plays a welcome and the PIN prompt (heard at the phone),
// gets the PIN as RFC 4733 digits, joins the caller into the meeting
// (audio both ways through the mixer), mutes it on "*", and hangs up on
// "#": BYE, and HANGUP with every leg Disconnected.
func TestAppPINDialIn(t *testing.T) {
	conf := newConference(t)
	auth := newTestAuth()
	auth.add("tok-pin", "att-pin")
	h := newAppHandler(t, func(ev sma.Event) any {
		switch ev.InvocationEventType {
		case sma.EventNewInboundCall:
			return smaActions(
				smaAction("PlayAudio", map[string]any{"AudioSource": promptSrc("welcome.wav")}),
				smaAction("PlayAudioAndGetDigits", map[string]any{
					"AudioSource": promptSrc("pin.wav"), "FailureAudioSource": promptSrc("bad.wav"),
					"MinNumberOfDigits": 4, "MaxNumberOfDigits": 8, "TerminatorDigits": []string{"#"},
					"InBetweenDigitsDurationInMilliseconds": 3000, "Repeat": 2, "RepeatDurationInMilliseconds": 5000}))
		case sma.EventActionSuccessful:
			switch ev.ActionData.Type {
			case "PlayAudioAndGetDigits":
				if *ev.ActionData.ReceivedDigits == "1234" {
					return smaActions(smaAction("JoinChimeMeeting", map[string]any{"JoinToken": "tok-pin"}))
				}
				return smaActions(smaAction("Hangup", map[string]any{"SipResponseCode": "0"}))
			case "JoinChimeMeeting":
				return smaActions(smaAction("ReceiveDigits", map[string]any{
					"InputDigitsRegex": "^[*#]$", "InBetweenDigitsDurationInMilliseconds": 100, "FlushDigitsDurationInMilliseconds": 2000}))
			}
		case sma.EventDigitsReceived:
			if *ev.ActionData.ReceivedDigits == "*" {
				return smaActions(smaAction("ModifyChimeMeetingAttendees", map[string]any{
					"Operation": "Mute", "MeetingId": "m-1", "ParticipantTag": "LEG-B", "AttendeeList": []string{"att-pin"}}))
			}
			return smaActions(smaAction("Hangup", map[string]any{}))
		}
		return smaActions()
	})
	gw := gatewayWith(t, Config{}, Params{Auth: auth, Conference: conf, Apps: appRuntime(t, h.srv.URL, 2*time.Second)})
	udp, _, _ := gw.Addrs()
	u := newListeningUAC(t)
	ph := newRTPPhone(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	offer := plainOffer(ph.port(), 1, "sendrecv", "0 PCMU/8000", "101 telephone-event/8000")
	sess, err := u.dial(ctx, inviteURI(udp, "udp", appNumber, ""), caller, offer)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	ev := h.next(t, sma.EventNewInboundCall)
	if p := ev.CallDetails.Participants; len(p) != 1 || p[0].To != appNumber || p[0].From != caller ||
		ev.CallDetails.SipRuleID != "pin-rule" || ev.CallDetails.SipApplicationID != "pin-app" {
		t.Fatalf("NEW_INBOUND_CALL %+v", ev.CallDetails)
	}
	ph.useAnswer(sess.InviteResponse.Body(), nil)
	ph.start()
	waitFor(t, 5*time.Second, "the welcome prompt", func() bool { return ph.heard.len() >= 900*time.Millisecond })
	checkHears(t, "phone (welcome)", ph.heard.tail(500*time.Millisecond), 8000, welcomeTone, pinTone)
	mark := ph.heard.mark()
	waitFor(t, 5*time.Second, "the PIN prompt", func() bool { return ph.heard.mark()-mark >= 12000 })
	checkHears(t, "phone (PIN prompt)", ph.heard.tail(500*time.Millisecond), 8000, pinTone, welcomeTone)

	for _, d := range []uint8{1, 2, 3, 4, 11} { // 1234#
		ph.sendDTMF(d, 3, 0)
		time.Sleep(40 * time.Millisecond)
	}
	ev = h.next(t, sma.EventActionSuccessful)
	if ev.ActionData.Type != "PlayAudioAndGetDigits" || *ev.ActionData.ReceivedDigits != "1234" {
		t.Fatalf("after the PIN: %+v", ev.ActionData)
	}
	leg := conf.nextJoin(t)
	if leg.id.AttendeeID != "att-pin" {
		t.Fatalf("joined as %q", leg.id.AttendeeID)
	}
	ev = h.next(t, sma.EventActionSuccessful)
	if p := ev.CallDetails.Participants; ev.ActionData.Type != "JoinChimeMeeting" || len(p) != 2 || p[1].ParticipantTag != "LEG-B" ||
		p[1].From != dialIn || p[1].Status != "Connected" {
		t.Fatalf("after JoinChimeMeeting: %+v %+v", ev.ActionData, ev.CallDetails)
	}
	h.next(t, sma.EventActionSuccessful) // ReceiveDigits listens
	bmark := conf.browser.mark()
	pmark := ph.heard.mark()
	waitFor(t, 5*time.Second, "1.5 s of meeting audio at the phone", func() bool { return ph.heard.mark()-pmark >= 12000 })
	checkHears(t, "phone (in the meeting)", ph.heard.tail(time.Second), 8000, browserTone, pinTone)
	checkHears(t, "browser", conf.browser.since(bmark)[24000:], 48000, phoneTone, browserTone)

	ph.sendDTMF(10, 3, 0) // *
	ev = h.next(t, sma.EventDigitsReceived)
	if *ev.ActionData.ReceivedDigits != "*" {
		t.Fatalf("DIGITS_RECEIVED %q", *ev.ActionData.ReceivedDigits)
	}
	ev = h.next(t, sma.EventActionSuccessful)
	if ev.ActionData.Type != "ModifyChimeMeetingAttendees" {
		t.Fatalf("%+v", ev.ActionData)
	}
	waitFor(t, 2*time.Second, "the caller muted", func() bool { return leg.muted.Load() })

	ph.sendDTMF(11, 3, 0) // #
	h.next(t, sma.EventDigitsReceived)
	expectBye(t, u, 5*time.Second, "the application hung up")
	ev = h.next(t, sma.EventHangup)
	for _, p := range ev.CallDetails.Participants {
		if p.Status != "Disconnected" {
			t.Fatalf("HANGUP with %s %s", p.ParticipantTag, p.Status)
		}
	}
	leg.waitLeft(t, 5*time.Second)
	waitFor(t, 2*time.Second, "call removed", func() bool { return gw.activeCalls() == 0 })
	closeAndCheck(t, u, gw)
}

// TestAppHandlerDown: a handler that never answers is tried twice and the
// INVITE gets 480; a call to a number no rule names and without a token
// is refused as before.
func TestAppHandlerDown(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	gw := gatewayWith(t, Config{}, Params{Auth: newTestAuth(), Conference: newConference(t), Apps: appRuntime(t, srv.URL, 300*time.Millisecond)})
	udp, _, _ := gw.Addrs()
	u := newListeningUAC(t)
	ph := newRTPPhone(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	offer := plainOffer(ph.port(), 1, "sendrecv", "0 PCMU/8000")
	start := time.Now()
	_, err := u.dial(ctx, inviteURI(udp, "udp", appNumber, ""), caller, offer)
	if err == nil || !strings.Contains(err.Error(), "480") {
		t.Fatalf("dial: %v, want 480", err)
	}
	if d := time.Since(start); d < 600*time.Millisecond {
		t.Fatalf("480 after %s: fewer than two tries", d)
	}
	_, err = u.dial(ctx, inviteURI(udp, "udp", "+15550199", ""), caller, offer)
	if err == nil || !strings.Contains(err.Error(), "404") {
		t.Fatalf("unrouted number: %v, want 404", err)
	}
	closeAndCheck(t, u, gw)
}

// TestAppAllowlistAndCaps: an INVITE from outside the allowlist gets 403
// before the handler hears of it; past MaxCallsPerSource calls, 486.
func TestAppAllowlistAndCaps(t *testing.T) {
	h := newAppHandler(t, func(ev sma.Event) any {
		return smaActions(smaAction("Pause", map[string]any{"DurationInMilliseconds": 60000}))
	})
	rt := appRuntime(t, h.srv.URL, 2*time.Second)
	rt.Config.AllowedSources = []string{"10.0.0.0/8"}
	rt.Config.Rules = append(rt.Config.Rules, sma.Rule{ID: "loopback-rule", TriggerType: sma.TriggerToPhoneNumber,
		TriggerValue: "+15550101", Application: "pin-app", AllowedSources: []string{"127.0.0.1"}})
	rt.Config.MaxCallsPerSource = 1
	gw := gatewayWith(t, Config{}, Params{Auth: newTestAuth(), Conference: newConference(t), Apps: rt})
	udp, _, _ := gw.Addrs()
	u := newListeningUAC(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	offer := func() []byte { return plainOffer(newRTPPhone(t).port(), 1, "sendrecv", "0 PCMU/8000") }
	if _, err := u.dial(ctx, inviteURI(udp, "udp", appNumber, ""), caller, offer()); err == nil || !strings.Contains(err.Error(), "403") {
		t.Fatalf("from outside the global allowlist: %v, want 403", err)
	}
	sess, err := u.dial(ctx, inviteURI(udp, "udp", "+15550101", ""), caller, offer())
	if err != nil {
		t.Fatalf("allowed by the rule's own list: %v", err)
	}
	h.next(t, sma.EventNewInboundCall)
	if _, err := u.dial(ctx, inviteURI(udp, "udp", "+15550101", ""), caller, offer()); err == nil || !strings.Contains(err.Error(), "486") {
		t.Fatalf("a second call from the source: %v, want 486", err)
	}
	if err := sess.Bye(ctx); err != nil {
		t.Fatal(err)
	}
	h.next(t, sma.EventHangup)
	// The first call's admission is given back: another call gets in.
	waitFor(t, 3*time.Second, "call removed", func() bool { return gw.activeCalls() == 0 })
	sess, err = u.dial(ctx, inviteURI(udp, "udp", "+15550101", ""), caller, offer())
	if err != nil {
		t.Fatalf("after the first call ended: %v", err)
	}
	_ = sess.Bye(ctx)
	closeAndCheck(t, u, gw)
}

// TestAppRecordAudio: RecordAudio keeps the caller's audio (PCMU, decoded)
// for DurationInSeconds and stores a WAV in the bucket that holds the
// caller's tone.
func TestAppRecordAudio(t *testing.T) {
	h := newAppHandler(t, func(ev sma.Event) any {
		if ev.InvocationEventType == sma.EventNewInboundCall {
			return smaActions(smaAction("RecordAudio", map[string]any{"DurationInSeconds": "2", "RecordingTerminators": []string{"#"},
				"RecordingDestination": map[string]any{"Type": "S3", "BucketName": "recordings"}}))
		}
		return smaActions(smaAction("Hangup", map[string]any{}))
	})
	rt := appRuntime(t, h.srv.URL, 2*time.Second)
	gw := gatewayWith(t, Config{}, Params{Auth: newTestAuth(), Conference: newConference(t), Apps: rt})
	udp, _, _ := gw.Addrs()
	u := newListeningUAC(t)
	ph := newRTPPhone(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	sess, err := u.dial(ctx, inviteURI(udp, "udp", appNumber, ""), caller, plainOffer(ph.port(), 1, "sendrecv", "0 PCMU/8000"))
	if err != nil {
		t.Fatal(err)
	}
	ph.useAnswer(sess.InviteResponse.Body(), nil)
	ph.start()
	h.next(t, sma.EventNewInboundCall)
	ev := h.next(t, sma.EventActionSuccessful)
	d := ev.ActionData.RecordingDestination
	if ev.ActionData.Type != "RecordAudio" || d == nil || d.BucketName != "recordings" || d.Key == "" {
		t.Fatalf("%+v", ev.ActionData)
	}
	b, err := os.ReadFile(filepath.Join(rt.Recordings.Dir, "recordings", d.Key))
	if err != nil {
		t.Fatal(err)
	}
	pcm := wavSamples(t, b)
	if len(pcm) < 12000 || len(pcm) > 16000 {
		t.Fatalf("recorded %d samples, want about 2 s at 8 kHz", len(pcm))
	}
	checkHears(t, "recording", pcm[len(pcm)-8000:], 8000, phoneTone, browserTone)
	expectBye(t, u, 5*time.Second, "the application hung up")
	closeAndCheck(t, u, gw)
}

// wavSamples reads a 16-bit mono WAV's samples (44-byte header).
func wavSamples(t *testing.T, b []byte) []int16 {
	t.Helper()
	if len(b) < 44 || string(b[:4]) != "RIFF" || string(b[36:40]) != "data" {
		t.Fatalf("not a plain WAV (%d bytes)", len(b))
	}
	pcm := make([]int16, (len(b)-44)/2)
	for i := range pcm {
		pcm[i] = int16(uint16(b[44+2*i]) | uint16(b[45+2*i])<<8)
	}
	return pcm
}

// TestAppDialOut: Gateway.Dial sends the INVITE through the trunk (a sipgo
// UAS here that challenges with 401 digest and then answers with the
// test phone's SDP); NEW_OUTBOUND_CALL, then CALL_ANSWERED reach the
// handler, whose PlayAudio the callee hears; UpdateSipMediaApplicationCall
// arguments arrive as CALL_UPDATE_REQUESTED; its Hangup sends BYE.
// testTrunk is a trunk's callee for dial-out tests: a sipgo UAS that
// challenges an INVITE without credentials with 401 digest, then answers
// with ph's PCMU SDP; it reports INVITEs and BYEs.
type testTrunk struct {
	conn    net.PacketConn
	ua      *sipgo.UserAgent
	invites chan *sip.Request
	byes    chan struct{}
	served  chan struct{}
}

const trunkUser, trunkPass = "trunkuser", "trunkpass"

func newTestTrunk(t *testing.T, ph *rtpPhone) *testTrunk {
	const realm, nonce = "trunk", "4f1c9e"
	ua, err := sipgo.NewUA(sipgo.WithUserAgent("trunk"))
	if err != nil {
		t.Fatal(err)
	}
	srv, _ := sipgo.NewServer(ua)
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	tr := &testTrunk{conn: conn, ua: ua, invites: make(chan *sip.Request, 4), byes: make(chan struct{}, 1), served: make(chan struct{})}
	srv.OnInvite(func(req *sip.Request, tx sip.ServerTransaction) {
		tr.invites <- req
		h := req.GetHeader("Authorization")
		if h == nil {
			res := sip.NewResponseFromRequest(req, 401, "Unauthorized", nil)
			res.AppendHeader(sip.NewHeader("WWW-Authenticate", fmt.Sprintf(`Digest realm="%s", nonce="%s", algorithm=MD5`, realm, nonce)))
			_ = tx.Respond(res)
			return
		}
		md5hex := func(s string) string { sum := md5.Sum([]byte(s)); return hex.EncodeToString(sum[:]) }
		uri := req.Recipient.String()
		want := md5hex(md5hex(trunkUser+":"+realm+":"+trunkPass) + ":" + nonce + ":" + md5hex("INVITE:"+uri))
		if !strings.Contains(h.Value(), `response="`+want+`"`) {
			t.Errorf("Authorization %q, want response %s for %s", h.Value(), want, uri)
			_ = tx.Respond(sip.NewResponseFromRequest(req, 403, "Forbidden", nil))
			return
		}
		res := sip.NewResponseFromRequest(req, 200, "OK", plainOffer(ph.port(), 1, "sendrecv", "0 PCMU/8000", "101 telephone-event/8000"))
		res.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
		res.AppendHeader(&sip.ContactHeader{Address: sip.Uri{Scheme: "sip", User: "callee", Host: "127.0.0.1", Port: conn.LocalAddr().(*net.UDPAddr).Port}})
		_ = tx.Respond(res)
	})
	srv.OnAck(func(*sip.Request, sip.ServerTransaction) {})
	srv.OnBye(func(req *sip.Request, tx sip.ServerTransaction) {
		_ = tx.Respond(sip.NewResponseFromRequest(req, 200, "OK", nil))
		tr.byes <- struct{}{}
	})
	go func() { defer close(tr.served); _ = srv.ServeUDP(conn) }()
	t.Cleanup(tr.close)
	return tr
}

func (tr *testTrunk) close() {
	_ = tr.ua.Close()
	_ = tr.conn.Close()
	<-tr.served
}

func TestAppDialOut(t *testing.T) {
	ph := newRTPPhone(t)
	trunk := newTestTrunk(t, ph)
	conn, invites, byes := trunk.conn, trunk.invites, trunk.byes
	const user, pass = trunkUser, trunkPass

	h := newAppHandler(t, func(ev sma.Event) any {
		switch ev.InvocationEventType {
		case sma.EventCallAnswered:
			return smaActions(smaAction("PlayAudio", map[string]any{"AudioSource": promptSrc("welcome.wav")}))
		case sma.EventCallUpdateRequested:
			return smaActions(smaAction("Hangup", map[string]any{}))
		}
		return smaActions()
	})
	rt := appRuntime(t, h.srv.URL, 2*time.Second)
	gw := gatewayWith(t, Config{Outbound: Trunk{Host: conn.LocalAddr().String(), Username: user, Password: pass}},
		Params{Auth: newTestAuth(), Conference: newConference(t), Apps: rt})
	app := &rt.Config.Applications[0]
	tx, err := gw.Dial(app, "+15550100", "+15550155", map[string]string{"k": "v"})
	if err != nil {
		t.Fatal(err)
	}
	ev := h.next(t, sma.EventNewOutboundCall)
	if ev.CallDetails.TransactionID != tx || ev.CallDetails.ArgumentsMap["k"] != "v" || ev.CallDetails.Participants[0].Direction != "Outbound" ||
		ev.CallDetails.Participants[0].To != "+15550155" {
		t.Fatalf("NEW_OUTBOUND_CALL %+v", ev.CallDetails)
	}
	first := <-invites
	if first.To().Address.User != "+15550155" || first.From().Address.User != "+15550100" {
		t.Fatalf("INVITE to %s from %s", first.To().Address.User, first.From().Address.User)
	}
	if udp, _, _ := gw.Addrs(); first.Source() != udp.String() {
		t.Errorf("INVITE came from %s, not the gateway's UDP listener %s", first.Source(), udp)
	}
	<-invites // with Authorization
	ph.codec, ph.pt, ph.tePT = codecPCMU, 0, 101
	h.next(t, sma.EventCallAnswered)
	// The callee learns our RTP address from the offer.
	sdp := string(first.Body())
	var rport int
	for _, ln := range strings.Split(sdp, "\r\n") {
		if strings.HasPrefix(ln, "m=audio ") {
			rport, _ = strconv.Atoi(strings.Fields(ln)[1])
		}
	}
	ph.remote = netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(rport))
	ph.start()
	waitFor(t, 5*time.Second, "the prompt at the callee", func() bool { return ph.heard.len() >= 800*time.Millisecond })
	checkHears(t, "callee", ph.heard.tail(500*time.Millisecond), 8000, welcomeTone, phoneTone)
	if err := rt.Update("pin-app", tx, map[string]string{"step": "2"}); err != nil {
		t.Fatal(err)
	}
	h.next(t, sma.EventActionSuccessful) // the prompt ends first; then the update
	ev = h.next(t, sma.EventCallUpdateRequested)
	if !strings.Contains(string(ev.ActionData.Parameters), `"step":"2"`) || ev.ActionData.Type != "CallUpdateRequest" {
		t.Fatalf("CALL_UPDATE_REQUESTED %+v", ev.ActionData)
	}
	select {
	case <-byes:
	case <-time.After(5 * time.Second):
		t.Fatal("no BYE at the callee")
	}
	h.next(t, sma.EventHangup)
	if err := rt.Update("pin-app", tx, nil); !errors.Is(err, sma.ErrNoCall) {
		t.Fatalf("update after the end: %v", err)
	}
	trunk.close()
	closeAndCheck(t, nil, gw)
}

// TestAppDialOutHandlerFails: a handler that fails on CALL_ANSWERED gets
// the answered call hung up (BYE) and HANGUP, and nothing is left running.
func TestAppDialOutHandlerFails(t *testing.T) {
	ph := newRTPPhone(t)
	trunk := newTestTrunk(t, ph)
	h := newAppHandler(t, func(ev sma.Event) any {
		if ev.InvocationEventType == sma.EventCallAnswered {
			return "not a response"
		}
		return smaActions()
	})
	rt := appRuntime(t, h.srv.URL, time.Second)
	gw := gatewayWith(t, Config{Outbound: Trunk{Host: trunk.conn.LocalAddr().String(), Username: trunkUser, Password: trunkPass}},
		Params{Auth: newTestAuth(), Conference: newConference(t), Apps: rt})
	if _, err := gw.Dial(&rt.Config.Applications[0], "+15550100", "+15550155", nil); err != nil {
		t.Fatal(err)
	}
	h.next(t, sma.EventNewOutboundCall)
	h.next(t, sma.EventCallAnswered)
	h.next(t, sma.EventCallAnswered) // the one retry
	select {
	case <-trunk.byes:
	case <-time.After(5 * time.Second):
		t.Fatal("no BYE after the handler failed")
	}
	h.next(t, sma.EventHangup)
	trunk.close()
	closeAndCheck(t, nil, gw)
}
