package attendee

import (
	"bytes"
	"encoding/hex"
	"strings"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/confab-media/confab/sfu/rtpfwd"
)

// depacketizeH264 reassembles the NAL units of one frame's RTP payloads
// as a receiver does (RFC 6184: single NAL unit packets, STAP-A, FU-A).
func depacketizeH264(t *testing.T, packets [][]byte) [][]byte {
	t.Helper()
	var nals [][]byte
	var fu []byte
	for i, p := range packets {
		switch p[0] & 0x1f {
		case 24:
			for u := p[1:]; len(u) > 0; {
				if len(u) < 2 {
					t.Fatalf("packet %d: STAP-A ends in a partial size", i)
				}
				n := int(u[0])<<8 | int(u[1])
				if n == 0 || 2+n > len(u) {
					t.Fatalf("packet %d: STAP-A unit of %d bytes in %d", i, n, len(u)-2)
				}
				nals = append(nals, u[2:2+n])
				u = u[2+n:]
			}
		case 28:
			start, end := p[1]&0x80 != 0, p[1]&0x40 != 0
			if start == (fu != nil) {
				t.Fatalf("packet %d: FU-A start bit %v with a fragment pending %v", i, start, fu != nil)
			}
			if start {
				fu = []byte{p[0]&0xe0 | p[1]&0x1f}
			}
			fu = append(fu, p[2:]...)
			if end {
				nals = append(nals, fu)
				fu = nil
			}
		default:
			if typ := p[0] & 0x1f; typ < 1 || typ > 23 {
				t.Fatalf("packet %d: type %d", i, typ)
			}
			nals = append(nals, p)
		}
	}
	if fu != nil {
		t.Fatal("frame ends inside an FU-A")
	}
	return nals
}

// framePackets begins a frame and copies its payloads.
func framePackets(f *h264Frame, key bool) [][]byte {
	n := f.begin(key)
	out := make([][]byte, n)
	for i := range n {
		out[i] = bytes.Clone(f.packet(i))
	}
	return out
}

// startCodeLike reports the offset of the first 00 00 0x (x ≤ 3) in b,
// which emulation prevention keeps out of a NAL unit, or -1.
func startCodeLike(b []byte) int {
	for i := 0; i+2 < len(b); i++ {
		if b[i] == 0 && b[i+1] == 0 && b[i+2] <= 3 {
			return i
		}
	}
	return -1
}

// TestH264SPS: the SPS of each layer size is the expected RBSP (derived
// by hand from ITU-T H.264 §7.3.2.1.1 for two of them) and a keyframe's
// packets parse back to the size: ParseH264 on the STAP-A, parseSPS on the
// reassembled SPS; the SFU's keyframe test agrees on every packet.
func TestH264SPS(t *testing.T) {
	want := map[[2]int]string{
		{320, 180}:  "6742e01fda05067e74",
		{1280, 720}: "6742e01fda014016e4",
	}
	for _, sz := range [][2]int{{1280, 720}, {640, 360}, {320, 180}, {1920, 1080}, {960, 540}, {200, 400}} {
		f := newH264Frame(sz[0], sz[1], 3000)
		if hx, ok := want[sz]; ok && hex.EncodeToString(f.sps) != hx {
			t.Errorf("%v: SPS %x, want %s", sz, f.sps, hx)
		}
		level := byte(31)
		if sz[0]*sz[1] > 1280*720 {
			level = 40
		}
		if len(f.sps) < 4 || f.sps[1] != 66 || f.sps[2] != 0xe0 || f.sps[3] != level {
			t.Errorf("%v: SPS %x is not constrained baseline level %d", sz, f.sps, level)
		}
		if hex.EncodeToString(f.pps) != "68ce3880" {
			t.Errorf("PPS %x", f.pps)
		}
		pkts := framePackets(f, true)
		got := ParseH264(pkts[0])
		if !got.Key || got.Width != sz[0] || got.Height != sz[1] {
			t.Errorf("%v: first packet parses as %+v", sz, got)
		}
		nals := depacketizeH264(t, pkts)
		if len(nals) != 3 || nals[0][0]&0x1f != 7 || nals[1][0]&0x1f != 8 || nals[2][0]&0x1f != 5 {
			t.Fatalf("%v: keyframe NAL units %d, types %x", sz, len(nals), nals[0][0])
		}
		if w, h, ok := parseSPS(nals[0][1:]); !ok || w != sz[0] || h != sz[1] {
			t.Errorf("%v: reassembled SPS gives %dx%d (%v)", sz, w, h, ok)
		}
		for i, p := range pkts {
			if rtpfwd.IsKeyframe(rtpfwd.MimeTypeH264, p) != ParseH264(p).Key {
				t.Errorf("%v: packet %d: the SFU and ParseH264 disagree", sz, i)
			}
		}
		if !rtpfwd.IsKeyframe(rtpfwd.MimeTypeH264, pkts[0]) || !rtpfwd.IsKeyframe(rtpfwd.MimeTypeH264, pkts[1]) {
			t.Errorf("%v: the SFU does not see a keyframe", sz)
		}
		for i, p := range framePackets(f, false) {
			if ParseH264(p).Key || rtpfwd.IsKeyframe(rtpfwd.MimeTypeH264, p) {
				t.Errorf("%v: interframe packet %d parses as a keyframe", sz, i)
			}
		}
	}
}

// TestParseSPSFromEncoders: SPSs of ffmpeg's encoder (High 4:2:2 profile,
// emulation prevention bytes, cropping), the test vectors of WebRTC's SPS
// parser, give their sizes; so does a synthetic High-profile SPS with
// scaling lists, pic_order_cnt_type 1 and fields.
func TestParseSPSFromEncoders(t *testing.T) {
	for _, c := range []struct {
		hex  string
		w, h int
	}{
		{"7a 00 1f bc d9 40 50 05 ba 10 00 00 03 00 c0 00 00 2a e0 f1 83 19 60", 1280, 720},
		{"7a 00 1e bc d9 40 a0 2f f8 98 40 00 00 03 01 80 00 00 56 83 c5 8b 65 80", 640, 360},
		{"7a 00 0d bc d9 43 43 3e 5e 10 00 00 03 00 60 00 00 15 a0 f1 42 99 60", 200, 400},
	} {
		b, err := hex.DecodeString(stripSpaces(c.hex))
		if err != nil {
			t.Fatal(err)
		}
		if w, h, ok := parseSPS(b); !ok || w != c.w || h != c.h {
			t.Errorf("%s: %dx%d (%v), want %dx%d", c.hex, w, h, ok, c.w, c.h)
		}
	}

	var w rbspWriter
	w.u(8, 100) // High
	w.u(8, 0)
	w.u(8, 40)
	w.ue(3) // seq_parameter_set_id
	w.ue(1) // chroma_format_idc 4:2:0
	w.ue(0) // bit_depth_luma_minus8
	w.ue(0) // bit_depth_chroma_minus8
	w.u(1, 0)
	w.u(1, 1) // seq_scaling_matrix_present_flag
	for i := range 8 {
		if i == 0 || i == 6 {
			w.u(1, 1) // a 4x4 and an 8x8 list: deltas up, then down to 0 (use default)
			w.se(5)
			w.se(-13)
		} else {
			w.u(1, 0)
		}
	}
	w.ue(2)   // log2_max_frame_num_minus4
	w.ue(1)   // pic_order_cnt_type 1
	w.u(1, 0) // delta_pic_order_always_zero_flag
	w.se(-2)  // offset_for_non_ref_pic
	w.se(1)   // offset_for_top_to_bottom_field
	w.ue(2)   // num_ref_frames_in_pic_order_cnt_cycle
	w.se(3)   //
	w.se(-3)  //
	w.ue(4)   // max_num_ref_frames
	w.u(1, 0) // gaps
	w.ue(119) // 1920 wide
	w.ue(33)  // 34 map units of field pairs: 1088 lines
	w.u(1, 0) // frame_mbs_only_flag: fields
	w.u(1, 1) // mb_adaptive_frame_field_flag
	w.u(1, 1) // direct_8x8_inference_flag
	w.u(1, 1) // frame_cropping_flag
	w.ue(0)   //
	w.ue(0)   //
	w.ue(0)   //
	w.ue(2)   // 2 × CropUnitY (4 with fields): 8 lines
	w.trailing()
	if width, height, ok := parseSPS(w.bytes()); !ok || width != 1920 || height != 1080 {
		t.Errorf("synthetic High SPS: %dx%d (%v)", width, height, ok)
	}
}

func stripSpaces(s string) string { return strings.ReplaceAll(s, " ", "") }

// TestParseSPSEmulationPrevention: an SPS whose RBSP holds a run of
// zero bytes (16384x16384 cropped by 1023, 4095, 4095 and 1023 pairs of
// pixels: long exp-Golomb codes) gets emulation prevention bytes, which
// parseSPS drops; the builder's SPS for a too-large frame is refused.
func TestParseSPSEmulationPrevention(t *testing.T) {
	var w rbspWriter
	w.u(8, 66)
	w.u(8, 0xe0)
	w.u(8, 51)
	for _, v := range []uint32{0, 0, 2, 1} { // sps id, log2_max_frame_num_minus4, POC type 2, refs
		w.ue(v)
	}
	w.u(1, 0)
	w.ue(1023) // 16384 wide
	w.ue(1023) // 16384 high
	w.u(3, 0b111)
	for _, v := range []uint32{1023, 4095, 4095, 1023} {
		w.ue(v)
	}
	w.u(1, 0)
	w.trailing()
	rbsp := w.bytes()
	nal := make([]byte, len(rbsp)*2)
	nal = nal[:escapeRBSP(nal, rbsp)]
	if !bytes.Contains(nal, []byte{0, 0, 3}) || bytes.Contains(nal, []byte{0, 0, 0}) || bytes.Contains(nal, []byte{0, 0, 1}) {
		t.Fatalf("RBSP %x escaped as %x", rbsp, nal)
	}
	if w, h, ok := parseSPS(nal); !ok || w != 6148 || h != 6148 {
		t.Errorf("escaped SPS %x: %dx%d (%v), want 6148x6148", nal, w, h, ok)
	}
	if w, h, ok := parseSPS(h264SPSNAL(16400, 16)[1:]); ok {
		t.Errorf("a frame 1025 macroblocks wide parses as %dx%d", w, h)
	}
}

// TestH264Packetization: a keyframe is an STAP-A of SPS and PPS then the
// IDR slice in FU-A fragments of at most 1200 bytes, start bit on the
// first, end bit on the last, that reassemble to the slice; a small
// interframe is one single NAL unit packet; every NAL unit and packet is
// free of start codes and unescaped 00 00 0x sequences over frame_num's
// wrap; frame sizes follow the layer's bitrate.
func TestH264Packetization(t *testing.T) {
	f := newH264Frame(1280, 720, 10000)
	pkts := framePackets(f, true)
	if n := 1 + (10000-1+1197)/1198; len(pkts) != n {
		t.Fatalf("keyframe in %d packets, want %d", len(pkts), n)
	}
	if pkts[0][0] != 0x78 {
		t.Errorf("first packet header %#x, want an STAP-A with NRI 3", pkts[0][0])
	}
	fus := pkts[1:]
	total := 0
	for i, p := range fus {
		if len(p) > maxVideoPayload {
			t.Errorf("fragment %d: %d bytes", i, len(p))
		}
		if p[0] != 0x60|28 || p[1]&0x1f != 5 || p[1]&0x20 != 0 {
			t.Errorf("fragment %d: FU indicator %#x, header %#x", i, p[0], p[1])
		}
		if start, end := p[1]&0x80 != 0, p[1]&0x40 != 0; start != (i == 0) || end != (i == len(fus)-1) {
			t.Errorf("fragment %d of %d: start %v, end %v", i, len(fus), start, end)
		}
		total += len(p) - 2
	}
	nals := depacketizeH264(t, pkts)
	if !bytes.Equal(nals[2], f.slice) || total != len(f.slice)-1 || len(f.slice) != 10000 {
		t.Errorf("reassembled IDR slice of %d bytes, built %d, fragments carry %d", len(nals[2]), len(f.slice), total)
	}

	small := newH264Frame(320, 180, 800)
	if p := framePackets(small, false); len(p) != 1 || p[0][0] != 0x41 || len(p[0]) != 800 {
		t.Errorf("small interframe: %d packets, header %#x", len(p), p[0][0])
	}
	if p := framePackets(small, true); len(p) != 2 || p[1][0] != 0x65 || len(p[1]) != 800 {
		t.Errorf("small keyframe: %d packets", len(p))
	}

	for _, sz := range []int{1, 30, 1200, 1201, 1250, 5000, 10000, 20000} {
		f := newH264Frame(640, 360, sz)
		for i := range 40 {
			key := i%17 == 0
			pkts := framePackets(f, key)
			for j, p := range pkts {
				if k := startCodeLike(p); k >= 0 {
					t.Fatalf("size %d, frame %d, packet %d: 00 00 %02x at %d", sz, i, j, p[k+2], k)
				}
			}
			for j, nal := range depacketizeH264(t, pkts) {
				if k := startCodeLike(nal); k >= 0 || nal[len(nal)-1] == 0 {
					t.Fatalf("size %d, frame %d, NAL unit %d (%x…): 00 00 0x at %d or trailing zero", sz, i, j, nal[:min(len(nal), 8)], k)
				}
			}
			if got := ParseH264(pkts[0]).Key; got != key {
				t.Fatalf("size %d, frame %d: key %v, want %v", sz, i, got, key)
			}
		}
	}
}

// TestH264SliceHeaders: the slice headers read back (§7.3.3) with the
// stream's parameters: an I slice with alternating idr_pic_id and
// frame_num 0, then P slices counting frame_num modulo 16.
func TestH264SliceHeaders(t *testing.T) {
	f := newH264Frame(320, 180, 2000)
	var lastIDR uint32 = 99
	for i := range 40 {
		key := i%20 == 0
		f.begin(key)
		r := bitReader{b: f.slice[1:]}
		first, typ, pps, frameNum := r.ue(), r.ue(), r.ue(), r.u(4)
		if first != 0 || pps != 0 || r.err {
			t.Fatalf("frame %d: first_mb %d, pps %d", i, first, pps)
		}
		if key {
			idr := r.ue()
			if typ != 7 || frameNum != 0 || idr == lastIDR || f.slice[0] != 0x65 {
				t.Errorf("keyframe %d: slice_type %d, frame_num %d, idr_pic_id %d after %d", i, typ, frameNum, idr, lastIDR)
			}
			lastIDR = idr
		} else if want := uint32(i%20) % 16; typ != 5 || frameNum != want || f.slice[0] != 0x41 {
			t.Errorf("interframe %d: slice_type %d, frame_num %d, want 5, %d", i, typ, frameNum, want)
		}
	}
}

// TestParseH264 covers each packet type and malformed payloads.
func TestParseH264(t *testing.T) {
	sps := h264SPSNAL(640, 360)
	stap := append([]byte{0x78, 0, byte(len(sps))}, sps...)
	for _, c := range []struct {
		name string
		p    []byte
		want H264Packet
	}{
		{"empty", nil, H264Packet{}},
		{"IDR", []byte{0x65, 0x88}, H264Packet{Key: true}},
		{"non-IDR", []byte{0x41, 0x9a}, H264Packet{}},
		{"SPS", sps, H264Packet{Key: true, Width: 640, Height: 360}},
		{"truncated SPS", sps[:5], H264Packet{Key: true}},
		{"STAP-A", stap, H264Packet{Key: true, Width: 640, Height: 360}},
		{"STAP-A, PPS then IDR", []byte{0x78, 0, 2, 0x68, 0xce, 0, 2, 0x65, 0x88}, H264Packet{Key: true}},
		{"STAP-A unit too long", []byte{0x78, 0, 9, 0x65, 0x88}, H264Packet{}},
		{"STAP-A unit of 0", []byte{0x78, 0, 0, 0, 2, 0x65, 0x88}, H264Packet{}},
		{"STAP-A, partial size", []byte{0x78, 0}, H264Packet{}},
		{"FU-A IDR start", []byte{0x7c, 0x85, 0x88}, H264Packet{Key: true}},
		{"FU-A IDR middle", []byte{0x7c, 0x05, 0x88}, H264Packet{}},
		{"FU-A non-IDR start", []byte{0x5c, 0x81, 0x9a}, H264Packet{}},
		{"FU-A short", []byte{0x7c}, H264Packet{}},
		{"FU-B", []byte{0x7d, 0x85, 0, 1, 0x88}, H264Packet{}},
		{"STAP-B", []byte{0x79, 0, 1, 0, 2, 0x65, 0x88}, H264Packet{}},
		{"type 0", []byte{0x00, 0x88}, H264Packet{}},
	} {
		if got := ParseH264(c.p); got != c.want {
			t.Errorf("%s: %+v, want %+v", c.name, got, c.want)
		}
		if got := ParseH264(c.p).Key; got != rtpfwd.IsKeyframe(rtpfwd.MimeTypeH264, c.p) {
			t.Errorf("%s: Key %v, the SFU's keyframe test disagrees", c.name, got)
		}
	}
}

// FuzzParseH264: ParseH264 never panics, agrees with the SFU's keyframe
// test and reports sizes only with a keyframe, within the SPS's bounds.
func FuzzParseH264(f *testing.F) {
	fr := newH264Frame(320, 180, 1500)
	f.Add(bytes.Clone(fr.stap))
	fr.begin(true)
	f.Add(bytes.Clone(fr.packet(1)))
	f.Add(h264SPSNAL(16384, 16))
	f.Fuzz(func(t *testing.T, p []byte) {
		got := ParseH264(p)
		if got.Key != rtpfwd.IsKeyframe(rtpfwd.MimeTypeH264, p) {
			t.Fatalf("%x: Key %v, the SFU's keyframe test disagrees", p, got.Key)
		}
		if (got.Width > 0) != (got.Height > 0) || (got.Width > 0 && !got.Key) || got.Width < 0 || got.Height < 0 ||
			got.Width > spsMaxMbs*16 || got.Height > 2*spsMaxMbs*16 {
			t.Fatalf("%x: %+v", p, got)
		}
	})
}

// TestVideoRxH264: an H.264 track counts one keyframe per frame (the
// STAP-A and the IDR fragment share a timestamp) with the SPS's size; a
// keyframe whose STAP-A was lost keeps the last SPS's size; a layer
// switch to another size counts.
func TestVideoRxH264(t *testing.T) {
	var r videoRx
	r.setCodec(webrtc.MimeTypeH264)
	now := time.Now()
	seq := uint16(0)
	send := func(f *h264Frame, key bool, ts uint32, skip int) {
		n := f.begin(key)
		for i := range n {
			seq++
			if i == skip {
				continue
			}
			r.record(&rtp.Packet{Header: rtp.Header{SSRC: 7, SequenceNumber: seq, Timestamp: ts, Marker: i == n-1},
				Payload: f.packet(i)}, now)
		}
	}
	low, hi := newH264Frame(320, 180, 1250), newH264Frame(1280, 720, 10000)
	send(low, true, 0, -1)
	send(low, false, 6000, -1)
	send(low, true, 12000, 0) // STAP-A lost: the IDR fragment starts it
	send(hi, true, 18000, -1)
	send(hi, false, 24000, -1)
	st := r.snapshot()
	if st.Codec != webrtc.MimeTypeH264 || st.Frames != 5 || st.Keyframes != 3 || st.SizeChanges != 1 ||
		st.LastKeyWidth != 1280 || st.LastKeyHeight != 720 {
		t.Fatalf("stats %+v", st)
	}
	if k := st.KeyframeLog; len(k) != 3 || k[0].Packet != 1 || k[0].Width != 320 || k[1].Width != 320 || k[1].Height != 180 ||
		k[1].Timestamp != 12000 || k[2].Height != 720 {
		t.Errorf("keyframe log %+v", st.KeyframeLog)
	}
	r.setCodec(webrtc.MimeTypeVP8) // the server switched the track's codec
	vp8 := newVP8Frame(640, 360, 1000)
	vp8.begin(true)
	if !r.record(&rtp.Packet{Header: rtp.Header{SSRC: 7, SequenceNumber: seq + 1, Timestamp: 30000}, Payload: vp8.packet(0)}, now) {
		t.Error("a VP8 keyframe after the switch is not one")
	}
	if st := r.snapshot(); st.Codec != webrtc.MimeTypeVP8 || st.LastKeyWidth != 640 || st.LastKeyHeight != 360 {
		t.Errorf("after the switch to VP8: %+v", st)
	}
}

// TestH264LoopsDoNotAllocate: sending an H.264 frame (to an unbound
// track), recording its packets and parsing them allocate nothing.
func TestH264LoopsDoNotAllocate(t *testing.T) {
	track, err := webrtc.NewTrackLocalStaticRTP(h264Codec, cameraTrackID, cameraStreamID, webrtc.WithRTPStreamID("hi"))
	if err != nil {
		t.Fatal(err)
	}
	f := newH264Frame(1280, 720, 10000)
	l := &sendLayer{prof: layerProfile{"hi", 1280, 720, 1200}, track: track, frame: f}
	now := time.Now()
	key := false
	if n := testing.AllocsPerRun(100, func() { key = !key; l.sendFrame(key, 3000, now) }); n != 0 && !raceEnabled {
		t.Errorf("sendFrame: %v allocations", n)
	}
	var r videoRx
	r.setCodec(webrtc.MimeTypeH264)
	f.begin(true)
	p := &rtp.Packet{Header: rtp.Header{SSRC: 1, Marker: true}, Payload: f.packet(0)}
	if n := testing.AllocsPerRun(100, func() { p.SequenceNumber++; p.Timestamp += 3000; r.record(p, now) }); n != 0 {
		t.Errorf("record: %v allocations", n)
	}
	if n := testing.AllocsPerRun(100, func() { ParseH264(f.stap) }); n != 0 {
		t.Errorf("ParseH264: %v allocations", n)
	}
}

// TestVideoCodec: the codec names and their registrations.
func TestVideoCodec(t *testing.T) {
	for name, want := range map[string]string{"": webrtc.MimeTypeVP8, "vp8": webrtc.MimeTypeVP8, "H264": webrtc.MimeTypeH264, "h264": webrtc.MimeTypeH264} {
		c, err := VideoCodec(name)
		if err != nil || c.MimeType != want || c.ClockRate != 90000 || len(c.RTCPFeedback) != 4 {
			t.Errorf("VideoCodec(%q) = %+v, %v", name, c, err)
		}
	}
	if c, _ := VideoCodec("H264"); c.PayloadType == ptVP8 || c.SDPFmtpLine != "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f" {
		t.Errorf("H264: %+v", c)
	}
	if _, err := VideoCodec("AV1"); err == nil {
		t.Error("AV1 accepted")
	}
	if _, ok := newFrameBuilder(h264Codec, 320, 180, 100).(*h264Frame); !ok {
		t.Error("H.264 camera builds another codec's frames")
	}
}
