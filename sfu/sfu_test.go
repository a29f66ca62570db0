package sfu

import (
	"strings"
	"testing"
	"time"

	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"

	"github.com/confab-media/confab/bench/attendee"
	"github.com/confab-media/confab/signaling/protocol"
)

// checkAnswer checks the SUBSCRIBE_ACK against fact sheet §6.
func checkAnswer(t testing.TB, ack *protocol.SdkSubscribeAckFrame) {
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

// checkHearing asserts a receives ≈50 packets/s and hears the others'
// tones ≥ 20 dB over its own.
func checkHearing(t *testing.T, name string, a *attendee.Attendee, own float64, others ...float64) {
	t.Helper()
	// ≈50 packets/s; the lower bound leaves room for a mixer that skipped
	// frames on a starved machine (it catches up at most 100 ms).
	pkts := a.RecentPackets(2 * time.Second)
	if pkts < 70 || pkts > 115 {
		t.Errorf("%s: %d packets in the last 2 s, want ≈100", name, pkts)
	} else if pkts < 90 {
		t.Logf("%s: %d packets in the last 2 s (a starved machine?)", name, pkts)
	} else {
		t.Logf("%s: %d packets in the last 2 s", name, pkts)
	}
	if st := a.Stats(); st.SeqGaps != 0 || st.DecodeErrors != 0 {
		t.Errorf("%s: %d sequence gaps, %d undecodable packets: the stream is not continuous", name, st.SeqGaps, st.DecodeErrors)
	}
	pcm := a.Audio(nil, time.Second)
	if len(pcm) < attendee.SampleRate {
		t.Fatalf("%s: only %d samples decoded", name, len(pcm))
	}
	self := attendee.DB(attendee.Goertzel(pcm, own))
	for _, f := range others {
		if o := attendee.DB(attendee.Goertzel(pcm, f)); o-self < 20 {
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
	// Each is connected and sending its tone once joined.
	ats := []*participant{
		f.join(mid, "alice", 400),
		f.join(mid, "bob", 700),
		f.join(mid, "carol", 1100),
	}
	time.Sleep(3 * time.Second)

	for i, a := range ats {
		var others []float64
		for j, o := range ats {
			if j != i {
				others = append(others, o.freq)
			}
		}
		checkHearing(t, a.id, a.Attendee, a.freq, others...)
		if st := a.Stats(); st.StreamID != audioStreamID || st.TrackID != audioTrackID {
			t.Errorf("%s: received track msid %q %q", a.id, st.StreamID, st.TrackID)
		}
	}

	// AUDIO_METADATA: every attendee listed, talking.
	if n := ats[0].Signaling().Count(protocol.SdkSignalFrame_AUDIO_METADATA); n < 5 {
		t.Fatalf("%d AUDIO_METADATA frames in ~3 s, want ≥ 5", n)
	}
	last := ats[0].Volumes()
	if len(last) != 3 {
		t.Errorf("AUDIO_METADATA lists %d attendees, want 3: %+v", len(last), last)
	}
	for _, s := range last {
		if s.Volume < 14 || s.Volume >= 42 || s.SignalStrength == 0 { // the SDK scale: 14 loudest, 42 silent
			t.Errorf("AUDIO_METADATA state %+v: want a talking volume and a signal", s)
		}
	}

	// Re-SUBSCRIBE renegotiates on the same PeerConnection.
	alice := ats[0]
	before := f.sv.peerOf(alice.id)
	ack, err := alice.Resubscribe(within(t))
	if err != nil {
		t.Fatal(err)
	}
	checkAnswer(t, ack)
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
	n := alice.Stats().Packets
	time.Sleep(time.Second)
	if got := alice.Stats().Packets - n; got < 25 {
		t.Errorf("after re-SUBSCRIBE: %d packets in 1 s", got)
	}
	checkHearing(t, alice.id+" (renegotiated)", alice.Attendee, alice.freq, 700, 1100)

	// LEAVE removes carol's leg and closes her PeerConnection; her client
	// keeps its own open (and sending) meanwhile.
	carol := ats[2]
	cp := f.sv.peerOf(carol.id)
	send(t, carol.Signaling(), protocol.NewFrame(protocol.SdkSignalFrame_LEAVE, time.Now()))
	nextOf(t, carol.Signaling(), protocol.SdkSignalFrame_LEAVE_ACK)
	eventually(t, "carol's peer to go", func() bool { return f.sv.peerOf(carol.id) == nil })
	eventually(t, "carol's leg to go and her peer connection to close", func() bool {
		return cp.leg.Removed() && cp.pc.ConnectionState() == webrtc.PeerConnectionStateClosed
	})
	if rooms, peers := f.sv.counts(); rooms != 1 || peers != 2 {
		t.Errorf("rooms %d, peers %d; want 1, 2", rooms, peers)
	}
	if err := carol.Close(); err != nil {
		t.Error(err)
	}
	time.Sleep(time.Second)
	pcm := alice.Audio(nil, 500*time.Millisecond)
	if c, b := attendee.DB(attendee.Goertzel(pcm, 1100)), attendee.DB(attendee.Goertzel(pcm, 700)); b-c < 20 {
		t.Errorf("alice after carol left: 700 Hz %.1f dB, 1100 Hz %.1f dB", b, c)
	}

	// The last LEAVE closes the room.
	for _, a := range ats[:2] {
		if err := a.Leave(within(t)); err != nil {
			t.Fatalf("%s: %v", a.id, err)
		}
	}
	eventually(t, "the room to close", func() bool { r, p := f.sv.counts(); return r == 0 && p == 0 })
}

func TestSubscribeBadOffer(t *testing.T) {
	checkNoLeaks(t)
	f := newFixture(t)
	mid := f.meeting()
	a := f.attendee(mid, "dave")
	ws := f.dial(mid, a.JoinToken)
	if _, err := ws.Join(within(t)); err != nil {
		t.Fatal(err)
	}
	fr := protocol.NewFrame(protocol.SdkSignalFrame_SUBSCRIBE, time.Now())
	bad := "v=0\r\nnot sdp\r\n"
	fr.Sub = &protocol.SdkSubscribeFrame{Duplex: protocol.SdkStreamServiceType_DUPLEX.Enum(), SdpOffer: &bad}
	send(t, ws, fr)
	ack := nextOf(t, ws, protocol.SdkSignalFrame_SUBSCRIBE_ACK)
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
	eventually(t, "audio", func() bool { return a.Stats().Packets > 10 })
	if err := f.sv.Close(); err != nil {
		t.Fatal(err)
	}
	if r, p := f.sv.counts(); r != 0 || p != 0 {
		t.Errorf("after Close: rooms %d, peers %d", r, p)
	}
	// A later SUBSCRIBE is refused with 503.
	fr := protocol.NewFrame(protocol.SdkSignalFrame_SUBSCRIBE, time.Now())
	offer := "v=0\r\n" // refused before the offer is parsed
	fr.Sub = &protocol.SdkSubscribeFrame{Duplex: protocol.SdkStreamServiceType_DUPLEX.Enum(), SdpOffer: &offer}
	send(t, a.Signaling(), fr)
	ack := nextOf(t, a.Signaling(), protocol.SdkSignalFrame_SUBSCRIBE_ACK)
	if ack.GetError().GetStatus() != 503 {
		t.Errorf("SUBSCRIBE after Close: %v, want 503", ack.GetError())
	}
}

// TestSyntheticAttendee runs the bench attendee's signaling state against
// the real stack: presence and mute from AUDIO_STREAM_ID_INFO, data
// messages, LEAVE.
func TestSyntheticAttendee(t *testing.T) {
	checkNoLeaks(t)
	f := newFixture(t)
	mid := f.meeting()
	alice := f.join(mid, "alice", 400)
	ba := f.attendee(mid, "bob")
	bob, err := attendee.Dial(within(t), attendee.Config{
		SignalingURL: f.signalingURL(mid), JoinToken: ba.JoinToken, Name: "bob", Muted: true, Loopback: true, Log: testLog(),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = bob.Close() })
	presence := func(a *attendee.Attendee) map[string]bool {
		m := map[string]bool{}
		for _, p := range a.Presence() {
			m[p.AttendeeID] = p.Muted
		}
		return m
	}
	eventually(t, "alice to see bob, muted", func() bool {
		m := presence(alice.Attendee)
		return len(m) == 2 && !m[alice.id] && m[ba.AttendeeId]
	})
	if m := presence(bob); len(m) != 2 || m[alice.id] || !m[ba.AttendeeId] {
		t.Errorf("bob sees %v", m)
	}
	if err := bob.SetMuted(within(t), false); err != nil {
		t.Fatal(err)
	}
	eventually(t, "alice to see bob unmuted", func() bool {
		m := presence(alice.Attendee)
		muted, ok := m[ba.AttendeeId]
		return ok && !muted
	})

	if err := alice.SendData(within(t), "chat", []byte("hi"), time.Minute); err != nil {
		t.Fatal(err)
	}
	eventually(t, "bob to get alice's message", func() bool { return len(bob.DataMessages()) == 1 })
	if m := bob.DataMessages()[0]; m.Topic != "chat" || string(m.Data) != "hi" || m.SenderAttendeeID != alice.id ||
		m.SenderExternalUserID != "alice" || m.IngestTimeNs == 0 || m.Lifetime != time.Minute {
		t.Errorf("bob got %+v", m)
	}
	if len(alice.DataMessages()) != 0 || alice.DataErrors() != 0 {
		t.Errorf("alice got %+v, %d errors", alice.DataMessages(), alice.DataErrors())
	}
	if err := alice.SendData(within(t), "bad topic!", nil, 0); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the bad topic refused", func() bool { return alice.DataErrors() == 1 })

	// Bob, silent then unmuted with no tone, still sends 50 packets/s;
	// alice's tone reaches him.
	eventually(t, "bob to hear alice", func() bool { return bob.Stats().Packets > 50 })
	if st := bob.Stats(); st.Sent == 0 || st.SeqGaps != 0 {
		t.Errorf("bob stats %+v", st)
	}
	if p, n := bob.Power(500*time.Millisecond, 400); n < attendee.SampleRate/2 || attendee.DB(p[0]) < 60 {
		t.Errorf("bob hears 400 Hz at %.1f dB over %d samples", attendee.DB(p[0]), n)
	}

	if err := bob.Leave(within(t)); err != nil {
		t.Fatal(err)
	}
	eventually(t, "alice to see bob go", func() bool { return len(alice.Presence()) == 1 })
	if err := bob.Err(); err != nil {
		t.Error(err)
	}
}
