package phone

import (
	"strings"
	"testing"
)

// TestUseAnswer: the gateway's media address, chosen codec and SRTP key
// are taken from its answer; answers the caller cannot use are refused.
func TestUseAnswer(t *testing.T) {
	const head = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.2\r\nt=0 0\r\n"
	c := &Call{}
	if err := c.useAnswer([]byte(head + "m=audio 4000 RTP/AVP 8 101\r\na=rtpmap:8 PCMA/8000\r\n")); err != nil {
		t.Fatal(err)
	}
	if c.remote.String() != "127.0.0.2:4000" || c.voice.name != "PCMA" || c.voice.rate != 8000 {
		t.Fatalf("remote %v, codec %+v", c.remote, c.voice)
	}
	// A media-level address wins over the session's.
	if err := c.useAnswer([]byte(head + "m=audio 4002 RTP/AVP 0\r\nc=IN IP4 127.0.0.3\r\n")); err != nil || c.remote.String() != "127.0.0.3:4002" || c.voice.pt != 0 {
		t.Fatalf("media-level c=: %v, %v", c.remote, err)
	}
	if err := c.useAnswer([]byte(head + "m=audio 4004 RTP/AVP 111 0\r\na=rtpmap:111 opus/48000/2\r\n")); err != nil ||
		c.voice.name != "OPUS" || c.voice.rate != 48000 || c.voice.samples != 960 {
		t.Fatalf("Opus: %+v, %v", c.voice, err)
	}
	srtpCall := &Call{cfg: Config{SRTP: true}}
	key := newSDESKeys().line()
	if err := srtpCall.useAnswer([]byte(head + "m=audio 4006 RTP/SAVP 0\r\na=crypto:" + key + "\r\n")); err != nil || srtpCall.rx == nil {
		t.Fatalf("SRTP answer: %v", err)
	}
	for name, body := range map[string]string{
		"not SDP":           "hello",
		"rejected":          head + "m=audio 0 RTP/AVP 0\r\n",
		"not offered":       head + "m=audio 4000 RTP/AVP 9\r\n",
		"SRTP, no crypto":   head + "m=audio 4000 RTP/SAVP 0\r\n",
		"SRTP, other suite": head + "m=audio 4000 RTP/SAVP 0\r\na=crypto:1 AES_256_CM_HMAC_SHA1_80 inline:" + strings.Repeat("A", 60) + "\r\n",
		"SRTP, short key":   head + "m=audio 4000 RTP/SAVP 0\r\na=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:AAAA\r\n",
		"no address":        "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n",
		"no audio line":     head + "m=video 4000 RTP/AVP 96\r\n",
	} {
		if err := (&Call{cfg: Config{SRTP: strings.Contains(name, "SRTP")}}).useAnswer([]byte(body)); err == nil || !strings.HasPrefix(err.Error(), "phone: ") {
			t.Errorf("%s: %v", name, err)
		}
	}
}
