package phone

import (
	"strings"
	"testing"
)

// TestUseAnswer: the gateway's media address and chosen G.711 codec are
// taken from its answer; answers the caller cannot use are refused.
func TestUseAnswer(t *testing.T) {
	const head = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.2\r\nt=0 0\r\n"
	c := &Call{}
	if err := c.useAnswer([]byte(head + "m=audio 4000 RTP/AVP 8 101\r\na=rtpmap:8 PCMA/8000\r\n")); err != nil {
		t.Fatal(err)
	}
	if c.remote.String() != "127.0.0.2:4000" || c.pt != 8 || !c.alaw {
		t.Fatalf("remote %v, pt %d, alaw %v", c.remote, c.pt, c.alaw)
	}
	// A media-level address wins over the session's.
	if err := c.useAnswer([]byte(head + "m=audio 4002 RTP/AVP 0\r\nc=IN IP4 127.0.0.3\r\n")); err != nil || c.remote.String() != "127.0.0.3:4002" || c.pt != 0 {
		t.Fatalf("media-level c=: %v, %v", c.remote, err)
	}
	for name, body := range map[string]string{
		"not SDP":       "hello",
		"rejected":      head + "m=audio 0 RTP/AVP 0\r\n",
		"Opus":          head + "m=audio 4000 RTP/AVP 111\r\n",
		"no address":    "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n",
		"no audio line": head + "m=video 4000 RTP/AVP 96\r\n",
	} {
		if err := (&Call{}).useAnswer([]byte(body)); err == nil || !strings.HasPrefix(err.Error(), "phone: ") {
			t.Errorf("%s: %v", name, err)
		}
	}
}
