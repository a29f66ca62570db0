package attendee

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/confab-media/confab/sfu/rtpfwd"
	"github.com/confab-media/confab/signaling/protocol"
)

func TestVP8Frames(t *testing.T) {
	f := newVP8Frame(320, 180, 2500)
	for _, key := range []bool{true, false, true} {
		n := f.begin(key)
		if n != 3 {
			t.Fatalf("2500 bytes in %d packets, want 3", n)
		}
		total := 0
		for i := range n {
			p := f.packet(i)
			total += len(p) - vp8DescriptorLen
			if len(p) > maxVideoPayload {
				t.Errorf("packet %d: %d bytes", i, len(p))
			}
			got := ParseVP8(p)
			if i > 0 {
				if got.Start || rtpfwd.IsKeyframe("video/VP8", p) {
					t.Errorf("packet %d parses as a frame start: %+v", i, got)
				}
				continue
			}
			want := VP8Frame{Start: true, Key: key}
			if key {
				want.Width, want.Height = 320, 180
			}
			if got != want {
				t.Errorf("first packet (key %v): %+v, want %+v", key, got, want)
			}
			if rtpfwd.IsKeyframe("video/VP8", p) != key {
				t.Errorf("rtpfwd.IsKeyframe = %v, want %v", !key, key)
			}
			if pid := uint16(p[2]&0x7f)<<8 | uint16(p[3]); pid != f.pictureID || p[2]&vp8BitM == 0 {
				t.Errorf("PictureID %#x, want 15-bit %#x", pid, f.pictureID)
			}
		}
		if total != 2500 {
			t.Errorf("frame of %d bytes, want 2500", total)
		}
	}
	if f.pictureID != 3 {
		t.Errorf("PictureID %d after 3 frames", f.pictureID)
	}
}

func TestParseVP8(t *testing.T) {
	key := []byte{0x50, 0x2a, 0x01, 0x9d, 0x01, 0x2a, 0x80, 0x07, 0x38, 0x04} // 1920x1080
	for _, c := range []struct {
		name string
		p    []byte
		want VP8Frame
	}{
		{"empty", nil, VP8Frame{}},
		{"no S", append([]byte{0x00}, key...), VP8Frame{}},
		{"PID 1", append([]byte{0x11}, key...), VP8Frame{}},
		{"short descriptor", []byte{0x90}, VP8Frame{}},
		{"short PictureID", []byte{0x90, 0x80}, VP8Frame{}},
		{"short header", []byte{0x10, 0x50}, VP8Frame{}},
		{"no X", append([]byte{0x10}, key...), VP8Frame{true, true, 1920, 1080}},
		{"7-bit PictureID", append([]byte{0x90, 0x80, 0x05}, key...), VP8Frame{true, true, 1920, 1080}},
		{"L, T, K", append([]byte{0x90, 0xf0, 0x81, 0x00, 0x07, 0x40}, key...), VP8Frame{true, true, 1920, 1080}},
		{"no start code", []byte{0x10, 0x50, 0x2a, 0x01, 0, 0, 0, 0, 0, 0, 0}, VP8Frame{true, true, 0, 0}},
		{"interframe", []byte{0x10, 0x51, 0x2a, 0x01}, VP8Frame{Start: true}},
	} {
		if got := ParseVP8(c.p); got != c.want {
			t.Errorf("%s: %+v, want %+v", c.name, got, c.want)
		}
	}
}

func TestWantsKeyframe(t *testing.T) {
	marshal := func(pkts ...rtcp.Packet) []byte {
		b, err := rtcp.Marshal(pkts)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	rr := &rtcp.ReceiverReport{SSRC: 1, Reports: []rtcp.ReceptionReport{{SSRC: 42}}}
	for _, c := range []struct {
		name string
		b    []byte
		want bool
	}{
		{"PLI", marshal(&rtcp.PictureLossIndication{SenderSSRC: 1, MediaSSRC: 42}), true},
		{"RR then PLI", marshal(rr, &rtcp.PictureLossIndication{MediaSSRC: 42}), true},
		{"PLI for another", marshal(&rtcp.PictureLossIndication{MediaSSRC: 43}), false},
		{"FIR", marshal(&rtcp.FullIntraRequest{FIR: []rtcp.FIREntry{{SSRC: 7}, {SSRC: 42}}}), true},
		{"FIR for another", marshal(&rtcp.FullIntraRequest{FIR: []rtcp.FIREntry{{SSRC: 7}}}), false},
		{"RR", marshal(rr), false},
		{"truncated", marshal(&rtcp.PictureLossIndication{MediaSSRC: 42})[:8], false},
		{"empty", nil, false},
	} {
		if got := wantsKeyframe(c.b, 42); got != c.want {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
}

func TestShapeOffer(t *testing.T) {
	sd := strings.Join([]string{
		"v=0", "a=group:BUNDLE 0 1 2 3",
		"m=audio 9 UDP/TLS/RTP/SAVPF 111", "a=mid:0", "a=sendrecv", "a=ssrc:1 cname:x",
		"m=video 9 UDP/TLS/RTP/SAVPF 96", "a=mid:1", "a=sendrecv", "a=rid:low send", "a=ssrc-group:FID 2 3", "a=ssrc:2 cname:x",
		"m=video 9 UDP/TLS/RTP/SAVPF 96", "a=mid:2", "a=recvonly",
		"m=video 9 UDP/TLS/RTP/SAVPF 96", "a=mid:3", "a=recvonly", "",
	}, "\r\n")
	section := func(sd, mid string) string {
		i := strings.Index(sd, "a=mid:"+mid)
		j := strings.Index(sd[i:], "m=")
		if j < 0 {
			return sd[i:]
		}
		return sd[i : i+j]
	}
	// Camera sending simulcast, one line subscribed: ssrc lines go from
	// the camera only, the unused line turns inactive.
	got := shapeOffer(sd, true, true, 1)
	if s := section(got, "1"); strings.Contains(s, "a=ssrc") || !strings.Contains(s, "a=sendrecv") || !strings.Contains(s, "a=rid:low send") {
		t.Errorf("camera section:\n%s", s)
	}
	if s := section(got, "0"); !strings.Contains(s, "a=ssrc:1") || !strings.Contains(s, "a=sendrecv") {
		t.Errorf("audio section changed:\n%s", s)
	}
	if s := section(got, "2"); !strings.Contains(s, "a=recvonly") {
		t.Errorf("subscribed line:\n%s", s)
	}
	if s := section(got, "3"); !strings.Contains(s, "a=inactive") || strings.Contains(s, "a=recvonly") {
		t.Errorf("unused line:\n%s", s)
	}
	// No camera: its line is inactive; a single stream keeps its ssrc.
	got = shapeOffer(sd, false, false, 2)
	if s := section(got, "1"); !strings.Contains(s, "a=inactive") || !strings.Contains(s, "a=ssrc:2") {
		t.Errorf("camera off:\n%s", s)
	}
	if strings.Count(got, "a=recvonly") != 2 || !strings.HasSuffix(got, "\r\n") {
		t.Errorf("offer:\n%s", got)
	}
}

func TestVideoDescriptors(t *testing.T) {
	cfg := VideoConfig{}
	profs, err := cfg.profiles(3)
	if err != nil {
		t.Fatal(err)
	}
	ds := videoDescriptors(profs, 15, nil)
	if len(ds) != 3 {
		t.Fatalf("%d descriptors", len(ds))
	}
	for i, kbps := range []uint32{150, 600, 1200} {
		d := ds[i]
		if d.GetMaxBitrateKbps() != kbps || d.GetMediaType() != protocol.SdkStreamMediaType_VIDEO ||
			d.GetTrackLabel() != videoTrackLabel || d.GetFramerate() != 15 || d.StreamId != nil {
			t.Errorf("layer %d: %v", i, d)
		}
	}
	allocs := []*protocol.SdkStreamAllocation{{StreamId: ptr(uint32(11)), GroupId: ptr(uint32(9))},
		{StreamId: ptr(uint32(12)), GroupId: ptr(uint32(9))}, {StreamId: ptr(uint32(13)), GroupId: ptr(uint32(9))}}
	for i, d := range videoDescriptors(profs, 15, allocs) {
		if d.GetStreamId() != uint32(11+i) || d.GetGroupId() != 9 {
			t.Errorf("allocated layer %d: %v", i, d)
		}
	}
	one, _ := cfg.profiles(1)
	if d := videoDescriptors(one, 15, nil)[0]; d.GetStreamId() != 2 || d.GetGroupId() != 2 || d.GetMaxBitrateKbps() != 1200 {
		t.Errorf("single stream: %v", d)
	}
	content := VideoConfig{Content: true, Kbps: []uint32{100, 900}}
	if p, err := content.profiles(2); err != nil || p[0].rid != "low" || p[1].rid != "hi" || p[1].kbps != 900 || p[1].width != 1920 {
		t.Errorf("content profiles %+v, %v", p, err)
	}
	for _, c := range []struct {
		cfg    VideoConfig
		layers int
	}{{VideoConfig{}, 2}, {VideoConfig{}, 4}, {VideoConfig{Content: true}, 3}, {VideoConfig{Kbps: []uint32{1}}, 3}} {
		if _, err := c.cfg.profiles(c.layers); err == nil {
			t.Errorf("%+v with %d layers accepted", c.cfg, c.layers)
		}
	}
}

func ptr[T any](v T) *T { return &v }

func TestVideoRx(t *testing.T) {
	var r videoRx
	now := time.Now()
	key := []byte{0x90, 0x80, 0x80, 0x01, 0x50, 0x2a, 0x01, 0x9d, 0x01, 0x2a, 0x40, 0x01, 0xb4, 0x00} // 320x180
	inter := []byte{0x90, 0x80, 0x80, 0x02, 0x51, 0x2a, 0x01}
	pkt := func(ssrc uint32, seq uint16, ts uint32, marker bool, payload []byte) *rtp.Packet {
		return &rtp.Packet{Header: rtp.Header{SSRC: ssrc, SequenceNumber: seq, Timestamp: ts, Marker: marker}, Payload: payload}
	}
	for _, p := range []*rtp.Packet{
		pkt(5, 65534, 4294960000, false, key),
		pkt(5, 65535, 4294960000, true, inter[:5]),
		pkt(5, 0, 100, true, inter),  // wraps
		pkt(5, 3, 3100, true, inter), // 2 lost
		pkt(5, 2, 3000, true, inter), // late: backwards seq and ts
		pkt(5, 3, 3100, true, inter), // repeat
		pkt(6, 4, 6100, false, key),  // another SSRC (should not happen)
	} {
		r.record(p, now)
	}
	st := r.snapshot()
	if st.Packets != 7 || st.Frames != 5 || st.Keyframes != 2 || st.Bytes != uint64(2*len(key)+4*len(inter)+5) {
		t.Errorf("counts %+v", st)
	}
	if !slices.Equal(st.SSRCs, []uint32{5, 6}) {
		t.Errorf("SSRCs %v", st.SSRCs)
	}
	if st.SeqGaps != 1 || st.SeqLost != 2 || st.MaxSeqGap != 3 || st.SeqBackwards != 1 || st.SeqDuplicates != 1 || st.TSBackwards != 1 {
		t.Errorf("sequence %+v", st)
	}
	if st.LastKeyWidth != 320 || st.LastKeyHeight != 180 || len(st.KeyframeLog) != 2 ||
		st.KeyframeLog[0].Packet != 1 || st.KeyframeLog[1].Packet != 7 || st.KeyframeLog[1].SSRC != 6 {
		t.Errorf("keyframes %+v", st.KeyframeLog)
	}
	for range keyframesKept + 5 {
		r.record(pkt(6, 5, 6200, true, key), now)
	}
	if st := r.snapshot(); len(st.KeyframeLog) != keyframesKept || st.KeyframeLog[keyframesKept-1].Packet != st.Packets ||
		st.KeyframeLog[0].Packet != st.Packets-keyframesKept+1 {
		t.Errorf("keyframe log after wrapping: %d entries, last %+v", len(st.KeyframeLog), st.KeyframeLog[len(st.KeyframeLog)-1])
	}
}

func TestRTPFilter(t *testing.T) {
	f := newRTPFilter()
	rtpPkt := func(pt uint8, ssrc uint32) []byte {
		b, err := (&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: pt, SSRC: ssrc}, Payload: []byte{1}}).Marshal()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	rr, err := (&rtcp.ReceiverReport{SSRC: 9}).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	stun := []byte{0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xa4, 0x42, 0, 0, 0, 0, 0, 0, 0, 0}
	dtls := []byte{22, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}
	if !f.admit(stun) || !f.admit(dtls) || !f.admit(rr) || !f.admit([]byte{0x80}) {
		t.Error("non-RTP datagram dropped")
	}
	if f.admit(rtpPkt(96, 42)) || f.admit(rtpPkt(111, 7)) {
		t.Error("RTP admitted before any answer")
	}
	set := declaredSSRCs("v=0\r\nm=audio 9 x 111\r\na=ssrc:7 cname:a\r\nm=video 9 x 96\r\na=ssrc:42 msid:v_2 v_2\r\na=ssrc-group:FID 42 43\r\n")
	if len(set) != 2 {
		t.Fatalf("declared %v", set)
	}
	f.declared.Store(&set)
	if !f.admit(rtpPkt(96, 42)) || !f.admit(rtpPkt(111, 7)) || f.admit(rtpPkt(96, 43)) {
		t.Error("filter after the answer")
	}
	if f.dropped.Load() != 3 {
		t.Errorf("%d dropped, want 3", f.dropped.Load())
	}
}

// TestVideoLoopsDoNotAllocate: sending a frame (to an unbound track),
// recording a received packet, filtering a datagram and checking RTCP for
// a keyframe request allocate nothing.
func TestVideoLoopsDoNotAllocate(t *testing.T) {
	track, err := webrtc.NewTrackLocalStaticRTP(vp8Codec, cameraTrackID, cameraStreamID, webrtc.WithRTPStreamID("hi"))
	if err != nil {
		t.Fatal(err)
	}
	l := &sendLayer{prof: layerProfile{"hi", 1280, 720, 1200}, track: track, frame: newVP8Frame(1280, 720, 10000)}
	_ = l.pkt.SetExtension(1, []byte("1"))
	_ = l.pkt.SetExtension(2, []byte("hi"))
	now := time.Now()
	if n := testing.AllocsPerRun(100, func() { l.sendFrame(false, 3000, now) }); n != 0 && !raceEnabled {
		t.Errorf("sendFrame: %v allocations", n)
	}
	var r videoRx
	p := &rtp.Packet{Header: rtp.Header{SSRC: 1, Marker: true}, Payload: l.frame.packet(0)}
	if n := testing.AllocsPerRun(100, func() { p.SequenceNumber++; r.record(p, now) }); n != 0 {
		t.Errorf("record: %v allocations", n)
	}
	f := newRTPFilter()
	b, _ := p.Marshal()
	if n := testing.AllocsPerRun(100, func() { f.admit(b) }); n != 0 {
		t.Errorf("admit: %v allocations", n)
	}
	pli, _ := (&rtcp.PictureLossIndication{MediaSSRC: 5}).Marshal()
	if n := testing.AllocsPerRun(100, func() { wantsKeyframe(pli, 5) }); n != 0 {
		t.Errorf("wantsKeyframe: %v allocations", n)
	}
}

// TestVideoFreezes: a gap of more than FreezeGap between two frames counts
// as a freeze; a keyframe of another size as a layer switch.
func TestVideoFreezes(t *testing.T) {
	var rx videoRx
	t0 := time.Unix(100, 0)
	at := t0
	frame := func(seq uint16, gap time.Duration) {
		at = at.Add(gap)
		rx.record(&rtp.Packet{Header: rtp.Header{SequenceNumber: seq, Timestamp: uint32(seq) * 6000, Marker: true, SSRC: 1},
			Payload: []byte{0x10, 0x01}}, at) // a VP8 interframe, start of partition
	}
	frame(1, 0)
	frame(2, 66*time.Millisecond)
	frame(3, 700*time.Millisecond) // frozen
	frame(4, 66*time.Millisecond)
	frame(5, 1200*time.Millisecond) // frozen
	st := rx.snapshot()
	if st.Frames != 5 || st.Freezes != 2 || st.FrozenFor != 1900*time.Millisecond || st.MaxFrameGap != 1200*time.Millisecond {
		t.Fatalf("frames %d, freezes %d for %v, longest gap %v", st.Frames, st.Freezes, st.FrozenFor, st.MaxFrameGap)
	}
	// At the end of a run: a stream frozen since its last frame counts one
	// more freeze; one that had a frame within FreezeGap does not.
	if end := st.Until(at.Add(2 * time.Second)); end.Freezes != 3 || end.FrozenFor != 3900*time.Millisecond || end.MaxFrameGap != 2*time.Second {
		t.Errorf("frozen at the end: freezes %d for %v, longest gap %v", end.Freezes, end.FrozenFor, end.MaxFrameGap)
	}
	if end := st.Until(at.Add(400 * time.Millisecond)); end.Freezes != 2 || end.FrozenFor != st.FrozenFor {
		t.Errorf("flowing at the end: freezes %d for %v", end.Freezes, end.FrozenFor)
	}
}
