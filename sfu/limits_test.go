package sfu

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/confab-media/confab/bench/attendee"

	"github.com/confab-media/confab/signaling/protocol"
)

// compactOffer is a valid offer with an audio m-line and videos video
// m-lines (the first the camera, inactive; the rest recvonly VP8), in as
// few bytes as pion accepts: what an attacker sends.
func compactOffer(videos int) string {
	var b strings.Builder
	mids := make([]string, 0, videos+1)
	for i := 0; i <= videos; i++ {
		mids = append(mids, fmt.Sprint(i))
	}
	b.WriteString("v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n")
	b.WriteString("a=group:BUNDLE " + strings.Join(mids, " ") + "\r\n")
	b.WriteString("a=ice-ufrag:abcd\r\na=ice-pwd:abcdefghijklmnopqrstuvwx\r\n")
	b.WriteString("a=fingerprint:sha-256 " + strings.TrimSuffix(strings.Repeat("AB:", 32), ":") + "\r\na=setup:actpass\r\n")
	b.WriteString("m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\na=sendrecv\r\na=rtcp-mux\r\na=rtpmap:111 opus/48000/2\r\n")
	for i := 1; i <= videos; i++ {
		dir := "recvonly"
		if i == 1 {
			dir = "inactive"
		}
		fmt.Fprintf(&b, "m=video 9 UDP/TLS/RTP/SAVPF 96\r\nc=IN IP4 0.0.0.0\r\na=mid:%d\r\na=%s\r\na=rtcp-mux\r\na=rtpmap:96 VP8/90000\r\n", i, dir)
	}
	return b.String()
}

// subscribeRaw sends a SUBSCRIBE with offer and receive_stream_ids ids
// and returns its SUBSCRIBE_ACK.
func subscribeRaw(t *testing.T, sig *attendee.Signaling, offer string, ids []uint32) *protocol.SdkSignalFrame {
	t.Helper()
	fr := protocol.NewFrame(protocol.SdkSignalFrame_SUBSCRIBE, time.Now())
	fr.Sub = &protocol.SdkSubscribeFrame{
		Duplex: protocol.SdkStreamServiceType_DUPLEX.Enum(), SdpOffer: proto.String(offer), ReceiveStreamIds: ids,
	}
	send(t, sig, fr)
	return nextOf(t, sig, protocol.SdkSignalFrame_SUBSCRIBE_ACK)
}

// TestSubscribeLineCap: an offer of 1,000 video m-lines, each asking for
// a live camera, is refused with SUBSCRIBE_ACK 400 before any transceiver,
// track or goroutine exists (it used to get 998 forwarded tracks and as
// many RTCP reader goroutines); so is an offer over MaxOfferBytes. An
// offer the SDK may send (the camera and 25 remote videos) is accepted.
func TestSubscribeLineCap(t *testing.T) {
	checkNoLeaks(t)
	f, _ := newVideoFixture(t, Config{})
	m := f.meeting()
	cam := f.joinVideo(m, "camera", videoCfg(1))
	id := cam.AllocatedStreams()[0]
	// The attacker: raw signaling, JOIN, then its SUBSCRIBEs.
	joinRaw := func(user string) (*attendee.Signaling, string) {
		a := f.attendee(m, user)
		sig := f.dial(m, a.JoinToken)
		if _, err := sig.Join(within(t)); err != nil {
			t.Fatal(err)
		}
		return sig, a.AttendeeId
	}
	atk, atkID := joinRaw("attacker")
	time.Sleep(200 * time.Millisecond) // the camera's and sessions' goroutines settle
	goroutines := runtime.NumGoroutine()

	ids := make([]uint32, 1001)
	for i := 1; i < len(ids); i++ {
		ids[i] = id
	}
	offer := compactOffer(1000)
	if len(offer) > 256<<10 {
		t.Fatalf("offer of %d bytes: the test means the m-line cap, not the size cap", len(offer))
	}
	ack := subscribeRaw(t, atk, offer, ids)
	t.Logf("1,000 m-lines (%d bytes): %v", len(offer), ack.GetError())
	if ack.GetError().GetStatus() != 400 || !strings.Contains(ack.GetError().GetDescription(), "m-lines") {
		t.Fatalf("1,000 m-lines: %v, want a SUBSCRIBE_ACK 400 about m-lines", ack.GetError())
	}
	if p := f.sv.peerOf(atkID); p != nil {
		t.Errorf("a refused first offer left a peer with %d down tracks", len(p.downTracks()))
	}
	if n := runtime.NumGoroutine(); n > goroutines+10 {
		t.Errorf("goroutines %d → %d after a refused offer", goroutines, n)
	}

	big := compactOffer(2) + "a=x:" + strings.Repeat("y", 300<<10) + "\r\n"
	if ack := subscribeRaw(t, atk, big, nil); ack.GetError().GetStatus() != 400 {
		t.Errorf("300 KiB offer: %v, want 400", ack.GetError())
	}

	// 26 video m-lines (the camera and 25 receive lines) pass.
	ids = make([]uint32, 27)
	ids[2] = id
	ok, _ := joinRaw("subscriber")
	ack = subscribeRaw(t, ok, compactOffer(26), ids)
	if ack.GetError() != nil {
		t.Fatalf("26 video m-lines: %v", ack.GetError())
	}
	if len(ack.GetSuback().GetTracks()) != 1 {
		t.Errorf("tracks %v, want one", ack.GetSuback().GetTracks())
	}
}
