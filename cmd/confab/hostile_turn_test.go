package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go/aws"
	"github.com/aws/aws-sdk-go/service/chimesdkmeetings"
	"github.com/pion/stun/v3"
)

// The TURN relay as an attacker with valid credentials (any attendee's, from
// the TurnControlUrl or JOIN_ACK) would use it: it must relay only to the
// media socket, and its TCP listener must not hold idle connections.

// turnRaw speaks TURN over UDP by hand, to see each response code.
type turnRaw struct {
	t      *testing.T
	conn   *net.UDPConn
	server *net.UDPAddr
	user   string
	key    stun.MessageIntegrity
	realm  stun.Realm
	nonce  stun.Nonce
}

func newTurnRaw(t *testing.T, server string, c turnCreds) *turnRaw {
	t.Helper()
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	addr, err := net.ResolveUDPAddr("udp4", server)
	if err != nil {
		t.Fatal(err)
	}
	return &turnRaw{t: t, conn: conn, server: addr, user: c.Username,
		key: stun.NewLongTermIntegrity(c.Username, "confab", c.Password)}
}

// do sends a request and returns its response (retransmitting, RFC 8489
// §6.2.1), skipping anything else that arrives.
func (c *turnRaw) do(setters ...stun.Setter) *stun.Message {
	c.t.Helper()
	req, err := stun.Build(append([]stun.Setter{stun.TransactionID}, setters...)...)
	if err != nil {
		c.t.Fatal(err)
	}
	buf := make([]byte, 1600)
	for range 6 {
		if _, err := c.conn.WriteTo(req.Raw, c.server); err != nil {
			c.t.Fatal(err)
		}
		_ = c.conn.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
		for {
			n, err := c.conn.Read(buf)
			if err != nil {
				break
			}
			res := &stun.Message{Raw: append([]byte(nil), buf[:n]...)}
			if res.Decode() == nil && res.TransactionID == req.TransactionID {
				return res
			}
		}
	}
	c.t.Fatalf("no response to %v", req.Type)
	return nil
}

// authed sends an authenticated request, fetching REALM and NONCE first.
func (c *turnRaw) authed(method stun.Method, setters ...stun.Setter) *stun.Message {
	c.t.Helper()
	if c.nonce == nil {
		res := c.do(stun.NewType(stun.MethodAllocate, stun.ClassRequest), turnUDPTransport{})
		if turnErrCode(res) != stun.CodeUnauthorized {
			c.t.Fatalf("unauthenticated Allocate: %v, want 401", turnErrCode(res))
		}
		_ = c.nonce.GetFrom(res)
		_ = c.realm.GetFrom(res)
	}
	all := append([]stun.Setter{stun.NewType(method, stun.ClassRequest)}, setters...)
	return c.do(append(all, stun.NewUsername(c.user), c.realm, c.nonce, c.key, stun.Fingerprint)...)
}

// send sends a Send indication (RFC 8656 §11.1) with data for peer.
func (c *turnRaw) send(peer netip.AddrPort, data []byte) {
	c.t.Helper()
	msg := stun.MustBuild(stun.TransactionID, stun.NewType(stun.MethodSend, stun.ClassIndication),
		turnXORPeer(peer), turnAttr{stun.AttrData, data}, stun.Fingerprint)
	if _, err := c.conn.WriteTo(msg.Raw, c.server); err != nil {
		c.t.Fatal(err)
	}
}

// relayedData returns the payloads of the Data indications and ChannelData
// that arrive within wait.
func (c *turnRaw) relayedData(wait time.Duration) []string {
	var got []string
	buf := make([]byte, 1600)
	_ = c.conn.SetReadDeadline(time.Now().Add(wait))
	for {
		n, err := c.conn.Read(buf)
		if err != nil {
			return got
		}
		if n >= 4 && buf[0]&0xC0 == 0x40 { // ChannelData, RFC 8656 §12.4
			got = append(got, string(buf[4:n]))
			continue
		}
		m := &stun.Message{Raw: append([]byte(nil), buf[:n]...)}
		if m.Decode() == nil && m.Type == stun.NewType(stun.MethodData, stun.ClassIndication) {
			if d, err := m.Get(stun.AttrData); err == nil {
				got = append(got, string(d))
			}
		}
	}
}

type turnUDPTransport struct{} // REQUESTED-TRANSPORT UDP, RFC 8656 §18.7

func (turnUDPTransport) AddTo(m *stun.Message) error {
	m.Add(stun.AttrRequestedTransport, []byte{17, 0, 0, 0})
	return nil
}

type turnAttr struct {
	typ stun.AttrType
	v   []byte
}

func (a turnAttr) AddTo(m *stun.Message) error { m.Add(a.typ, a.v); return nil }

func turnXORPeer(ap netip.AddrPort) stun.Setter {
	return turnSetter(func(m *stun.Message) error {
		return stun.XORMappedAddress{IP: ap.Addr().AsSlice(), Port: int(ap.Port())}.AddToAs(m, stun.AttrXORPeerAddress)
	})
}

type turnSetter func(*stun.Message) error

func (f turnSetter) AddTo(m *stun.Message) error { return f(m) }

func turnChannel(n uint16) stun.Setter {
	return turnAttr{stun.AttrChannelNumber, []byte{byte(n >> 8), byte(n), 0, 0}}
}

func turnErrCode(m *stun.Message) stun.ErrorCode {
	var ec stun.ErrorCodeAttribute
	if m.Type.Class != stun.ClassErrorResponse || ec.GetFrom(m) != nil {
		return 0
	}
	return ec.Code
}

// turnURI returns the host:port of creds' turn: URI for transport.
func turnURI(t *testing.T, c turnCreds, transport string) string {
	t.Helper()
	for _, u := range c.URIs {
		if rest, ok := strings.CutPrefix(u, "turn:"); ok && strings.HasSuffix(rest, "?transport="+transport) {
			return strings.TrimSuffix(rest, "?transport="+transport)
		}
	}
	t.Fatalf("no turn:…?transport=%s URI in %v", transport, c.URIs)
	return ""
}

// turnAttendee creates a meeting and attendee on s and fetches its TURN
// credentials from the TurnControlUrl.
func turnAttendee(t *testing.T, s *server, name string) turnCreds {
	t.Helper()
	c := s.client(testKeyID, testSecret)
	cm, err := c.CreateMeeting(&chimesdkmeetings.CreateMeetingInput{
		ClientRequestToken: aws.String(name), MediaRegion: aws.String("us-east-1"), ExternalMeetingId: aws.String(name),
	})
	if err != nil {
		t.Fatal(err)
	}
	ca, err := c.CreateAttendee(&chimesdkmeetings.CreateAttendeeInput{MeetingId: cm.Meeting.MeetingId, ExternalUserId: aws.String(name + "-user")})
	if err != nil {
		t.Fatal(err)
	}
	code, creds := turnControlCall(t, aws.StringValue(cm.Meeting.MediaPlacement.TurnControlUrl),
		aws.StringValue(ca.Attendee.JoinToken), aws.StringValue(cm.Meeting.MeetingId))
	if code != http.StatusOK {
		t.Fatalf("TurnControlUrl: %d", code)
	}
	return creds
}

// TestHostileTURNOpenRelay: with valid credentials, CreatePermission and
// ChannelBind to public addresses (8.8.8.8, 192.0.2.1), to another port of
// the media IP, and to this host's SIP, TURN and HTTP ports get 403; to the
// media socket they succeed. A SIP OPTIONS sent (Send indication) to the SIP
// port under the media IP's permission gets nothing back. Before the fix all
// of these were granted and the OPTIONS came back "200 OK".
func TestHostileTURNOpenRelay(t *testing.T) {
	mediaPort := freeUDP(t)
	s := startServer(t, "", noThrottle(), fmt.Sprintf("CONFAB_MEDIA_UDP_LISTEN=127.0.0.1:%d", mediaPort),
		"CONFAB_ACCESS_KEY_ID="+testKeyID, "CONFAB_SECRET_ACCESS_KEY="+testSecret)
	creds := turnAttendee(t, s, "relay-1")
	turnUDP, turnTCP := turnURI(t, creds, "udp"), turnURI(t, creds, "tcp")
	m := regexp.MustCompile(`sipgw: listening" .*?udp=(127\.0\.0\.1:\d+)`).FindStringSubmatch(s.Log())
	if m == nil {
		t.Fatalf("no SIP listener in the log:\n%s", s.Log())
	}
	sipUDP := netip.MustParseAddrPort(m[1])
	media := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(mediaPort))
	httpAP := netip.MustParseAddrPort(strings.TrimPrefix(s.Endpoint, "http://"))

	c := newTurnRaw(t, turnUDP, creds)
	if res := c.authed(stun.MethodAllocate, turnUDPTransport{}); res.Type.Class != stun.ClassSuccessResponse {
		t.Fatalf("Allocate: %v %v", res.Type, turnErrCode(res))
	}
	forbidden := map[string]netip.AddrPort{
		"8.8.8.8":             netip.MustParseAddrPort("8.8.8.8:3478"),
		"192.0.2.1":           netip.MustParseAddrPort("192.0.2.1:5060"),
		"media IP, next port": netip.AddrPortFrom(media.Addr(), media.Port()+1),
		"SIP port":            sipUDP,
		"TURN UDP port":       netip.MustParseAddrPort(turnUDP),
		"TURN TCP port":       netip.MustParseAddrPort(turnTCP),
		"HTTP port":           httpAP,
	}
	ch := uint16(0x4000)
	for name, peer := range forbidden {
		if res := c.authed(stun.MethodCreatePermission, turnXORPeer(peer)); turnErrCode(res) != stun.CodeForbidden {
			t.Errorf("CreatePermission to %s (%v): %v %v, want 403", name, peer, res.Type, turnErrCode(res))
		}
		ch++
		if res := c.authed(stun.MethodChannelBind, turnXORPeer(peer), turnChannel(ch)); turnErrCode(res) != stun.CodeForbidden {
			t.Errorf("ChannelBind to %s (%v): %v %v, want 403", name, peer, res.Type, turnErrCode(res))
		}
	}
	if res := c.authed(stun.MethodCreatePermission, turnXORPeer(media)); res.Type.Class != stun.ClassSuccessResponse {
		t.Errorf("CreatePermission to the media socket %v: %v %v", media, res.Type, turnErrCode(res))
	}
	if res := c.authed(stun.MethodChannelBind, turnXORPeer(media), turnChannel(0x7000)); res.Type.Class != stun.ClassSuccessResponse {
		t.Errorf("ChannelBind to the media socket %v: %v %v", media, res.Type, turnErrCode(res))
	}

	// The media IP now has a permission (pion's are per address): a Send
	// indication to the SIP port on it must still go nowhere.
	options := "OPTIONS sip:+17035550122@" + sipUDP.String() + " SIP/2.0\r\n" +
		"Via: SIP/2.0/UDP 192.0.2.9:5060;rport;branch=z9hG4bK-relay-1\r\n" +
		"Max-Forwards: 70\r\nFrom: <sip:probe@192.0.2.9>;tag=1\r\nTo: <sip:+17035550122@" + sipUDP.Addr().String() + ">\r\n" +
		"Call-ID: relay-probe-1\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
	for range 3 {
		c.send(sipUDP, []byte(options))
		c.send(httpAP, []byte("GET / HTTP/1.0\r\n\r\n"))
	}
	for _, d := range c.relayedData(2 * time.Second) {
		t.Errorf("relayed back to the client: %.60q", d)
	}

	// The API answers, and the refusals are counted.
	body := turnScrape(t, s)
	if v := turnSample(body, `confab_turn_refusals_total{reason="forbidden_peer"}`); v < 2*float64(len(forbidden))+6 {
		t.Errorf("confab_turn_refusals_total{forbidden_peer} = %v, want ≥ %d", v, 2*len(forbidden)+6)
	}
}

// TestHostileTURNIdleTCP: connections to the TURN TCP port that send
// nothing are closed after turn.first_message_timeout, those past
// turn.max_conns_per_ip are closed at once, one that goes silent after its
// first message is closed after turn.idle_timeout, and the API keeps
// answering throughout. Before the fix every one was held until the client
// left.
func TestHostileTURNIdleTCP(t *testing.T) {
	const perIP, flood = 8, 40
	s := startServer(t, "", noThrottle()+fmt.Sprintf(
		"turn:\n  max_conns_per_ip: %d\n  first_message_timeout: 2s\n  idle_timeout: 2s\n", perIP))
	creds := turnAttendee(t, s, "idle-1")
	tcpAddr := turnURI(t, creds, "tcp")
	before := turnScrape(t, s)

	start := time.Now()
	conns := make([]net.Conn, 0, flood)
	for range flood {
		c, err := net.Dial("tcp4", tcpAddr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		conns = append(conns, c)
	}
	during := turnScrape(t, s)
	if _, err := s.client(testKeyID, testSecret).CreateMeeting(&chimesdkmeetings.CreateMeetingInput{
		ClientRequestToken: aws.String("idle-2"), MediaRegion: aws.String("us-east-1"), ExternalMeetingId: aws.String("idle-2"),
	}); err != nil {
		t.Errorf("the API did not answer during the flood: %v", err)
	}
	closedAt := make([]time.Duration, len(conns))
	var wg sync.WaitGroup
	for i, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = c.SetReadDeadline(time.Now().Add(8 * time.Second))
			if _, err := c.Read(make([]byte, 1)); err == nil || turnIsTimeout(err) {
				t.Errorf("connection %d still open after 8 s (%v)", i, err)
			}
			closedAt[i] = time.Since(start)
		}()
	}
	wg.Wait()
	early, late := 0, 0
	for _, d := range closedAt {
		switch {
		case d < 1200*time.Millisecond: // refused at accept; the deadline is 2 s
			early++
		case d < 6*time.Second:
			late++
		}
	}
	// At most perIP are held (until the first-message deadline); the rest
	// are closed at accept.
	if late > perIP || early+late != flood || early < flood-perIP {
		t.Errorf("closed at once %d, after the deadline %d; want ≥ %d and ≤ %d", early, late, flood-perIP, perIP)
	}

	// A connection that sends a message (a Binding request), then nothing,
	// is closed after the idle timeout.
	c, err := net.Dial("tcp4", tcpAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write(stun.MustBuild(stun.TransactionID, stun.BindingRequest, stun.Fingerprint).Raw); err != nil {
		t.Fatal(err)
	}
	resp := make([]byte, 1600)
	if n, err := c.Read(resp); err != nil || !stun.IsMessage(resp[:n]) {
		t.Fatalf("Binding over TCP: %v", err)
	}
	idleStart := time.Now()
	_ = c.SetReadDeadline(time.Now().Add(8 * time.Second))
	if _, err := c.Read(resp); err == nil || turnIsTimeout(err) {
		t.Fatalf("established connection still open after 8 s idle (%v)", err)
	}
	if d := time.Since(idleStart); d < 1500*time.Millisecond || d > 5*time.Second {
		t.Errorf("idle connection closed after %v, want ≈ 2 s", d)
	}

	after := turnScrape(t, s)
	if v := turnSample(after, `confab_turn_refusals_total{reason="stream_per_ip"}`); v < flood-perIP {
		t.Errorf("confab_turn_refusals_total{stream_per_ip} = %v, want ≥ %d", v, flood-perIP)
	}
	t.Logf("goroutines before/during/after: %v/%v/%v; RSS MB before/during/after: %.1f/%.1f/%.1f",
		turnSample(before, "go_goroutines"), turnSample(during, "go_goroutines"), turnSample(after, "go_goroutines"),
		turnSample(before, "process_resident_memory_bytes")/1e6, turnSample(during, "process_resident_memory_bytes")/1e6,
		turnSample(after, "process_resident_memory_bytes")/1e6)
}

func turnIsTimeout(err error) bool {
	ne, ok := err.(net.Error)
	return ok && ne.Timeout()
}

// turnScrape scrapes s's /metrics.
func turnScrape(t *testing.T, s *server) string {
	t.Helper()
	resp, err := http.Get(s.Endpoint + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// turnSample finds the sample named series (name{labels} as exposed) in
// a /metrics body; 0 if absent.
func turnSample(body, series string) float64 {
	sc := bufio.NewScanner(strings.NewReader(body))
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), series+" "); ok {
			v, _ := strconv.ParseFloat(strings.TrimSpace(rest), 64)
			return v
		}
	}
	return 0
}
