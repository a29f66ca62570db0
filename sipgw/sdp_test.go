package sipgw

import (
	"encoding/base64"
	"net/netip"
	"strings"
	"testing"
)

// te builds an RFC 4733 payload.
func te(event uint8, end bool, dur uint16) []byte {
	p := []byte{event, 10, byte(dur >> 8), byte(dur)}
	if end {
		p[1] |= 0x80
	}
	return p
}

func TestDTMFReceiver(t *testing.T) {
	type pkt struct {
		event uint8
		end   bool
		ts    uint32
		seq   uint16
	}
	// event sends a whole event: n updates and three end packets.
	event := func(ev uint8, ts uint32, seq *uint16, n int) []pkt {
		var ps []pkt
		for i := range n + 3 {
			ps = append(ps, pkt{ev, i >= n, ts, *seq})
			*seq++
		}
		return ps
	}
	for _, tc := range []struct {
		name string
		pkts func() []pkt
		want string
	}{
		{"three digits", func() []pkt {
			seq := uint16(10)
			return append(append(event(1, 1000, &seq, 4), event(2, 3000, &seq, 4)...), event(11, 5000, &seq, 4)...)
		}, "12#"},
		{"start lost: fire on the end packet", func() []pkt {
			return []pkt{{7, true, 100, 1}, {7, true, 100, 2}, {7, true, 100, 3}}
		}, "7"},
		{"same digit twice", func() []pkt {
			seq := uint16(65530) // wraps
			return append(event(5, 1000, &seq, 3), event(5, 2000, &seq, 3)...)
		}, "55"},
		{"wrong clock: the next key reuses the timestamp", func() []pkt {
			seq := uint16(1)
			return append(event(3, 777, &seq, 3), event(4, 777, &seq, 3)...)
		}, "34"},
		{"reordered old packets and retransmitted ends", func() []pkt {
			seq := uint16(100)
			ps := event(9, 1000, &seq, 3)
			ps = append(ps, pkt{9, false, 1000, 101}, pkt{9, true, 1000, 104}) // stale copies
			return ps
		}, "9"},
		{"events beyond D ignored", func() []pkt {
			return []pkt{{16, false, 1, 1}, {16, true, 1, 2}, {0, false, 200, 3}}
		}, "0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []rune
			r := dtmfReceiver{onDigit: func(d rune) { got = append(got, d) }}
			for _, p := range tc.pkts() {
				r.packet(te(p.event, p.end, 160), p.ts, p.seq)
			}
			if string(got) != tc.want {
				t.Errorf("got %q, want %q", string(got), tc.want)
			}
		})
	}
}

func TestInfoDigit(t *testing.T) {
	for _, tc := range []struct {
		ct, body string
		want     rune
		ok       bool
	}{
		{"application/dtmf-relay", "Signal=5\r\nDuration=160\r\n", '5', true},
		{"application/dtmf-relay", "Signal= #\nDuration=100", '#', true},
		{"Application/DTMF-Relay; charset=x", "signal=10\r\n", '*', true},
		{"application/dtmf-relay", "Signal=11\r\n", '#', true},
		{"application/dtmf-relay", "Signal=d\r\n", 'D', true},
		{"application/dtmf", "7", '7', true},
		{"application/dtmf", " * \r\n", '*', true},
		{"application/dtmf-relay", "Duration=160\r\n", 0, false},
		{"application/dtmf", "12", 0, false},
		{"application/dtmf", "x", 0, false},
		{"text/plain", "5", 0, false},
	} {
		got, ok := infoDigit(tc.ct, []byte(tc.body))
		if got != tc.want || ok != tc.ok {
			t.Errorf("infoDigit(%q, %q) = %q %v, want %q %v", tc.ct, tc.body, got, ok, tc.want, tc.ok)
		}
	}
}

func key(n int) string { return base64.StdEncoding.EncodeToString(make([]byte, n)) }

func TestParseCrypto(t *testing.T) {
	for _, tc := range []struct {
		v   string
		ok  bool
		mki string
	}{
		{"1 AES_CM_128_HMAC_SHA1_80 inline:" + key(30), true, ""},
		{"1 AES_CM_128_HMAC_SHA1_80 inline:" + strings.TrimRight(key(30), "="), true, ""},
		{"2 AES_CM_128_HMAC_SHA1_32 inline:" + key(30) + "|2^31", true, ""},
		{"3 AES_CM_128_HMAC_SHA1_80 inline:" + key(30) + "|2^20|1:4", true, "\x00\x00\x00\x01"},
		{"4 AES_CM_128_HMAC_SHA1_80 inline:" + key(30) + "|7:1", true, "\x07"},
		{"5 AEAD_AES_256_GCM inline:" + key(44), true, ""},
		{"6 AEAD_AES_128_GCM inline:" + key(28), true, ""},
		{"7 AES_256_CM_HMAC_SHA1_80 inline:" + key(46), true, ""},
		{"8 AES_CM_128_HMAC_SHA1_80 inline:" + key(29), false, ""},                        // short key
		{"9 AEAD_AES_256_GCM_8 inline:" + key(44), false, ""},                             // pion lacks it
		{"10 AES_192_CM_HMAC_SHA1_80 inline:" + key(38), false, ""},                       // pion lacks it
		{"11 AES_CM_128_HMAC_SHA1_80 inline:" + key(30) + " UNENCRYPTED_SRTP", false, ""}, // session param
		{"12 AES_CM_128_HMAC_SHA1_80 inline:" + key(30) + "|1:300", false, ""},            // MKI too long
		{"x AES_CM_128_HMAC_SHA1_80 inline:" + key(30), false, ""},
		{"13 AES_CM_128_HMAC_SHA1_80 inline:" + key(30) + ";inline:" + key(30), false, ""},
	} {
		c, ok := parseCrypto(tc.v)
		if ok != tc.ok || (ok && string(c.mki) != tc.mki) {
			t.Errorf("parseCrypto(%q) = %v mki %q, want %v %q", tc.v, ok, c.mki, tc.ok, tc.mki)
		}
	}
}

func mustOffer(t *testing.T, s string) *offer {
	t.Helper()
	o, err := parseOffer([]byte(strings.ReplaceAll(s, "\n", "\r\n")))
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	return o
}

const sdpHead = "v=0\no=- 1 1 IN IP4 10.0.0.1\ns=-\nc=IN IP4 10.0.0.1\nt=0 0\n"

func TestNegotiate(t *testing.T) {
	pj, _ := pjsuaOffer(t, 4000)
	for _, tc := range []struct {
		name, sdp   string
		requireSRTP bool
		want        string // codec/pt/te/suite, or the refusal reason
	}{
		{"pjsua: opus and the first supported suite", string(pj), false, "opus/111/120@48000/AEAD_AES_256_GCM"},
		{"G.711 only, telephone-event at 8 kHz", sdpHead + "m=audio 5000 RTP/AVP 8 0 101\na=rtpmap:101 telephone-event/8000\n", false, "pcma/8/101@8000/"},
		{"static payload types without rtpmap", sdpHead + "m=audio 5000 RTP/AVP 18 0\n", false, "pcmu/0/-1@0/"},
		{"unsupported first suite skipped", sdpHead + "m=audio 5000 RTP/SAVP 0\na=crypto:1 AEAD_AES_256_GCM_8 inline:" + key(44) +
			"\na=crypto:2 AES_CM_128_HMAC_SHA1_32 inline:" + key(30) + "\n", false, "pcmu/0/-1@0/AES_CM_128_HMAC_SHA1_32"},
		{"no codec", sdpHead + "m=audio 5000 RTP/AVP 18 9\n", false, "No acceptable codec"},
		{"no usable crypto", sdpHead + "m=audio 5000 RTP/SAVP 0\na=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:" + key(30) + " KDR=1\n", false, "No acceptable SRTP crypto suite"},
		{"SRTP required", sdpHead + "m=audio 5000 RTP/AVP 0\n", true, "SRTP required"},
		{"no audio", sdpHead + "m=video 5000 RTP/AVP 96\n", false, "No audio stream offered"},
		{"DTLS-SRTP not served", sdpHead + "m=audio 5000 UDP/TLS/RTP/SAVPF 111\na=rtpmap:111 opus/48000/2\n", false, "No acceptable codec"},
		{"best effort: SAVP line unusable, AVP line taken", sdpHead +
			"m=audio 5000 RTP/SAVP 0\na=crypto:1 F8_128_HMAC_SHA1_80 inline:" + key(30) + "\nm=audio 5002 RTP/AVP 0\n", false, "pcmu/0/-1@0/"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, ref := negotiate(mustOffer(t, tc.sdp), tc.requireSRTP, 0)
			got := ""
			if ref != nil {
				got = ref.reason
			} else {
				got = p.codec.String() + "/" + itoa(int(p.pt)) + "/" + itoa(p.tePT) + "@" + itoa(p.teRate) + "/"
				if p.crypto != nil {
					got += p.crypto.suiteName
				}
			}
			if got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func itoa(i int) string {
	if i < 0 {
		return "-" + itoa(-i)
	}
	if i < 10 {
		return string(rune('0' + i))
	}
	return itoa(i/10) + string(rune('0'+i%10))
}

// TestAnswer: rejected lines keep their place with port 0, the accepted one
// gets one a=crypto with our key, the direction mirrors the offer, and an
// unchanged answer keeps its o= version.
func TestAnswer(t *testing.T) {
	o := mustOffer(t, sdpHead+"m=video 6000 RTP/AVP 96\na=rtpmap:96 VP8/90000\n"+
		"m=audio 5000 RTP/SAVP 111 0 101\na=rtpmap:111 opus/48000/2\na=rtpmap:101 telephone-event/48000\n"+
		"a=sendonly\na=rtcp-mux\na=crypto:7 AES_CM_128_HMAC_SHA1_80 inline:"+key(30)+"\n")
	p, ref := negotiate(o, false, 0)
	if ref != nil {
		t.Fatal(ref)
	}
	if !p.muted() || p.sending() || !p.expectsRTP() || p.remote != netip.MustParseAddrPort("10.0.0.1:5000") {
		t.Errorf("plan: muted %v sending %v expects %v remote %v", p.muted(), p.sending(), p.expectsRTP(), p.remote)
	}
	s, err := newSRTPSession(*p.crypto)
	if err != nil {
		t.Fatal(err)
	}
	a := answer{sessionID: 42, ip: netip.MustParseAddr("192.0.2.7"), port: 30000}
	body := string(a.render(o, p, s, p.dir.reverse()))
	for _, want := range []string{
		"o=confab 42 1 IN IP4 192.0.2.7\r\n", "c=IN IP4 192.0.2.7\r\n",
		"m=video 0 RTP/AVP 96\r\nm=audio 30000 RTP/SAVP 111 101\r\n",
		"a=rtpmap:111 opus/48000/2\r\na=fmtp:111 useinbandfec=1\r\n",
		"a=rtpmap:101 telephone-event/48000\r\n", "a=recvonly\r\n", "a=rtcp-mux\r\n",
		"a=crypto:7 AES_CM_128_HMAC_SHA1_80 inline:",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("answer lacks %q:\n%s", want, body)
		}
	}
	if strings.Contains(body, key(30)) {
		t.Error("answer echoes the offerer's key")
	}
	again := string(a.render(o, p, s, p.dir.reverse()))
	if again != body {
		t.Errorf("unchanged answer changed:\n%s\n%s", body, again)
	}
	if third := string(a.render(o, p, s, dirSendRecv)); !strings.Contains(third, "o=confab 42 2 ") {
		t.Errorf("changed answer kept its version:\n%s", third)
	}
	// Hold the RFC 2543 way.
	hold := mustOffer(t, "v=0\no=- 1 2 IN IP4 0.0.0.0\ns=-\nc=IN IP4 0.0.0.0\nt=0 0\nm=audio 5000 RTP/AVP 0\n")
	if p, _ := negotiate(hold, false, 0); !p.hold || !p.muted() || p.sending() || p.expectsRTP() {
		t.Errorf("c=0.0.0.0 not taken as hold: %+v", p)
	}
	// A re-offer must keep the codec.
	if _, ref := negotiate(mustOffer(t, sdpHead+"m=audio 5000 RTP/AVP 8\n"), false, codecPCMU); ref != refuseCodecChange {
		t.Errorf("codec change: %v", ref)
	}
}
