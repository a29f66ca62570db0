package sipgw

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/confab-media/confab/signaling/meeting"
)

// digits collects OnDTMF calls.
type digits struct {
	mu  sync.Mutex
	got []rune
	ids []string
}

func (d *digits) on(id meeting.Identity, r rune) {
	d.mu.Lock()
	d.got = append(d.got, r)
	d.ids = append(d.ids, id.AttendeeID)
	d.mu.Unlock()
}

func (d *digits) String() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return string(d.got)
}

// TestUACPjsuaOfferTLS reproduces pjsua's SRTP offer over TLS with a Go
// UAC: the answer picks Opus and AEAD_AES_256_GCM (the first supported
// suite in offer order), audio flows both ways through the real mixer with
// mix-minus, RFC 4733 and SIP INFO digits reach OnDTMF once each, and when
// the attendee is removed the UAC receives BYE over its own TLS connection.
func TestUACPjsuaOfferTLS(t *testing.T) {
	conf := newConference(t)
	auth := newTestAuth()
	auth.add("tok-pjsua", "att-pjsua")
	var dt digits
	gw := newTestGateway(t, Config{}, auth, conf, dt.on)
	_, _, tlsAddr := gw.Addrs()

	u := newUAC(t)
	ph := newRTPPhone(t)
	offer, keys := pjsuaOffer(t, ph.port())
	// Parameter name in another case, value percent-encoded: both must work.
	uri := inviteURI(tlsAddr, "tls", dialIn, "x-CHIME-join-TOKEN=tok%2Dpjsua")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	sess, err := u.dial(ctx, uri, caller, offer)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	answer := string(sess.InviteResponse.Body())
	for _, want := range []string{"RTP/SAVP 111 120", "a=rtpmap:111 opus/48000/2", "a=fmtp:111 useinbandfec=1",
		"a=rtpmap:120 telephone-event/48000", "a=crypto:1 AEAD_AES_256_GCM inline:", "a=sendrecv"} {
		if !strings.Contains(answer, want) {
			t.Errorf("answer lacks %q:\n%s", want, answer)
		}
	}
	if n := strings.Count(answer, "a=crypto:"); n != 1 {
		t.Errorf("answer has %d a=crypto lines, want 1", n)
	}
	if suite := ph.useAnswer(sess.InviteResponse.Body(), keys); suite != "AEAD_AES_256_GCM" {
		t.Fatalf("suite %q", suite)
	}
	leg := conf.nextJoin(t)
	if leg.id.AttendeeID != "att-pjsua" {
		t.Fatalf("joined as %q", leg.id.AttendeeID)
	}
	browserMark := conf.browser.mark()
	ph.start()

	waitFor(t, 5*time.Second, "2 s of audio at the phone", func() bool { return ph.heard.len() >= 2*time.Second })
	checkHears(t, "phone", ph.heard.tail(time.Second), 48000, browserTone, phoneTone)
	checkHears(t, "browser", conf.browser.since(browserMark)[48000:], 48000, phoneTone, browserTone)
	if lv := leg.levels.Load() / max(leg.pushes.Load(), 1); lv < 5 || lv > 40 {
		t.Errorf("mean level pushed %d -dBov, want the tone's ~15", lv)
	}

	// RFC 4733: three digits, each a full event with three end packets;
	// the second one's end packets come again later (a retransmission must
	// not repeat the digit).
	ph.sendDTMF(1, 5, 0)
	ph.mu.Lock()
	ts5 := ph.ts + 10000
	ph.mu.Unlock()
	ph.sendDTMF(5, 4, ts5)
	ph.sendDTMF(5, 0, ts5) // three more end packets only
	ph.sendDTMF(11, 6, ts5+8000)
	waitFor(t, 3*time.Second, "RFC 4733 digits", func() bool { return len(dt.String()) >= 3 })

	// SIP INFO, both body types.
	for _, b := range []struct{ ct, body string }{
		{"application/dtmf-relay", "Signal=9\r\nDuration=160\r\n"},
		{"application/dtmf", "*"},
	} {
		req := sip.NewRequest(sip.INFO, sess.InviteResponse.Contact().Address)
		req.AppendHeader(sip.NewHeader("Content-Type", b.ct))
		req.SetBody([]byte(b.body))
		res, err := sess.Do(ctx, req)
		if err != nil || res.StatusCode != 200 {
			t.Fatalf("INFO %s: %v %v", b.ct, res, err)
		}
	}
	time.Sleep(100 * time.Millisecond)
	if got := dt.String(); got != "15#9*" {
		t.Errorf("OnDTMF got %q, want %q", got, "15#9*")
	}

	// Hold (a=sendonly, same keys, new o= version): the answer is recvonly
	// with the same key, the leg is muted; then resume.
	cryptoLine := func(body string) string {
		for _, ln := range strings.Split(body, "\r\n") {
			if strings.HasPrefix(ln, "a=crypto:") {
				return ln
			}
		}
		return ""
	}
	held := strings.Replace(strings.Replace(string(offer), "a=sendrecv", "a=sendonly", 1),
		"3917285301 3917285301", "3917285301 3917285302", 1)
	res := reinvite(t, ctx, sess, []byte(held))
	if b := string(res.Body()); !strings.Contains(b, "a=recvonly") || cryptoLine(b) != cryptoLine(answer) {
		t.Errorf("hold answer:\n%s", b)
	}
	waitFor(t, 2*time.Second, "leg muted on hold", func() bool { return leg.muted.Load() })
	resumed := strings.Replace(string(offer), "3917285301 3917285301", "3917285301 3917285303", 1)
	res = reinvite(t, ctx, sess, []byte(resumed))
	if b := string(res.Body()); !strings.Contains(b, "a=sendrecv") {
		t.Errorf("resume answer:\n%s", b)
	}
	waitFor(t, 2*time.Second, "leg unmuted", func() bool { return !leg.muted.Load() })
	mark := ph.heard.mark()
	waitFor(t, 3*time.Second, "audio after resume", func() bool { return ph.heard.mark()-mark >= 48000 })

	// The attendee is deleted: the gateway hangs up over the caller's own
	// TLS connection.
	leg.remove()
	select {
	case <-u.byes:
	case <-time.After(5 * time.Second):
		t.Fatal("UAC received no BYE after Done closed")
	}
	leg.waitLeft(t, 5*time.Second)
	waitFor(t, 2*time.Second, "call removed", func() bool { return gw.activeCalls() == 0 })
	closeAndCheck(t, u, gw)
}
