package sipgw

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/base64"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
	"github.com/pion/srtp/v3"
	"github.com/zaf/g711"
	"gopkg.in/hraban/opus.v2"
)

// A test phone: a sipgo UAC plus an RTP endpoint that speaks a 1 kHz tone
// (Opus or PCMU, optionally SRTP) and records what it hears.

type uac struct {
	t     *testing.T
	ua    *sipgo.UserAgent
	cli   *sipgo.Client
	srv   *sipgo.Server
	cache *sipgo.DialogClientCache
	byes  chan struct{}
	// listener, if set (newListeningUAC): the UDP socket the UAC serves
	// and sends from; served closes when its reader has stopped.
	listener net.PacketConn
	served   chan struct{}
}

// newListeningUAC is a UAC that, like a real phone, listens on a UDP port
// and sends its requests from it. sipgo v1.7.2's client connections (the
// ephemeral sockets newUAC's requests go out on) can lose their reference
// count under load and then outlive the UA's Close, which the leak checks
// report; a listener socket is the UA's own to close.
func newListeningUAC(t *testing.T) *uac {
	t.Helper()
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	u := newUACWith(t, sipgo.WithClientConnectionAddr(conn.LocalAddr().String()))
	u.listener, u.served = conn, make(chan struct{})
	go func() { defer close(u.served); _ = u.srv.ServeUDP(conn) }()
	t.Cleanup(u.stopListening)
	// Requests may go out only once the listener is in the pool (else the
	// client binds a second socket to its address).
	pool := u.ua.TransportLayer().Pool("udp")
	deadline := time.Now().Add(5 * time.Second)
	for pool.Get(conn.LocalAddr().String()) == nil {
		if time.Now().After(deadline) {
			t.Fatal("the UAC's listener did not start")
		}
		time.Sleep(time.Millisecond)
	}
	return u
}

// stopListening closes the listener (if any) and waits for its reader.
func (u *uac) stopListening() {
	if u.listener == nil {
		return
	}
	_ = u.listener.Close()
	<-u.served
}

func newUAC(t *testing.T) *uac {
	t.Helper()
	return newUACWith(t)
}

func newUACWith(t *testing.T, opts ...sipgo.ClientOption) *uac {
	t.Helper()
	ua, err := sipgo.NewUA(sipgo.WithUserAgent("testphone"),
		sipgo.WithUserAgenTLSConfig(&tls.Config{InsecureSkipVerify: true}),
		sipgo.WithUserAgentTransportLayerOptions(sip.WithTransportLayerLogger(testLog(t))),
		sipgo.WithUserAgentTransactionLayerOptions(sip.WithTransactionLayerLogger(testLog(t))))
	if err != nil {
		t.Fatal(err)
	}
	cli, err := sipgo.NewClient(ua, append([]sipgo.ClientOption{sipgo.WithClientLogger(testLog(t))}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := sipgo.NewServer(ua, sipgo.WithServerLogger(testLog(t)))
	if err != nil {
		t.Fatal(err)
	}
	u := &uac{t: t, ua: ua, cli: cli, srv: srv, byes: make(chan struct{}, 4)}
	u.cache = sipgo.NewDialogClientCache(cli, sip.ContactHeader{Address: sip.Uri{Scheme: "sip", User: caller, Host: "127.0.0.1"}})
	srv.OnBye(func(req *sip.Request, tx sip.ServerTransaction) {
		if err := u.cache.ReadBye(req, tx); err != nil {
			_ = tx.Respond(sip.NewResponseFromRequest(req, 481, "No dialog", nil))
			return
		}
		u.byes <- struct{}{}
	})
	t.Cleanup(func() { _ = ua.Close() })
	return u
}

// inviteURI is the dial-in Request-URI with a token parameter (raw, so
// tests can vary case and encoding).
func inviteURI(addr net.Addr, transport, user, tokenParam string) sip.Uri {
	host, port, _ := net.SplitHostPort(addr.String())
	p, _ := strconv.Atoi(port)
	u := sip.Uri{Scheme: "sip", User: user, Host: host, Port: p, UriParams: sip.NewParams()}
	if transport != "udp" {
		u.UriParams.Add("transport", transport)
	}
	if tokenParam != "" {
		k, v, _ := strings.Cut(tokenParam, "=")
		u.UriParams.Add(k, v)
	}
	return u
}

// dial sends an INVITE and waits for the final response; on 2xx it ACKs.
func (u *uac) dial(ctx context.Context, uri sip.Uri, from string, body []byte, headers ...sip.Header) (*sipgo.DialogClientSession, error) {
	fromHdr := &sip.FromHeader{Address: sip.Uri{Scheme: "sip", User: from, Host: "127.0.0.1"}, Params: sip.NewParams()}
	fromHdr.Params.Add("tag", sip.GenerateTagN(12))
	hs := append([]sip.Header{fromHdr, sip.NewHeader("Content-Type", "application/sdp")}, headers...)
	sess, err := u.cache.Invite(ctx, uri, body, hs...)
	if err != nil {
		return nil, err
	}
	if err := sess.WaitAnswer(ctx, sipgo.AnswerOptions{}); err != nil {
		return sess, err
	}
	return sess, sess.Ack(ctx)
}

// rtpPhone is the phone's media side.
type rtpPhone struct {
	t      *testing.T
	conn   *net.UDPConn
	codec  codec
	pt     uint8
	tePT   uint8
	remote netip.AddrPort
	tx, rx *srtp.Context
	heard  *recorder
	sent   atomic.Int64
	recv   atomic.Int64
	quiet  atomic.Bool // stop sending audio (hold)

	mu   sync.Mutex // guards seq, ts (audio and DTMF share the stream)
	ssrc uint32
	seq  uint16
	ts   uint32

	stop chan struct{}
	wg   sync.WaitGroup
}

func newRTPPhone(t *testing.T) *rtpPhone {
	t.Helper()
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	p := &rtpPhone{t: t, conn: conn, ssrc: 0x1234abcd, seq: 100, ts: 5000, stop: make(chan struct{})}
	t.Cleanup(p.close)
	return p
}

func (p *rtpPhone) port() int { return p.conn.LocalAddr().(*net.UDPAddr).Port }

func (p *rtpPhone) close() {
	select {
	case <-p.stop:
		return
	default:
	}
	close(p.stop)
	_ = p.conn.Close()
	p.wg.Wait()
}

// useAnswer reads the gateway's answer: address, codec, payload types and,
// for SRTP, the receive key; txKey is the key of the offered crypto tag the
// answer picked.
func (p *rtpPhone) useAnswer(body []byte, txKeys map[string]string) (suite string) {
	t := p.t
	t.Helper()
	var sd sdp.SessionDescription
	if err := sd.Unmarshal(body); err != nil {
		t.Fatalf("answer: %v\n%s", err, body)
	}
	var md *sdp.MediaDescription
	for _, m := range sd.MediaDescriptions {
		if m.MediaName.Port.Value != 0 {
			md = m
		}
	}
	if md == nil {
		t.Fatalf("answer accepts no stream:\n%s", body)
	}
	ip := netip.MustParseAddr(sd.ConnectionInformation.Address.Address)
	p.remote = netip.AddrPortFrom(ip, uint16(md.MediaName.Port.Value))
	for _, a := range md.Attributes {
		if a.Key != "rtpmap" {
			continue
		}
		pt, name, _ := strings.Cut(a.Value, " ")
		n, _ := strconv.Atoi(pt)
		switch {
		case strings.HasPrefix(strings.ToLower(name), "opus/"):
			p.codec, p.pt = codecOpus, uint8(n)
		case strings.HasPrefix(name, "PCMU/"):
			p.codec, p.pt = codecPCMU, uint8(n)
		case strings.HasPrefix(name, "PCMA/"):
			p.codec, p.pt = codecPCMA, uint8(n)
		case strings.HasPrefix(name, "telephone-event/"):
			p.tePT = uint8(n)
		}
	}
	if cr, ok := md.Attribute("crypto"); ok {
		f := strings.Fields(cr)
		suite = f[1]
		s := srtpSuites[suite]
		theirs, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(f[2], "inline:"))
		ours, _ := base64.StdEncoding.DecodeString(txKeys[f[0]])
		var err error
		if p.rx, err = srtp.CreateContext(theirs[:s.keyLen], theirs[s.keyLen:], s.profile); err != nil {
			t.Fatal(err)
		}
		if p.tx, err = srtp.CreateContext(ours[:s.keyLen], ours[s.keyLen:], s.profile); err != nil {
			t.Fatal(err)
		}
	}
	return suite
}

// start sends the 1 kHz tone every 20 ms and records what arrives.
func (p *rtpPhone) start() {
	rate := 8000
	if p.codec == codecOpus {
		rate = 48000
	}
	p.heard = newRecorder(rate)
	p.wg.Add(2)
	go p.speak(rate, newToneEncoder(p.t, rate, phoneTone, 8000))
	go p.listen(rate)
}

func (p *rtpPhone) speak(rate int, g *toneEncoder) {
	defer p.wg.Done()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-p.stop:
			return
		case <-tick.C:
		}
		var payload []byte
		if p.codec == codecOpus {
			payload, _ = g.next()
		} else {
			for _, s := range g.frame() {
				payload = append(payload, g711.EncodeUlawFrame(s))
			}
		}
		if p.quiet.Load() {
			p.mu.Lock()
			p.ts += uint32(rate / 50)
			p.mu.Unlock()
			continue
		}
		p.mu.Lock()
		p.write(p.pt, false, p.ts, payload)
		p.ts += uint32(rate / 50)
		p.mu.Unlock()
	}
}

// write sends one packet; p.mu held.
func (p *rtpPhone) write(pt uint8, marker bool, ts uint32, payload []byte) {
	pkt := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: pt, Marker: marker, SequenceNumber: p.seq,
		Timestamp: ts, SSRC: p.ssrc}, Payload: payload}
	p.seq++
	b, err := pkt.Marshal()
	if err != nil {
		p.t.Error(err)
		return
	}
	if p.tx != nil {
		if b, err = p.tx.EncryptRTP(nil, b, nil); err != nil {
			p.t.Error(err)
			return
		}
	}
	if _, err := p.conn.WriteToUDPAddrPort(b, p.remote); err == nil {
		p.sent.Add(1)
	}
}

func (p *rtpPhone) listen(rate int) {
	defer p.wg.Done()
	var dec *opus.Decoder
	if p.codec == codecOpus {
		dec, _ = opus.NewDecoder(48000, 1)
	}
	buf := make([]byte, 1500)
	pcm := make([]int16, 960)
	for {
		n, _, err := p.conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			return
		}
		b := buf[:n]
		if p.rx != nil {
			if b, err = p.rx.DecryptRTP(nil, b, nil); err != nil {
				p.t.Errorf("phone: SRTP decrypt: %v", err)
				continue
			}
		}
		var pkt rtp.Packet
		if err := pkt.Unmarshal(b); err != nil || pkt.PayloadType != p.pt {
			continue
		}
		p.recv.Add(1)
		if dec != nil {
			if k, err := dec.Decode(pkt.Payload, pcm); err == nil {
				p.heard.add(pcm[:k])
			}
		} else {
			s := make([]int16, len(pkt.Payload))
			for i, v := range pkt.Payload {
				s[i] = g711.DecodeUlawFrame(v)
			}
			p.heard.add(s)
		}
	}
}

// sendDTMF sends one RFC 4733 event the way phones do: marker on the
// first packet, the same timestamp throughout, duration growing every
// 20 ms, three end packets. ts overrides the event timestamp when not 0.
func (p *rtpPhone) sendDTMF(event uint8, packets int, ts uint32) {
	p.mu.Lock()
	if ts == 0 {
		ts = p.ts
	}
	p.mu.Unlock()
	dur := uint16(0)
	for i := range packets + 3 {
		end := i >= packets
		if !end {
			dur += 160
		}
		payload := []byte{event, 10, byte(dur >> 8), byte(dur)}
		if end {
			payload[1] |= 0x80
		}
		p.mu.Lock()
		p.write(p.tePT, i == 0, ts, payload)
		p.mu.Unlock()
		time.Sleep(5 * time.Millisecond)
	}
}

// pjsuaOffer is the offer of pjsua 2.x with SRTP: PCMU, GSM, PCMA, G722 and
// Opus, telephone-event at both clocks, six a=crypto suites. It returns the
// SDP and the key of each crypto tag.
func pjsuaOffer(t testing.TB, port int) ([]byte, map[string]string) {
	t.Helper()
	keys := map[string]string{}
	line := func(tag, suite string, n int) string {
		b := make([]byte, n)
		_, _ = rand.Read(b)
		k := base64.StdEncoding.EncodeToString(b)
		keys[tag] = k
		return fmt.Sprintf("a=crypto:%s %s inline:%s\r\n", tag, suite, k)
	}
	s := "v=0\r\n" +
		"o=- 3917285301 3917285301 IN IP4 127.0.0.1\r\n" +
		"s=pjmedia\r\n" +
		"b=AS:117\r\n" +
		"t=0 0\r\n" +
		"a=X-nat:0\r\n" +
		fmt.Sprintf("m=audio %d RTP/SAVP 0 3 8 9 111 120 121\r\n", port) +
		"c=IN IP4 127.0.0.1\r\n" +
		"b=TIAS:96000\r\n" +
		fmt.Sprintf("a=rtcp:%d IN IP4 127.0.0.1\r\n", port+1) +
		"a=sendrecv\r\n" +
		"a=rtpmap:0 PCMU/8000\r\n" +
		"a=rtpmap:3 GSM/8000\r\n" +
		"a=rtpmap:8 PCMA/8000\r\n" +
		"a=rtpmap:9 G722/8000\r\n" +
		"a=rtpmap:111 opus/48000/2\r\n" +
		"a=fmtp:111 useinbandfec=1\r\n" +
		"a=rtpmap:120 telephone-event/48000\r\n" +
		"a=fmtp:120 0-16\r\n" +
		"a=rtpmap:121 telephone-event/8000\r\n" +
		"a=fmtp:121 0-16\r\n" +
		line("1", "AEAD_AES_256_GCM", 44) +
		line("2", "AEAD_AES_128_GCM", 28) +
		line("3", "AES_256_CM_HMAC_SHA1_80", 46) +
		line("4", "AES_256_CM_HMAC_SHA1_32", 46) +
		line("5", "AES_CM_128_HMAC_SHA1_80", 30) +
		line("6", "AES_CM_128_HMAC_SHA1_32", 30) +
		"a=ssrc:1867383423 cname:4e3c6e2c1d8a6f01\r\n"
	return []byte(s), keys
}

// plainOffer is a simple RTP/AVP offer of the given formats.
func plainOffer(port int, version int, dir string, formats ...string) []byte {
	var pts []string
	var attrs string
	for _, f := range formats {
		pt, name, _ := strings.Cut(f, " ")
		pts = append(pts, pt)
		if name != "" {
			attrs += "a=rtpmap:" + pt + " " + name + "\r\n"
		}
	}
	return []byte("v=0\r\n" +
		fmt.Sprintf("o=- 1 %d IN IP4 127.0.0.1\r\n", version) +
		"s=-\r\n" +
		"c=IN IP4 127.0.0.1\r\n" +
		"t=0 0\r\n" +
		fmt.Sprintf("m=audio %d RTP/AVP %s\r\n", port, strings.Join(pts, " ")) +
		attrs +
		"a=" + dir + "\r\n")
}

// reinvite sends an in-dialog INVITE with body and ACKs its 2xx.
func reinvite(t *testing.T, ctx context.Context, sess *sipgo.DialogClientSession, body []byte) *sip.Response {
	t.Helper()
	contact := sess.InviteResponse.Contact().Address
	req := sip.NewRequest(sip.INVITE, contact)
	req.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	req.SetBody(body)
	res, err := sess.Do(ctx, req)
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("re-INVITE: %v %v", res, err)
	}
	ack := sip.NewRequest(sip.ACK, contact)
	if err := sess.WriteRequest(ack); err != nil {
		t.Fatalf("ACK: %v", err)
	}
	return res
}
