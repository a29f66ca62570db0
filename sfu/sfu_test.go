package sfu

import (
	"strings"
	"testing"
	"time"

	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"

	"github.com/confab-media/confab/signaling/protocol"
)

// attendee is one test participant: its signaling client and its browser.
type attendee struct {
	id   string
	ws   *wsClient
	br   *browser
	freq float64
	ack  *protocol.SdkSubscribeAckFrame
}

func (f *fixture) join(meetingID, user string, freq float64) *attendee {
	f.t.Helper()
	a := f.attendee(meetingID, user)
	at := &attendee{id: a.AttendeeId, ws: f.dial(meetingID, a.JoinToken), br: newBrowser(f.t, freq), freq: freq}
	at.ws.join()
	at.ack = at.ws.subscribe(at.br.offer(), 1)
	checkAnswer(f.t, at.ack)
	at.br.answer(at.ack.GetSdpAnswer())
	return at
}

// checkAnswer checks the SUBSCRIBE_ACK against fact sheet §6.
func checkAnswer(t *testing.T, ack *protocol.SdkSubscribeAckFrame) {
	t.Helper()
	if ack.GetDuplex() != protocol.SdkStreamServiceType_DUPLEX {
		t.Errorf("duplex = %v", ack.GetDuplex())
	}
	if len(ack.GetAllocations()) != 0 || len(ack.GetTracks()) != 0 {
		t.Errorf("allocations %v, tracks %v: want none for audio only", ack.GetAllocations(), ack.GetTracks())
	}
	var sd sdp.SessionDescription
	if err := sd.UnmarshalString(ack.GetSdpAnswer()); err != nil {
		t.Fatalf("answer: %v\n%s", err, ack.GetSdpAnswer())
	}
	if g, _ := sd.Attribute("group"); g != "BUNDLE 0 1" {
		t.Errorf("group = %q, want BUNDLE 0 1", g)
	}
	if _, ok := sd.Attribute("ice-lite"); !ok {
		t.Error("no a=ice-lite")
	}
	if len(sd.MediaDescriptions) != 2 {
		t.Fatalf("%d m-lines, want 2", len(sd.MediaDescriptions))
	}
	attr := func(md *sdp.MediaDescription, key string) string {
		if v, ok := md.Attribute(key); ok {
			return v
		}
		if v, ok := sd.Attribute(key); ok {
			return v
		}
		return "<missing>"
	}
	for i, md := range sd.MediaDescriptions {
		if md.MediaName.Port.Value == 0 {
			t.Errorf("m-line %d has port 0", i)
		}
		for _, k := range []string{"ice-ufrag", "ice-pwd", "fingerprint"} {
			if attr(md, k) == "<missing>" {
				t.Errorf("m-line %d: no a=%s", i, k)
			}
		}
		if s := attr(md, "setup"); s != "passive" {
			t.Errorf("m-line %d: a=setup:%s, want passive", i, s)
		}
	}
	audio, video := sd.MediaDescriptions[0], sd.MediaDescriptions[1]
	if audio.MediaName.Media != "audio" || video.MediaName.Media != "video" {
		t.Fatalf("m-lines %s, %s", audio.MediaName.Media, video.MediaName.Media)
	}
	if _, ok := audio.Attribute("sendrecv"); !ok {
		t.Errorf("audio m-line not sendrecv:\n%s", ack.GetSdpAnswer())
	}
	if m := attr(audio, "msid"); m != audioStreamID+" "+audioTrackID {
		t.Errorf("audio msid = %q", m)
	}
	if !strings.Contains(ack.GetSdpAnswer(), "a=rtpmap:111 opus/48000/2") ||
		!strings.Contains(ack.GetSdpAnswer(), "a=fmtp:111 minptime=10;useinbandfec=1") ||
		!strings.Contains(ack.GetSdpAnswer(), sdp.AudioLevelURI) {
		t.Errorf("audio codec or audio level extension missing:\n%s", ack.GetSdpAnswer())
	}
	if _, ok := video.Attribute("inactive"); !ok {
		t.Errorf("video m-line not inactive:\n%s", ack.GetSdpAnswer())
	}
	cands := 0
	for _, a := range audio.Attributes {
		if a.Key == "candidate" {
			cands++
			if !strings.Contains(a.Value, "127.0.0.1") || !strings.Contains(a.Value, "typ host") {
				t.Errorf("candidate %q: want a 127.0.0.1 host candidate", a.Value)
			}
		}
	}
	if cands == 0 {
		t.Errorf("no inline candidates:\n%s", ack.GetSdpAnswer())
	}
	if _, ok := audio.Attribute("end-of-candidates"); !ok {
		t.Error("no a=end-of-candidates")
	}
}

// checkHearing asserts b receives ≈50 packets/s and hears the others'
// tones ≥ 20 dB over its own.
func checkHearing(t *testing.T, name string, b *browser, own float64, others ...float64) {
	t.Helper()
	// ≈50 packets/s; the lower bound leaves room for a mixer that skipped
	// frames on a starved machine (it catches up at most 100 ms).
	pkts, _ := b.received(2 * time.Second)
	if pkts < 70 || pkts > 115 {
		t.Errorf("%s: %d packets in the last 2 s, want ≈100", name, pkts)
	} else if pkts < 90 {
		t.Logf("%s: %d packets in the last 2 s (a starved machine?)", name, pkts)
	} else {
		t.Logf("%s: %d packets in the last 2 s", name, pkts)
	}
	b.mu.Lock()
	gaps := b.seqGaps
	b.mu.Unlock()
	if gaps != 0 {
		t.Errorf("%s: %d sequence gaps: the stream is not continuous", name, gaps)
	}
	_, pcm := b.received(time.Second)
	if len(pcm) < sampleRate {
		t.Fatalf("%s: only %d samples decoded", name, len(pcm))
	}
	self := db(goertzel(pcm, own))
	for _, f := range others {
		if o := db(goertzel(pcm, f)); o-self < 20 {
			t.Errorf("%s: %v Hz at %.1f dB, own %v Hz at %.1f dB: want ≥ 20 dB apart", name, f, o, own, self)
		} else {
			t.Logf("%s: hears %v Hz at %.1f dB, own %v Hz at %.1f dB", name, f, o, own, self)
		}
	}
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (sv *Server) peerOf(attendeeID string) *Peer {
	sv.mu.Lock()
	defer sv.mu.Unlock()
	for _, p := range sv.peers {
		if p.attendeeID == attendeeID {
			return p
		}
	}
	return nil
}

func (sv *Server) counts() (rooms, peers int) {
	sv.mu.Lock()
	defer sv.mu.Unlock()
	return len(sv.rooms), len(sv.peers)
}

func TestAudioPath(t *testing.T) {
	checkNoLeaks(t)
	f := newFixture(t)
	mid := f.meeting()
	ats := []*attendee{
		f.join(mid, "alice", 400),
		f.join(mid, "bob", 700),
		f.join(mid, "carol", 1100),
	}
	for _, a := range ats {
		a.br.waitConnected()
		a.br.startTone()
	}
	time.Sleep(3 * time.Second)

	for i, a := range ats {
		var others []float64
		for j, o := range ats {
			if j != i {
				others = append(others, o.freq)
			}
		}
		checkHearing(t, a.id, a.br, a.freq, others...)
		a.br.mu.Lock()
		if a.br.streamID != audioStreamID || a.br.trackID != audioTrackID {
			t.Errorf("%s: received track msid %q %q", a.id, a.br.streamID, a.br.trackID)
		}
		a.br.mu.Unlock()
	}

	// AUDIO_METADATA: every attendee listed, talking.
	md := ats[0].ws.all(protocol.SdkSignalFrame_AUDIO_METADATA)
	if len(md) < 5 {
		t.Fatalf("%d AUDIO_METADATA frames in ~3 s, want ≥ 5", len(md))
	}
	last := md[len(md)-1].GetAudioMetadata().GetAttendeeStates()
	if len(last) != 3 {
		t.Errorf("AUDIO_METADATA lists %d attendees, want 3: %v", len(last), last)
	}
	for _, s := range last {
		if s.GetVolume() < volumeLoudest || s.GetVolume() >= volumeSilent || s.GetSignalStrength() == 0 {
			t.Errorf("AUDIO_METADATA state %v: want a talking volume and a signal", s)
		}
	}

	// Re-SUBSCRIBE renegotiates on the same PeerConnection.
	alice := ats[0]
	before := f.sv.peerOf(alice.id)
	ack := alice.ws.subscribe(alice.br.offer(), 1)
	checkAnswer(t, ack)
	alice.br.answer(ack.GetSdpAnswer())
	if after := f.sv.peerOf(alice.id); after != before || after.pc != before.pc {
		t.Error("re-SUBSCRIBE replaced the peer")
	}
	ufrag := func(s string) string {
		i := strings.Index(s, "a=ice-ufrag:")
		return s[i : i+strings.IndexByte(s[i:], '\r')]
	}
	if ufrag(ack.GetSdpAnswer()) != ufrag(alice.ack.GetSdpAnswer()) {
		t.Error("re-SUBSCRIBE answer has new ICE credentials")
	}
	n := alice.br.total()
	time.Sleep(time.Second)
	if got := alice.br.total() - n; got < 25 {
		t.Errorf("after re-SUBSCRIBE: %d packets in 1 s (mixer stats %+v)", got, before.room.mix.Stats())
	}
	checkHearing(t, alice.id+" (renegotiated)", alice.br, alice.freq, 700, 1100)

	// LEAVE removes carol's leg and closes her PeerConnection.
	carol := ats[2]
	cp := f.sv.peerOf(carol.id)
	carol.ws.send(protocol.NewFrame(protocol.SdkSignalFrame_LEAVE, time.Now()))
	carol.ws.nextOf(protocol.SdkSignalFrame_LEAVE_ACK)
	eventually(t, "carol's peer to go", func() bool { return f.sv.peerOf(carol.id) == nil })
	eventually(t, "carol's leg to go and her peer connection to close", func() bool {
		return cp.room.mix.Leg(legID(cp.sessionID)) == nil && cp.pc.ConnectionState() == webrtc.PeerConnectionStateClosed
	})
	if rooms, peers := f.sv.counts(); rooms != 1 || peers != 2 {
		t.Errorf("rooms %d, peers %d; want 1, 2", rooms, peers)
	}
	carol.br.close()
	time.Sleep(time.Second)
	_, pcm := alice.br.received(500 * time.Millisecond)
	if c, b := db(goertzel(pcm, 1100)), db(goertzel(pcm, 700)); b-c < 20 {
		t.Errorf("alice after carol left: 700 Hz %.1f dB, 1100 Hz %.1f dB", b, c)
	}

	// The last LEAVE closes the room.
	for _, a := range ats[:2] {
		a.ws.send(protocol.NewFrame(protocol.SdkSignalFrame_LEAVE, time.Now()))
		a.ws.nextOf(protocol.SdkSignalFrame_LEAVE_ACK)
	}
	eventually(t, "the room to close", func() bool { r, p := f.sv.counts(); return r == 0 && p == 0 })
}

func TestSubscribeBadOffer(t *testing.T) {
	checkNoLeaks(t)
	f := newFixture(t)
	mid := f.meeting()
	a := f.attendee(mid, "dave")
	ws := f.dial(mid, a.JoinToken)
	ws.join()
	fr := protocol.NewFrame(protocol.SdkSignalFrame_SUBSCRIBE, time.Now())
	bad := "v=0\r\nnot sdp\r\n"
	fr.Sub = &protocol.SdkSubscribeFrame{Duplex: protocol.SdkStreamServiceType_DUPLEX.Enum(), SdpOffer: &bad}
	ws.send(fr)
	ack := ws.nextOf(protocol.SdkSignalFrame_SUBSCRIBE_ACK)
	if ack.GetError().GetStatus() != 400 {
		t.Errorf("error %v, want status 400", ack.GetError())
	}
	if r, p := f.sv.counts(); r != 0 || p != 0 {
		t.Errorf("after a bad first offer: rooms %d, peers %d", r, p)
	}
}

func TestServerCloseWithPeers(t *testing.T) {
	checkNoLeaks(t)
	f := newFixture(t)
	mid := f.meeting()
	a := f.join(mid, "erin", 500)
	a.br.waitConnected()
	a.br.startTone()
	eventually(t, "audio", func() bool { return a.br.total() > 10 })
	if err := f.sv.Close(); err != nil {
		t.Fatal(err)
	}
	if r, p := f.sv.counts(); r != 0 || p != 0 {
		t.Errorf("after Close: rooms %d, peers %d", r, p)
	}
	// A later SUBSCRIBE is refused with 503.
	ack := a.ws.subscribe2("v=0\r\n") // refused before the offer is parsed
	if ack.GetError().GetStatus() != 503 {
		t.Errorf("SUBSCRIBE after Close: %v, want 503", ack.GetError())
	}
}

// subscribe2 sends a SUBSCRIBE and returns the raw ack frame, error or not.
func (cl *wsClient) subscribe2(offer string) *protocol.SdkSignalFrame {
	cl.t.Helper()
	fr := protocol.NewFrame(protocol.SdkSignalFrame_SUBSCRIBE, time.Now())
	fr.Sub = &protocol.SdkSubscribeFrame{Duplex: protocol.SdkStreamServiceType_DUPLEX.Enum(), SdpOffer: &offer}
	cl.send(fr)
	return cl.nextOf(protocol.SdkSignalFrame_SUBSCRIBE_ACK)
}
