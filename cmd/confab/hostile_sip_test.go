package main

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go/aws"
	"github.com/aws/aws-sdk-go/service/chimesdkmeetings"
)

// Hostile SIP callers against a real `confab serve` on loopback: idle
// connection floods, many calls on one join token, RTP hijack, SDP naming a
// third party, junk datagrams. The process must keep answering the API
// throughout. The SIP client here is raw UDP text, as an attacker's would be.

// hsipAddrs returns the SIP UDP, TCP and TLS listen addresses from the log.
func hsipAddrs(t *testing.T, s *server) (udp, tcp, tls string) {
	t.Helper()
	m := regexp.MustCompile(`sipgw: listening" .*?udp=(127\.0\.0\.1:\d+) tcp=(127\.0\.0\.1:\d+) tls=(127\.0\.0\.1:\d+)`).
		FindStringSubmatch(s.Log())
	if m == nil {
		t.Fatalf("no SIP listeners in the log:\n%s", s.Log())
	}
	return m[1], m[2], m[3]
}

// hsipFootprint logs the server's goroutines and RSS.
func hsipFootprint(t *testing.T, s *server, when string) (goroutines, rssMB float64) {
	t.Helper()
	goroutines = scrapeMetric(t, s, "go_goroutines")
	rssMB = scrapeMetric(t, s, "process_resident_memory_bytes") / (1 << 20)
	t.Logf("%s: go_goroutines %.0f, process_resident_memory_bytes %.1f MiB", when, goroutines, rssMB)
	return goroutines, rssMB
}

// hsipAPIAnswers checks that the HTTP API still creates meetings.
func hsipAPIAnswers(t *testing.T, s *server, token string) *chimesdkmeetings.Meeting {
	t.Helper()
	cm, err := s.client(testKeyID, testSecret).CreateMeeting(&chimesdkmeetings.CreateMeetingInput{
		ClientRequestToken: aws.String(token), MediaRegion: aws.String("us-east-1"), ExternalMeetingId: aws.String(token),
	})
	if err != nil {
		t.Fatalf("CreateMeeting while under attack: %v", err)
	}
	return cm.Meeting
}

// hsipAttendee creates an attendee and returns its join token.
func hsipAttendee(t *testing.T, s *server, meetingID *string, user string) string {
	t.Helper()
	a, err := s.client(testKeyID, testSecret).CreateAttendee(&chimesdkmeetings.CreateAttendeeInput{
		MeetingId: meetingID, ExternalUserId: aws.String(user),
	})
	if err != nil {
		t.Fatal(err)
	}
	return aws.StringValue(a.Attendee.JoinToken)
}

// TestHostileSIPIdleConnections: 300 TCP and 300 TLS connections from one
// IP that never send a byte (no SIP, no TLS handshake) used to be held
// forever (19,980 of them exhausted the descriptors and the API stopped).
// Now those past the per-IP cap are closed at once, the rest at the
// first-message deadline, the API answers meanwhile, and goroutines and
// memory come back.
func TestHostileSIPIdleConnections(t *testing.T) {
	s := startServer(t, "", noThrottle()+"sip:\n  max_conns_per_ip: 20\n  first_message_timeout: 2s\n")
	_, tcpAddr, tlsAddr := hsipAddrs(t, s)
	g0, _ := hsipFootprint(t, s, "before")
	const per = 300
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			_ = c.Close()
		}
	}()
	for _, addr := range []string{tcpAddr, tlsAddr} {
		for range per {
			c, err := net.DialTimeout("tcp", addr, 2*time.Second)
			if err != nil {
				t.Fatalf("dial %s: %v", addr, err)
			}
			conns = append(conns, c)
		}
	}
	start := time.Now()
	closedAt := make([]time.Duration, len(conns))
	var wg sync.WaitGroup
	for i, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
			_, err := io.Copy(io.Discard, c)
			closedAt[i] = time.Since(start)
			if os.IsTimeout(err) {
				closedAt[i] = -1 // still open after 10 s
			}
		}()
	}
	hsipAPIAnswers(t, s, "hostile-idle-1") // while the connections are open
	gMid, _ := hsipFootprint(t, s, fmt.Sprintf("%d idle connections open", 2*per))
	wg.Wait()
	for li, name := range []string{"tcp", "tls"} {
		early, atDeadline, open := 0, 0, 0
		for _, d := range closedAt[li*per : (li+1)*per] {
			switch {
			case d < 0:
				open++
			case d < 1200*time.Millisecond:
				early++
			default:
				atDeadline++
			}
		}
		t.Logf("%s: %d closed at once, %d at the 2 s deadline, %d never", name, early, atDeadline, open)
		if early < per-20 || open > 0 {
			t.Errorf("%s: %d of %d closed at once (want ≥ %d past the per-IP cap of 20), %d left open",
				name, early, per, per-20, open)
		}
	}
	if n := scrapeMetric(t, s, "confab_sipgw_connections_refused_total", `reason="per_ip"`); n < 2*(per-20) {
		t.Errorf("confab_sipgw_connections_refused_total{reason=per_ip} = %v, want ≥ %d", n, 2*(per-20))
	}
	hsipAPIAnswers(t, s, "hostile-idle-2")
	waitUntil(t, 10*time.Second, "goroutines back to the baseline", func() bool {
		return scrapeMetric(t, s, "go_goroutines") <= g0+10
	})
	hsipFootprint(t, s, "after")
	if gMid > g0+2*20+30 {
		t.Errorf("%v goroutines with %d idle connections open (baseline %v): over-cap connections are held", gMid, 2*per, g0)
	}
}

// hsipPhone is a raw UDP SIP caller with an RTP socket.
type hsipPhone struct {
	t      *testing.T
	sig    *net.UDPConn // signalling
	rtp    *net.UDPConn // media (the SDP's port)
	gw     *net.UDPAddr
	callID string
	tag    string
	toHdr  string // To of the 200, with the gateway's tag
	answer string // the gateway's SDP
	byes   atomic.Int32
	rtpIn  atomic.Int32 // packets received on rtp
	wg     sync.WaitGroup
}

func hsipRand() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// newHsipPhone opens the phone's sockets; its RTP socket binds rtpIP.
func newHsipPhone(t *testing.T, gw string, rtpIP string) *hsipPhone {
	t.Helper()
	sig, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	rtpc, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.ParseIP(rtpIP)})
	if err != nil {
		t.Fatal(err)
	}
	ga, err := net.ResolveUDPAddr("udp", gw)
	if err != nil {
		t.Fatal(err)
	}
	p := &hsipPhone{t: t, sig: sig, rtp: rtpc, gw: ga, callID: hsipRand() + "@hostile", tag: hsipRand()}
	t.Cleanup(p.close)
	p.wg.Add(1)
	go func() { // count what arrives on the RTP socket
		defer p.wg.Done()
		buf := make([]byte, 1500)
		for {
			if _, _, err := rtpc.ReadFromUDP(buf); err != nil {
				return
			}
			p.rtpIn.Add(1)
		}
	}()
	return p
}

func (p *hsipPhone) close() {
	_ = p.sig.Close()
	_ = p.rtp.Close()
	p.wg.Wait()
}

// sdp is a PCMU offer for the RTP socket's address (or the address given).
func (p *hsipPhone) sdp(dir string) string {
	a := p.rtp.LocalAddr().(*net.UDPAddr)
	return "v=0\r\no=- 1 1 IN IP4 " + a.IP.String() + "\r\ns=-\r\nc=IN IP4 " + a.IP.String() + "\r\nt=0 0\r\n" +
		fmt.Sprintf("m=audio %d RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=%s\r\n", a.Port, dir)
}

// percentEncode escapes every byte but letters and digits (RFC 3261 §19.1.2).
func percentEncode(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

// invite sends an INVITE with the token and dir, ACKs a 2xx, and returns
// the final status code; after a 2xx a goroutine answers the gateway's BYE.
func (p *hsipPhone) invite(token, dir string) int {
	t := p.t
	t.Helper()
	local := p.sig.LocalAddr().String()
	body := p.sdp(dir)
	req := fmt.Sprintf("INVITE sip:+17035550122@%s;X-chime-join-token=%s SIP/2.0\r\n"+
		"Via: SIP/2.0/UDP %s;branch=z9hG4bK%s;rport\r\nMax-Forwards: 70\r\n"+
		"From: <sip:+12065550100@127.0.0.1>;tag=%s\r\nTo: <sip:+17035550122@127.0.0.1>\r\n"+
		"Call-ID: %s\r\nCSeq: 1 INVITE\r\nContact: <sip:+12065550100@%s>\r\n"+
		"Content-Type: application/sdp\r\nContent-Length: %d\r\n\r\n%s",
		p.gw, percentEncode(token), local, hsipRand(), p.tag, p.callID, local, len(body), body)
	buf := make([]byte, 65535)
	deadline := time.Now().Add(10 * time.Second)
	for sent := 0; time.Now().Before(deadline); {
		if sent < 3 {
			if _, err := p.sig.WriteToUDP([]byte(req), p.gw); err != nil {
				t.Fatal(err)
			}
			sent++
		}
		_ = p.sig.SetReadDeadline(time.Now().Add(time.Second))
		n, _, err := p.sig.ReadFromUDP(buf)
		if err != nil {
			continue
		}
		code, hdrs, sdp := hsipParse(string(buf[:n]))
		if code < 200 {
			sent = 3 // a provisional response: the INVITE arrived
			continue
		}
		if code >= 300 {
			return code // sipgo's transaction layer ACKs nothing for us: not needed for the test
		}
		p.toHdr, p.answer = hdrs["to"], sdp
		contact := strings.Trim(strings.SplitN(hdrs["contact"], ">", 2)[0], "<")
		ack := fmt.Sprintf("ACK %s SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=z9hG4bK%s;rport\r\nMax-Forwards: 70\r\n"+
			"From: <sip:+12065550100@127.0.0.1>;tag=%s\r\nTo: %s\r\nCall-ID: %s\r\nCSeq: 1 ACK\r\nContent-Length: 0\r\n\r\n",
			contact, local, hsipRand(), p.tag, p.toHdr, p.callID)
		if _, err := p.sig.WriteToUDP([]byte(ack), p.gw); err != nil {
			t.Fatal(err)
		}
		_ = p.sig.SetReadDeadline(time.Time{})
		p.wg.Add(1)
		go p.serveBye()
		return code
	}
	t.Fatalf("no final response to INVITE")
	return 0
}

// serveBye answers the gateway's BYE with 200 and counts it.
func (p *hsipPhone) serveBye() {
	defer p.wg.Done()
	buf := make([]byte, 65535)
	for {
		n, from, err := p.sig.ReadFromUDP(buf)
		if err != nil {
			return
		}
		msg := string(buf[:n])
		if !strings.HasPrefix(msg, "BYE ") {
			continue // a 2xx retransmission crossing the ACK
		}
		_, hdrs, _ := hsipParse(msg)
		var vias strings.Builder
		for _, v := range strings.Split(hdrs["via"], "\x00") {
			vias.WriteString("Via: " + v + "\r\n")
		}
		res := fmt.Sprintf("SIP/2.0 200 OK\r\n%sFrom: %s\r\nTo: %s\r\nCall-ID: %s\r\nCSeq: %s\r\nContent-Length: 0\r\n\r\n",
			vias.String(), hdrs["from"], hdrs["to"], hdrs["call-id"], hdrs["cseq"])
		_, _ = p.sig.WriteToUDP([]byte(res), from)
		p.byes.Add(1)
	}
}

// hsipParse returns a message's status code (0 for a request), its headers
// by lower-case name (repeated ones joined with NUL) and its body.
func hsipParse(msg string) (int, map[string]string, string) {
	head, body, _ := strings.Cut(msg, "\r\n\r\n")
	lines := strings.Split(head, "\r\n")
	code := 0
	if strings.HasPrefix(lines[0], "SIP/2.0 ") {
		code, _ = strconv.Atoi(strings.Fields(lines[0])[1])
	}
	hdrs := map[string]string{}
	for _, ln := range lines[1:] {
		k, v, ok := strings.Cut(ln, ":")
		if !ok {
			continue
		}
		k, v = strings.ToLower(strings.TrimSpace(k)), strings.TrimSpace(v)
		switch k {
		case "v":
			k = "via"
		case "f":
			k = "from"
		case "t":
			k = "to"
		case "i":
			k = "call-id"
		case "m":
			k = "contact"
		}
		if old, ok := hdrs[k]; ok {
			v = old + "\x00" + v
		}
		hdrs[k] = v
	}
	return code, hdrs, body
}

// rtpPort is the gateway's RTP port from the answer.
func (p *hsipPhone) rtpPort() int {
	m := regexp.MustCompile(`m=audio (\d+) `).FindStringSubmatch(p.answer)
	if m == nil {
		p.t.Fatalf("no m=audio in the answer:\n%s", p.answer)
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

// hsipRTP is one plain PCMU packet (μ-law silence is 0xFF; a square wave
// is loud enough to be mixed).
func hsipRTP(seq uint16, ssrc uint32) []byte {
	pkt := make([]byte, 12+160)
	pkt[0], pkt[1] = 0x80, 0
	pkt[2], pkt[3] = byte(seq>>8), byte(seq)
	ts := uint32(seq) * 160
	pkt[4], pkt[5], pkt[6], pkt[7] = byte(ts>>24), byte(ts>>16), byte(ts>>8), byte(ts)
	pkt[8], pkt[9], pkt[10], pkt[11] = byte(ssrc>>24), byte(ssrc>>16), byte(ssrc>>8), byte(ssrc)
	for i := range 160 {
		pkt[12+i] = 0x20 // loud
		if i/4%2 == 1 {
			pkt[12+i] = 0xA0
		}
	}
	return pkt
}

// TestHostileSIPCallFlood: with ONE join token, 437 receive-only calls
// were all admitted and never timed out, until the RTP ports ran out. Now
// a new call of the attendee replaces its call (BYE), a meeting takes
// max_calls_per_meeting calls (486 past it), and calls that send no media
// end after no_media_timeout.
func TestHostileSIPCallFlood(t *testing.T) {
	s := startServer(t, "", noThrottle()+"sip:\n  max_calls_per_meeting: 3\n  no_media_timeout: 10s\n")
	udp, _, _ := hsipAddrs(t, s)
	g0, _ := hsipFootprint(t, s, "before")
	m := hsipAPIAnswers(t, s, "hostile-flood")
	tok := hsipAttendee(t, s, m.MeetingId, "flood-1")

	// The same token, 10 times: each call replaces the one before.
	var phones []*hsipPhone
	for i := range 10 {
		p := newHsipPhone(t, udp, "127.0.0.1")
		if code := p.invite(tok, "recvonly"); code != 200 {
			t.Fatalf("call %d with the same token: %d, want 200 (replacing the last)", i+1, code)
		}
		phones = append(phones, p)
	}
	waitUntil(t, 10*time.Second, "9 replaced calls hung up", func() bool {
		n := 0
		for _, p := range phones[:9] {
			n += int(p.byes.Load())
		}
		return n == 9
	})
	// A replaced call is counted out once its BYE transaction and teardown
	// are done, just after the phone got the BYE.
	deadline := time.Now().Add(5 * time.Second)
	for scrapeMetric(t, s, "confab_sipgw_calls_active") != 1 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if n := scrapeMetric(t, s, "confab_sipgw_calls_active"); n != 1 {
		t.Errorf("%v calls active for one attendee, want 1", n)
	}
	if n := scrapeMetric(t, s, "confab_sipgw_calls_ended_total", `reason="replaced"`); n != 9 {
		t.Errorf("%v calls ended as replaced, want 9", n)
	}
	gMid, _ := hsipFootprint(t, s, "after 10 calls on one token")

	// The meeting cap: two more attendees fill it, a fourth is refused.
	for i, want := range []int{200, 200, 486} {
		p := newHsipPhone(t, udp, "127.0.0.1")
		if code := p.invite(hsipAttendee(t, s, m.MeetingId, fmt.Sprintf("flood-%d", i+2)), "recvonly"); code != want {
			t.Errorf("attendee %d of the meeting: %d, want %d", i+2, code, want)
		}
		phones = append(phones, p)
	}
	hsipAPIAnswers(t, s, "hostile-flood-2")

	// Nobody sent RTP: every call ends after no_media_timeout.
	waitUntil(t, 20*time.Second, "calls without media hung up", func() bool {
		return scrapeMetric(t, s, "confab_sipgw_calls_ended_total", `reason="no media"`) == 3
	})
	waitUntil(t, 5*time.Second, "no call left", func() bool { return scrapeMetric(t, s, "confab_sipgw_calls_active") == 0 })
	waitUntil(t, 10*time.Second, "goroutines back to the baseline", func() bool {
		return scrapeMetric(t, s, "go_goroutines") <= g0+15
	})
	hsipFootprint(t, s, "after")
	if gMid > g0+60 {
		t.Errorf("%v goroutines with one call up (baseline %v)", gMid, g0)
	}
}

// TestHostileSIPMediaPath: an attacker who guesses a call's RTP port and
// sends first used to get the meeting's audio (plain RTP latched to the
// first sender), and an SDP naming a third party got 50 packets/s sent
// there. Now RTP is taken only from the caller's signalling or SDP address,
// nothing goes to an SDP address that is not the caller's until it sends,
// and RTP ports are not handed out in order.
func TestHostileSIPMediaPath(t *testing.T) {
	s := startServer(t, "", noThrottle())
	udp, _, _ := hsipAddrs(t, s)
	m := hsipAPIAnswers(t, s, "hostile-media")
	victim, talker := newHsipPhone(t, udp, "127.0.0.1"), newHsipPhone(t, udp, "127.0.0.1")
	third := newHsipPhone(t, udp, "127.0.0.3") // its SDP names 127.0.0.3, its INVITE comes from 127.0.0.1
	var ports []int
	for i, p := range []*hsipPhone{victim, talker, third} {
		if code := p.invite(hsipAttendee(t, s, m.MeetingId, fmt.Sprintf("media-%d", i)), "sendrecv"); code != 200 {
			t.Fatalf("call %d: %d", i, code)
		}
		ports = append(ports, p.rtpPort())
	}
	if ports[1] == ports[0]+2 && ports[2] == ports[1]+2 {
		t.Errorf("RTP ports %v handed out in order: the next call's port can be guessed", ports)
	}

	// The attacker sends to the victim's RTP port before the victim does.
	attacker, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 2)})
	if err != nil {
		t.Fatal(err)
	}
	defer attacker.Close()
	var attackerIn atomic.Int32
	var wg sync.WaitGroup
	defer wg.Wait()
	defer attacker.Close()
	wg.Add(1)
	go func() {
		defer wg.Done()
		buf := make([]byte, 1500)
		for {
			if _, _, err := attacker.ReadFromUDP(buf); err != nil {
				return
			}
			attackerIn.Add(1)
		}
	}()
	gwRTP := func(p *hsipPhone) *net.UDPAddr { return &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: p.rtpPort()} }
	if _, err := attacker.WriteToUDP(hsipRTP(1, 0xbad), gwRTP(victim)); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
	third.rtpIn.Store(0)
	// Three seconds of talk: the talker and the victim send RTP, the
	// attacker keeps sending to the victim's port.
	for i := range 150 {
		seq := uint16(i + 2)
		_, _ = talker.rtp.WriteToUDP(hsipRTP(seq, 0x1111), gwRTP(talker))
		_, _ = victim.rtp.WriteToUDP(hsipRTP(seq, 0x2222), gwRTP(victim))
		_, _ = attacker.WriteToUDP(hsipRTP(seq, 0xbad), gwRTP(victim))
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("in 3 s: victim received %d RTP packets, talker %d, attacker %d, third-party address %d",
		victim.rtpIn.Load(), talker.rtpIn.Load(), attackerIn.Load(), third.rtpIn.Load())
	if victim.rtpIn.Load() < 50 {
		t.Errorf("the victim received %d packets of the meeting's audio in 3 s, want ≥ 50", victim.rtpIn.Load())
	}
	if n := attackerIn.Load(); n != 0 {
		t.Errorf("the attacker who sent first received %d packets of the meeting's audio", n)
	}
	if n := third.rtpIn.Load(); n != 0 {
		t.Errorf("the third party named in an SDP received %d packets it never asked for", n)
	}
	if n := scrapeMetric(t, s, "confab_sipgw_rtp_packets_rejected_total"); n < 100 {
		t.Errorf("confab_sipgw_rtp_packets_rejected_total = %v, want the attacker's ~150", n)
	}
	hsipAPIAnswers(t, s, "hostile-media-2")
}

// TestHostileSIPJunk: 5,000 junk datagrams made 143 MB of error log in
// 6 s. Now parse failures are counted and logged at a limited rate.
func TestHostileSIPJunk(t *testing.T) {
	s := startServer(t, "", noThrottle())
	udp, _, _ := hsipAddrs(t, s)
	hsipFootprint(t, s, "before")
	logBefore := len(s.Log())
	c, err := net.Dial("udp", udp)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	junk := []byte("NOT SIP " + strings.Repeat("\xff\x00junk", 150) + "\r\n\r\n")
	const n = 5000
	for i := range n {
		_, _ = c.Write(junk)
		if i%20 == 19 {
			time.Sleep(2 * time.Millisecond) // stay within the socket buffer
		}
	}
	// Loopback drops some datagrams under load: wait until what arrived
	// is counted (the count stops moving), and most of it arrived.
	counted, deadline := -1.0, time.Now().Add(10*time.Second)
	for time.Now().Before(deadline) {
		time.Sleep(500 * time.Millisecond)
		now := scrapeMetric(t, s, "confab_sipgw_junk_messages_total")
		if now == counted && now >= n/4 {
			break
		}
		counted = now
	}
	hsipAPIAnswers(t, s, "hostile-junk")
	grown := len(s.Log()) - logBefore
	hsipFootprint(t, s, "after")
	t.Logf("%d junk datagrams: %.0f counted, %d bytes of log", n, counted, grown)
	if grown > 128<<10 {
		t.Errorf("%d junk datagrams wrote %d bytes of log, want ≤ 128 KiB", n, grown)
	}
	if counted < n/4 {
		t.Errorf("confab_sipgw_junk_messages_total = %v after %d junk datagrams", counted, n)
	}
}
