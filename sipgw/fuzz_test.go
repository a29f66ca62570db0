package sipgw

import (
	"net/netip"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/pion/rtp"
)

// Fuzz targets for everything parsed from the network. `go test` runs the
// seeds; `go test -fuzz FuzzOffer ./sipgw/` explores.

func FuzzOffer(f *testing.F) {
	pj, _ := pjsuaOffer(f, 4000)
	f.Add(pj)
	f.Add(plainOffer(5000, 1, "sendonly", "0 PCMU/8000", "101 telephone-event/8000"))
	f.Add([]byte(sdpHead + "m=audio 5000 RTP/SAVP 0\r\na=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:" + key(30) + "|2^20|1:4\r\n"))
	f.Add([]byte("v=0\r\no=- 1 2 IN IP6 ::1\r\ns=-\r\nc=IN IP6 ::1\r\nt=0 0\r\nm=audio 1 RTP/AVP 8\r\nm=video 0 RTP/AVP 96\r\n"))
	f.Fuzz(func(t *testing.T, body []byte) {
		o, err := parseOffer(body)
		if err != nil {
			return
		}
		for _, srtp := range []bool{false, true} {
			p, ref := negotiate(o, srtp, 0)
			if ref != nil {
				continue
			}
			var s *srtpSession
			if p.crypto != nil {
				if s, err = newSRTPSession(*p.crypto); err != nil {
					t.Fatalf("accepted crypto fails: %v", err)
				}
			}
			a := answer{ip: netip.MustParseAddr("127.0.0.1"), port: 20000}
			if _, err := parseOffer(a.render(o, p, s, p.dir.reverse())); err != nil {
				t.Fatalf("answer does not parse: %v", err)
			}
		}
	})
}

func FuzzCrypto(f *testing.F) {
	f.Add("1 AES_CM_128_HMAC_SHA1_80 inline:" + key(30) + "|2^20|1:4")
	f.Add("1 AEAD_AES_256_GCM inline:" + key(44))
	f.Fuzz(func(t *testing.T, v string) {
		if c, ok := parseCrypto(v); ok {
			if len(c.key) != c.suite.keyLen || len(c.salt) != c.suite.saltLen {
				t.Fatalf("bad key lengths %d/%d", len(c.key), len(c.salt))
			}
		}
	})
}

func FuzzInfoDigit(f *testing.F) {
	f.Add("application/dtmf-relay", []byte("Signal=5\r\nDuration=160\r\n"))
	f.Add("application/dtmf", []byte("#"))
	f.Fuzz(func(t *testing.T, ct string, body []byte) {
		if d, ok := infoDigit(ct, body); ok && (d < '#' || d > 'D') {
			t.Fatalf("digit %q", d)
		}
	})
}

// FuzzRTP feeds arbitrary datagrams to both receive paths and the DTMF
// receiver.
func FuzzRTP(f *testing.F) {
	var s sender
	_ = s.init(codecOpus, 1, 1, 1)
	p, _ := s.packet(mixFrames(f, 1)[0], 0, &txConfig{pt: 111})
	f.Add(append([]byte(nil), p...))
	f.Add([]byte{0x80, 101, 0, 1, 0, 0, 0, 1, 0, 0, 0, 9, 5, 0x8a, 0, 160})
	f.Add([]byte{0xb0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 9, 0xbe, 0xde, 0, 1, 0x10, 0xff, 0, 0, 0xff, 0xff, 3})
	mo := testMedia(f, codecOpus, nil, func([]byte, uint32, int8) error { return nil })
	mg := testMedia(f, codecPCMU, nil, func([]byte, uint32, int8) error { return nil })
	mo.dtmf.onDigit = func(rune) {}
	src := netip.MustParseAddrPort("127.0.0.1:5004")
	plain := make([]byte, 1500)
	var hdr rtp.Header
	f.Fuzz(func(t *testing.T, pkt []byte) {
		for _, m := range []*media{mo, mg} {
			b := append([]byte(nil), pkt...)
			if len(b) > 1 {
				b[1] = b[1]&0x80 | []byte{0, 101, 111}[int(b[1])%3]
			}
			m.packet(b, plain, src, &hdr)
		}
	})
}

// FuzzRequest parses arbitrary bytes as sipgo does off the wire and runs
// every check the gateway makes on a request before any state: Require,
// numbers, the join token, the session timer, the SDP body. The corpus is
// in testdata/fuzz/FuzzRequest.
func FuzzRequest(f *testing.F) {
	f.Add([]byte("INVITE sip:+17035550122@127.0.0.1;X-chime-join-token=t%2Dok SIP/2.0\r\n" +
		"Via: SIP/2.0/UDP 127.0.0.1:5062;branch=z9hG4bK1\r\nFrom: <sip:+12065550100@127.0.0.1>;tag=1\r\n" +
		"To: <sip:+17035550122@127.0.0.1>\r\nCall-ID: 1\r\nCSeq: 1 INVITE\r\nSupported: timer\r\n" +
		"Session-Expires: 1800;refresher=uac\r\nMin-SE: 90\r\nContent-Type: application/sdp\r\n" +
		"Content-Length: 4\r\n\r\nv=0\n"))
	g := &Gateway{cfg: Config{DialInNumber: dialIn, MinSessionExpires: 90 * time.Second, SessionExpires: 30 * time.Minute}}
	parser := sip.NewParser()
	f.Fuzz(func(t *testing.T, data []byte) {
		msg, err := parser.ParseSIP(data)
		if err != nil {
			return
		}
		req, ok := msg.(*sip.Request)
		if !ok {
			return
		}
		req.SetSource("127.0.0.1:5062")
		_ = g.checkRequest(req)
		if tok, ok := joinToken(req); ok && tok == "" {
			t.Fatal("empty join token accepted")
		}
		if timer, ref := g.negotiateTimer(req); ref == nil && timer.interval != 0 && timer.interval < g.cfg.MinSessionExpires {
			t.Fatalf("session interval %v below Min-SE", timer.interval)
		}
		if body, ok := sdpOffer(req); ok {
			if o, err := parseOffer(body); err == nil {
				_, _ = negotiate(o, g.srtpRequired(sourceIP(req)), 0)
			}
		}
	})
}
