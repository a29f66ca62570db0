package sipgw

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/confab-media/confab/internal/fakeclock"
	"github.com/confab-media/confab/mixer"
	"github.com/confab-media/confab/signaling/meeting"
)

// Tests of the gateway against callers that do not play fair: one join
// token used for many calls, calls that only listen, third parties on the
// media path, junk input, panics, idle connections.

type panicCount struct{ n atomic.Int64 }

func (c *panicCount) Inc() { c.n.Add(1) }

// TestOneCallPerAttendee: a second INVITE with the same join token
// replaces the first call (BYE to it, its leg leaves before the new one
// joins), so one token never holds two calls.
func TestOneCallPerAttendee(t *testing.T) {
	conf := newConference(t)
	auth := newTestAuth()
	auth.add("tok-twice", "att-twice")
	reg := prometheus.NewRegistry()
	gw := gatewayWith(t, Config{}, Params{Auth: auth, Conference: conf, Registerer: reg})
	udp, _, _ := gw.Addrs()
	u := newUAC(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	offer := plainOffer(9, 1, "recvonly", "0 PCMU/8000")
	uri := inviteURI(udp, "udp", dialIn, "X-chime-join-token=tok-twice")
	if _, err := u.dial(ctx, uri, caller, offer); err != nil {
		t.Fatal(err)
	}
	first := conf.nextJoin(t)
	for i := range 3 {
		if _, err := u.dial(ctx, uri, caller, offer); err != nil {
			t.Fatalf("call %d: %v", i+2, err)
		}
		expectBye(t, u, 5*time.Second, "the replaced call")
		next := conf.nextJoin(t)
		select {
		case <-first.left:
		default:
			t.Fatalf("call %d joined before the call it replaces left", i+2)
		}
		first = next
	}
	waitFor(t, 3*time.Second, "one call", func() bool { return gw.activeCalls() == 1 })
	waitFor(t, 3*time.Second, "3 replaced calls counted", func() bool {
		return strings.Contains(gather(t, reg), `confab_sipgw_calls_ended_total{reason="replaced"} 3`+"\n")
	})
	closeAndCheck(t, u, gw)
}

// TestCallsPerMeetingCap: past MaxCallsPerMeeting, 486; a call that ends
// frees its place.
func TestCallsPerMeetingCap(t *testing.T) {
	conf := newConference(t)
	auth := newTestAuth()
	for _, a := range []string{"a", "b", "c"} {
		auth.add("tok-"+a, "att-"+a)
	}
	gw := gatewayWith(t, Config{MaxCallsPerMeeting: 2}, Params{Auth: auth, Conference: conf})
	_, tcp, _ := gw.Addrs()
	u := newUAC(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	offer := plainOffer(9, 1, "recvonly", "0 PCMU/8000")
	dial := func(tok string) (*sipgo.DialogClientSession, error) {
		return u.dial(ctx, inviteURI(tcp, "tcp", dialIn, "X-chime-join-token="+tok), caller, offer)
	}
	a, err := dial("tok-a")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := dial("tok-b"); err != nil {
		t.Fatal(err)
	}
	la, _ := conf.nextJoin(t), conf.nextJoin(t)
	_, err = dial("tok-c")
	var de *sipgo.ErrDialogResponse
	if !errors.As(err, &de) || de.Res.StatusCode != 486 || de.Res.Reason != "Too many calls in meeting" {
		t.Fatalf("third call: %v, want 486 Too many calls in meeting", err)
	}
	if err := a.Bye(ctx); err != nil {
		t.Fatal(err)
	}
	la.waitLeft(t, 5*time.Second)
	waitFor(t, 3*time.Second, "call a gone", func() bool { return gw.activeCalls() == 1 })
	if _, err := dial("tok-c"); err != nil {
		t.Fatalf("third call after a BYE: %v", err)
	}
	conf.nextJoin(t)
	closeAndCheck(t, u, gw)
}

// TestNoMediaTimeout: a receive-only call that never sends RTP is hung up
// after NoMediaTimeout (RTPTimeout does not cover it: it is not meant to
// send).
func TestNoMediaTimeout(t *testing.T) {
	conf := newConference(t)
	auth := newTestAuth()
	auth.add("tok-mute", "att-mute")
	clock := fakeclock.New(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	reg := prometheus.NewRegistry()
	gw := gatewayWith(t, Config{NoMediaTimeout: 20 * time.Second},
		Params{Auth: auth, Conference: conf, Clock: clock, Registerer: reg})
	udp, _, _ := gw.Addrs()
	u := newUAC(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, err := u.dial(ctx, inviteURI(udp, "udp", dialIn, "X-chime-join-token=tok-mute"), caller,
		plainOffer(9, 1, "recvonly", "0 PCMU/8000")); err != nil {
		t.Fatal(err)
	}
	leg := conf.nextJoin(t)
	waitFor(t, 2*time.Second, "call ticker", func() bool { return clock.Tickers() == 1 })
	clock.Advance(15 * time.Second)
	noBye(t, u, "15 s without media")
	clock.Advance(6 * time.Second)
	expectBye(t, u, 5*time.Second, "no media for 21 s")
	leg.waitLeft(t, 5*time.Second)
	waitFor(t, 3*time.Second, "the no-media end counted", func() bool {
		return strings.Contains(gather(t, reg), `confab_sipgw_calls_ended_total{reason="no media"} 1`+"\n")
	})
	closeAndCheck(t, u, gw)
}

// TestRTPSources: RTP is taken only from the INVITE's source IP or the
// SDP's IP, and nothing is sent to an SDP address other than the INVITE's
// source until a packet has come from it.
func TestRTPSources(t *testing.T) {
	signal := netip.MustParseAddr("127.0.0.1")
	third := netip.MustParseAddrPort("127.0.0.3:4000") // the SDP names it
	attacker := netip.MustParseAddrPort("127.0.0.2:5000")
	m := testMedia(t, codecPCMU, nil, func([]byte, uint32, int8) error { return nil })
	m.signalIP = signal
	m.setRemote(third)
	if d := m.destination(); d.IsValid() {
		t.Fatalf("sends to %v before any packet from it", d)
	}
	now := time.Now().UnixNano()
	if m.accept(attacker, now, false) || m.accept(attacker, now, true) {
		t.Fatal("took RTP from an address neither signalled nor in the SDP")
	}
	if d := m.destination(); d.IsValid() {
		t.Fatalf("attacker became the destination %v", d)
	}
	phone := netip.AddrPortFrom(signal, 6000)
	if !m.accept(phone, now, false) || m.destination() != phone {
		t.Fatalf("RTP from the signalling address not taken (destination %v)", m.destination())
	}
	// SDP address = signalling address: media may go there at once.
	same := netip.AddrPortFrom(signal, 7000)
	m.setRemote(same)
	if m.destination() != same {
		t.Errorf("destination %v, want the SDP address %v", m.destination(), same)
	}
	// The third party of the SDP may take over once it sends.
	m.setRemote(third)
	if !m.accept(third, now, false) || m.destination() != third {
		t.Errorf("RTP from the SDP address not taken")
	}
}

// TestSRTPRequiredOffLoopback: plain RTP is refused for callers off
// loopback unless AllowPlainRTP; RequireSRTP refuses it for everyone.
func TestSRTPRequiredOffLoopback(t *testing.T) {
	lo, lo6 := netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("::1")
	pub, unknown := netip.MustParseAddr("198.51.100.7"), netip.Addr{}
	for _, tc := range []struct {
		cfg                      Config
		lo, lo6, pub, unknownReq bool
	}{
		{Config{}, false, false, true, true},
		{Config{AllowPlainRTP: true}, false, false, false, false},
		{Config{RequireSRTP: true}, true, true, true, true},
	} {
		g := &Gateway{cfg: tc.cfg}
		got := [4]bool{g.srtpRequired(lo), g.srtpRequired(lo6), g.srtpRequired(pub), g.srtpRequired(unknown)}
		if want := [4]bool{tc.lo, tc.lo6, tc.pub, tc.unknownReq}; got != want {
			t.Errorf("%+v: SRTP required for 127.0.0.1, ::1, 198.51.100.7, unknown = %v, want %v", tc.cfg, got, want)
		}
	}
}

// TestLogLimiter: 5,000 parse failures are all counted, and few are
// logged, each cut short.
func TestLogLimiter(t *testing.T) {
	var buf bytes.Buffer
	var junk atomic.Int64
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	h := newLogLimiter(slog.NewTextHandler(&buf, nil), func() time.Time { return now }, func() { junk.Add(1) })
	log := slog.New(h).With("component", "sipgo")
	data := strings.Repeat("\xff junk ", 200)
	for i := range 5000 {
		if i%1000 == 0 {
			now = now.Add(time.Second)
		}
		log.Error(sipgoParseFailed, "data", data, "error", errors.New("bad start line"))
	}
	log.Debug("hidden") // below the handler's level: not logged, not limited
	if junk.Load() != 5000 {
		t.Errorf("counted %d junk messages, want 5000", junk.Load())
	}
	lines := strings.Count(buf.String(), "\n")
	if lines > logBurst+5*logRate {
		t.Errorf("%d lines logged for 5,000 junk messages over 5 s", lines)
	}
	if buf.Len() > 64<<10 {
		t.Errorf("%d bytes of log", buf.Len())
	}
	if !strings.Contains(buf.String(), "suppressedRecords=") {
		t.Errorf("no suppressed count in the log:\n%s", buf.String()[:min(buf.Len(), 2000)])
	}
}

// panickyAuth panics for one token.
type panickyAuth struct{ *testAuth }

func (a panickyAuth) Verify(token string) (meeting.Identity, error) {
	if token == "tok-panic" {
		var m map[string]int
		//lint:ignore SA5000 the test needs a runtime panic
		m["boom"]++ // a nil map write: a runtime panic
	}
	return a.testAuth.Verify(token)
}

// panickyConference's legs panic on the first Push (in the RTP reader).
type panickyConference struct{ *testConference }

func (c panickyConference) JoinPhone(id meeting.Identity, codec mixer.Codec, mix func([]byte, uint32)) (PhoneLeg, error) {
	l, err := c.testConference.JoinPhone(id, codec, mix)
	if err != nil {
		return nil, err
	}
	return panickyLeg{l.(*confLeg)}, nil
}

type panickyLeg struct{ *confLeg }

func (panickyLeg) Push([]byte, uint32, int8) error     { panic("push") }
func (panickyLeg) PushPCM([]int16, uint32, int8) error { panic("push") }

// TestPanicsContained: a panic in an INVITE handler gets 500 and one in a
// call's RTP reader ends that call with BYE; both are counted, and the
// gateway goes on serving calls.
func TestPanicsContained(t *testing.T) {
	conf := newConference(t)
	auth := newTestAuth()
	auth.add("tok-ok", "att-ok")
	auth.add("tok-rtp", "att-rtp")
	var panics panicCount
	gw := gatewayWith(t, Config{}, Params{Auth: panickyAuth{auth}, Conference: panickyConference{conf}, Panics: &panics})
	udp, _, _ := gw.Addrs()
	u := newUAC(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	_, err := u.dial(ctx, inviteURI(udp, "udp", dialIn, "X-chime-join-token=tok-panic"), caller,
		plainOffer(9, 1, "sendrecv", "0 PCMU/8000"))
	var de *sipgo.ErrDialogResponse
	if !errors.As(err, &de) || de.Res.StatusCode != 500 {
		t.Fatalf("INVITE whose handler panics: %v, want 500", err)
	}
	if panics.n.Load() != 1 {
		t.Fatalf("%d panics counted, want 1", panics.n.Load())
	}
	ph := newRTPPhone(t)
	sess, err := u.dial(ctx, inviteURI(udp, "udp", dialIn, "X-chime-join-token=tok-rtp"), caller,
		plainOffer(ph.port(), 1, "sendrecv", "0 PCMU/8000"))
	if err != nil {
		t.Fatal(err)
	}
	ph.useAnswer(sess.InviteResponse.Body(), nil)
	leg := conf.nextJoin(t)
	ph.start()
	expectBye(t, u, 5*time.Second, "the RTP reader panicked")
	leg.waitLeft(t, 5*time.Second)
	if panics.n.Load() != 2 {
		t.Errorf("%d panics counted, want 2", panics.n.Load())
	}
	waitFor(t, 3*time.Second, "call removed", func() bool { return gw.activeCalls() == 0 })
	ph.close()
	closeAndCheck(t, u, gw)
}

// TestStreamConnectionsBounded: connections over the per-IP cap are
// closed at once; those that send nothing (no SIP, no TLS handshake) are
// closed after the first-message deadline.
func TestStreamConnectionsBounded(t *testing.T) {
	conf := newConference(t)
	reg := prometheus.NewRegistry()
	gw := gatewayWith(t, Config{Stream: StreamConfig{MaxConnsPerIP: 4, FirstMessage: time.Second}},
		Params{Auth: newTestAuth(), Conference: conf, Registerer: reg})
	_, tcp, tlsAddr := gw.Addrs()
	for _, addr := range []net.Addr{tcp, tlsAddr} {
		var conns []net.Conn
		for range 10 {
			c, err := net.Dial("tcp", addr.String())
			if err != nil {
				t.Fatal(err)
			}
			conns = append(conns, c)
			defer c.Close()
		}
		start := time.Now()
		closedAt := make([]time.Duration, len(conns))
		done := make(chan int, len(conns))
		for i, c := range conns {
			go func() {
				_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
				_, err := io.ReadAll(c)
				closedAt[i] = time.Since(start)
				if errors.Is(err, os.ErrDeadlineExceeded) {
					closedAt[i] = -1 // never closed
				}
				done <- i
			}()
		}
		for range conns {
			<-done
		}
		early, late := 0, 0
		for _, d := range closedAt {
			switch {
			case d < 0:
			case d < 600*time.Millisecond:
				early++
			case d < 4*time.Second:
				late++
			}
		}
		if early != 6 || late != 4 {
			t.Errorf("%v: %d closed at once, %d at the deadline (%v); want 6 and 4", addr, early, late, closedAt)
		}
	}
	got := gather(t, reg)
	for _, tr := range []string{"tcp", "tls"} {
		if want := `confab_sipgw_connections_refused_total{reason="per_ip",transport="` + tr + `"} 6`; !strings.Contains(got, want+"\n") {
			t.Errorf("metrics lack %q:\n%s", want, got)
		}
	}
	// A TLS client that completes its handshake and sends nothing is
	// closed at the deadline too.
	c, err := tls.Dial("tcp", tlsAddr.String(), &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	start := time.Now()
	_, err = c.Read(make([]byte, 1))
	if err == nil || time.Since(start) > 4*time.Second {
		t.Errorf("silent TLS connection: read %v after %v", err, time.Since(start))
	}
	closeAndCheck(t, nil, gw)
}
