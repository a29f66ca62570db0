package sipgw

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/confab-media/confab/internal/fakeclock"
	"github.com/confab-media/confab/mixer"
	"github.com/confab-media/confab/signaling/meeting"
)

// gatewayWith starts a gateway with explicit Params (clock, registry).
func gatewayWith(t *testing.T, cfg Config, p Params) *Gateway {
	t.Helper()
	cfg.ListenUDP, cfg.ListenTCP, cfg.ListenTLS = "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0"
	cfg.RTPPortMin, cfg.RTPPortMax = 41000, 41999
	p.Log = testLog(t)
	g, err := New(cfg, p)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = g.Close() })
	return g
}

func expectBye(t *testing.T, u *uac, d time.Duration, why string) {
	t.Helper()
	select {
	case <-u.byes:
	case <-time.After(d):
		t.Fatalf("no BYE from the gateway (%s)", why)
	}
}

func noBye(t *testing.T, u *uac, why string) {
	t.Helper()
	select {
	case <-u.byes:
		t.Fatalf("unexpected BYE (%s)", why)
	case <-time.After(100 * time.Millisecond):
	}
}

// TestSymmetricRTPAndG711: a PCMU caller whose SDP names the wrong port
// (a NAT) still hears the meeting: the gateway latches onto the source of
// its packets. Audio flows both ways through the G.711 path.
func TestSymmetricRTPAndG711(t *testing.T) {
	conf := newConference(t)
	auth := newTestAuth()
	auth.add("tok-nat", "att-nat")
	reg := prometheus.NewRegistry()
	gw := gatewayWith(t, Config{}, Params{Auth: auth, Conference: conf, Registerer: reg})
	udp, _, _ := gw.Addrs()
	u := newUAC(t)
	ph := newRTPPhone(t)
	offer := plainOffer(ph.port()+1000, 1, "sendrecv", "0 PCMU/8000", "101 telephone-event/8000")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	sess, err := u.dial(ctx, inviteURI(udp, "udp", dialIn, "X-chime-join-token=tok-nat"), caller, offer)
	if err != nil {
		t.Fatal(err)
	}
	ph.useAnswer(sess.InviteResponse.Body(), nil)
	if ph.codec != codecPCMU || ph.tePT != 101 {
		t.Fatalf("answer: codec %v te %d\n%s", ph.codec, ph.tePT, sess.InviteResponse.Body())
	}
	leg := conf.nextJoin(t)
	mark := conf.browser.mark()
	ph.start()
	waitFor(t, 5*time.Second, "2 s of audio at the phone", func() bool { return ph.heard.len() >= 2*time.Second })
	checkHears(t, "phone (PCMU)", ph.heard.tail(time.Second), 8000, browserTone, phoneTone)
	checkHears(t, "browser", conf.browser.since(mark)[48000:], 48000, phoneTone, browserTone)
	if err := sess.Bye(ctx); err != nil {
		t.Fatalf("BYE: %v", err)
	}
	leg.waitLeft(t, 5*time.Second)
	waitFor(t, 2*time.Second, "call removed", func() bool { return gw.activeCalls() == 0 })

	got := gather(t, reg)
	for _, want := range []string{
		`confab_sipgw_calls_total{codec="pcmu",transport="udp"} 1`,
		`confab_sipgw_calls_active{codec="pcmu",transport="udp"} 0`,
		`confab_sipgw_call_setup_seconds_count 1`,
		`confab_sipgw_calls_ended_total{reason="bye"} 1`,
	} {
		if !strings.Contains(got, want+"\n") {
			t.Errorf("metrics lack %q:\n%s", want, got)
		}
	}
	if !strings.Contains(got, "confab_sipgw_rtp_packets_expected_total ") {
		t.Errorf("no RTP counters:\n%s", got)
	}
	closeAndCheck(t, u, gw)
}

// gather renders a registry's metrics as "name{labels} value" lines.
func gather(t *testing.T, reg *prometheus.Registry) string {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
			}
			name := mf.GetName()
			if len(labels) > 0 {
				name += "{" + strings.Join(labels, ",") + "}"
			}
			switch mf.GetType() {
			case dto.MetricType_COUNTER:
				fmt.Fprintf(&b, "%s %g\n", name, m.GetCounter().GetValue())
			case dto.MetricType_GAUGE:
				fmt.Fprintf(&b, "%s %g\n", name, m.GetGauge().GetValue())
			case dto.MetricType_HISTOGRAM:
				fmt.Fprintf(&b, "%s_count %d\n", name, m.GetHistogram().GetSampleCount())
			}
		}
	}
	return b.String()
}

// TestTimersAndRefresh: session timers per RFC 4028 (the caller
// refreshes; a re-INVITE with the same SDP gets the same answer and o=
// version; UPDATE refreshes too; no refresh → BYE), and the RTP timeout.
func TestTimersAndRefresh(t *testing.T) {
	conf := newConference(t)
	auth := newTestAuth()
	auth.add("tok-timer", "att-timer")
	auth.add("tok-rtp", "att-rtp")
	clock := fakeclock.New(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	gw := gatewayWith(t, Config{RTPTimeout: time.Hour, NoMediaTimeout: time.Hour, SessionExpires: 10 * time.Minute},
		Params{Auth: auth, Conference: conf, Clock: clock})
	udp, _, _ := gw.Addrs()
	u := newUAC(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	offer := plainOffer(9, 1, "sendrecv", "0 PCMU/8000")
	sess, err := u.dial(ctx, inviteURI(udp, "udp", dialIn, "X-chime-join-token=tok-timer"), caller, offer,
		sip.NewHeader("Supported", "timer, replaces"), sip.NewHeader("Session-Expires", "120"))
	if err != nil {
		t.Fatal(err)
	}
	res := sess.InviteResponse
	if se := res.GetHeader("Session-Expires"); se == nil || se.Value() != "120;refresher=uac" {
		t.Fatalf("Session-Expires in 200: %v", se)
	}
	if rq := res.GetHeader("Require"); rq == nil || rq.Value() != "timer" {
		t.Fatalf("Require in 200: %v", rq)
	}
	first := string(res.Body())
	leg := conf.nextJoin(t)
	waitFor(t, 2*time.Second, "call ticker", func() bool { return clock.Tickers() == 1 })

	clock.Advance(60 * time.Second) // deadline is 120 − 32 = 88 s
	noBye(t, u, "60 s into a 120 s session")

	// Refresh with a re-INVITE of the same SDP.
	reinvite := sip.NewRequest(sip.INVITE, res.Contact().Address)
	reinvite.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	reinvite.AppendHeader(sip.NewHeader("Supported", "timer"))
	reinvite.AppendHeader(sip.NewHeader("Session-Expires", "120;refresher=uac"))
	reinvite.SetBody(offer)
	r2, err := sess.Do(ctx, reinvite)
	if err != nil || r2.StatusCode != 200 {
		t.Fatalf("re-INVITE: %v %v", r2, err)
	}
	if string(r2.Body()) != first {
		t.Errorf("refresh answer differs:\n%s\nfirst:\n%s", r2.Body(), first)
	}
	ack := sip.NewRequest(sip.ACK, res.Contact().Address)
	ack.AppendHeader(sip.NewHeader("CSeq", fmt.Sprintf("%d ACK", reinvite.CSeq().SeqNo)))
	if err := sess.WriteRequest(ack); err != nil {
		t.Fatal(err)
	}

	clock.Advance(60 * time.Second) // 60 s after the refresh
	noBye(t, u, "after a re-INVITE refresh")

	update := sip.NewRequest(sip.UPDATE, res.Contact().Address)
	update.AppendHeader(sip.NewHeader("Supported", "timer"))
	update.AppendHeader(sip.NewHeader("Session-Expires", "120"))
	r3, err := sess.Do(ctx, update)
	if err != nil || r3.StatusCode != 200 || r3.GetHeader("Session-Expires") == nil {
		t.Fatalf("UPDATE: %v %v", r3, err)
	}
	clock.Advance(70 * time.Second)
	noBye(t, u, "70 s after an UPDATE refresh")
	clock.Advance(20 * time.Second) // 90 s > 88 s without refresh
	expectBye(t, u, 5*time.Second, "session expired")
	leg.waitLeft(t, 5*time.Second)

	// RTP timeout: a caller that sends nothing is hung up.
	gw2 := gatewayWith(t, Config{RTPTimeout: 10 * time.Second, NoMediaTimeout: time.Hour}, Params{Auth: auth, Conference: conf, Clock: clock})
	udp2, _, _ := gw2.Addrs()
	if _, err := u.dial(ctx, inviteURI(udp2, "udp", dialIn, "X-chime-join-token=tok-rtp"), caller, offer); err != nil {
		t.Fatal(err)
	}
	leg2 := conf.nextJoin(t)
	waitFor(t, 2*time.Second, "call ticker", func() bool { return clock.Tickers() == 1 })
	clock.Advance(5 * time.Second)
	noBye(t, u, "5 s without RTP")
	clock.Advance(6 * time.Second)
	expectBye(t, u, 5*time.Second, "RTP timeout")
	leg2.waitLeft(t, 5*time.Second)
	closeAndCheck(t, u, gw, gw2)
}

// failingConference fails every join with err.
type failingConference struct{ err error }

func (c failingConference) JoinPhone(meeting.Identity, mixer.Codec, func([]byte, uint32)) (PhoneLeg, error) {
	return nil, c.err
}

// TestJoinFailures: a full meeting gets 486, any other join error 503,
// and RequireSRTP refuses plain RTP with 488.
func TestJoinFailures(t *testing.T) {
	auth := newTestAuth()
	auth.add("tok-full", "att-full")
	u := newUAC(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	offer := plainOffer(9, 1, "sendrecv", "0 PCMU/8000")
	for _, tc := range []struct {
		conf   Conference
		srtp   bool
		code   int
		reason string
	}{
		{failingConference{fmt.Errorf("meeting x: %w", ErrMeetingFull)}, false, 486, "Meeting full"},
		{failingConference{errors.New("boom")}, false, 503, "Meeting unavailable"},
		{failingConference{nil}, true, 488, "SRTP required"},
	} {
		gw := gatewayWith(t, Config{RequireSRTP: tc.srtp}, Params{Auth: auth, Conference: tc.conf})
		_, tcp, _ := gw.Addrs()
		_, err := u.dial(ctx, inviteURI(tcp, "tcp", dialIn, "X-chime-join-token=tok-full"), caller, offer)
		var de *sipgo.ErrDialogResponse
		if !errors.As(err, &de) || de.Res.StatusCode != tc.code || de.Res.Reason != tc.reason {
			t.Errorf("got %v, want %d %s", err, tc.code, tc.reason)
		}
	}
}

// TestCloseHangsUp: Close sends BYE to every call, leaves the legs and
// leaves no goroutine behind. OPTIONS is answered 200.
func TestCloseHangsUp(t *testing.T) {
	conf := newConference(t)
	auth := newTestAuth()
	auth.add("tok-close1", "att-close1")
	auth.add("tok-close2", "att-close2")
	gw := gatewayWith(t, Config{}, Params{Auth: auth, Conference: conf})
	udp, tcp, _ := gw.Addrs()
	u := newUAC(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	opt := sip.NewRequest(sip.OPTIONS, inviteURI(udp, "udp", dialIn, ""))
	res, err := u.cli.Do(ctx, opt)
	if err != nil || res.StatusCode != 200 || res.GetHeader("Allow") == nil {
		t.Fatalf("OPTIONS: %v %v", res, err)
	}

	offer := plainOffer(9, 1, "sendrecv", "8 PCMA/8000")
	if _, err := u.dial(ctx, inviteURI(udp, "udp", dialIn, "X-chime-join-token=tok-close1"), caller, offer); err != nil {
		t.Fatal(err)
	}
	if _, err := u.dial(ctx, inviteURI(tcp, "tcp", dialIn, "X-chime-join-token=tok-close2"), caller, offer); err != nil {
		t.Fatal(err)
	}
	l1, l2 := conf.nextJoin(t), conf.nextJoin(t)
	if err := gw.Close(); err != nil {
		t.Fatal(err)
	}
	expectBye(t, u, 3*time.Second, "Close, first call")
	expectBye(t, u, 3*time.Second, "Close, second call")
	l1.waitLeft(t, time.Second)
	l2.waitLeft(t, time.Second)
	closeAndCheck(t, u)
}
