package rtpfwd

import "testing"

func TestIsKeyframeMimeType(t *testing.T) {
	vp8Key := vp8Payload(vp8Plain(), vp8KeyHeader())
	h264Key := idr()
	for _, tc := range []struct {
		mime    string
		payload []byte
		want    bool
	}{
		{"video/VP8", vp8Key, true},
		{"video/vp8", vp8Key, true},
		{"VIDEO/VP8", vp8Key, true},
		{"video/H264", h264Key, true},
		{"video/h264", h264Key, true},
		{"Video/H264", h264Key, true},
		// A VP8 key payload is not an H.264 one and the reverse: each
		// codec's rules apply to its own MIME type only.
		{"video/H264", []byte{0x10, 0x02}, false},
		{"video/VP8", []byte{0x67}, false},
		{"video/VP9", vp8Key, false},
		{"video/AV1", h264Key, false},
		{"audio/opus", vp8Key, false},
		{"", h264Key, false},
		{"video/VP8 ", vp8Key, false},
	} {
		if got := IsKeyframe(tc.mime, tc.payload); got != tc.want {
			t.Errorf("IsKeyframe(%q, % x) = %v, want %v", tc.mime, tc.payload, got, tc.want)
		}
	}
}

func TestIsKeyframeDoesNotAllocate(t *testing.T) {
	payloads := []struct {
		mime    string
		payload []byte
	}{
		{"video/vp8", vp8Payload(vp8Plain(), vp8KeyHeader())},
		{"video/H264", stapA(aud(), sps(), pps())},
		{"video/H264", fuA(idr(), true, false, 0, 3)},
		{"audio/opus", []byte{0xfc}},
	}
	for _, p := range payloads {
		if n := testing.AllocsPerRun(100, func() { IsKeyframe(p.mime, p.payload) }); n != 0 {
			t.Errorf("IsKeyframe(%q) allocates %v times per call", p.mime, n)
		}
	}
}

// FuzzIsKeyframe checks that no payload makes IsKeyframe panic, and that
// it agrees with a second, straightforward reading of the RFCs.
func FuzzIsKeyframe(f *testing.F) {
	for _, seed := range [][]byte{
		nil,
		{0x10},
		vp8Payload(vp8Plain(), vp8KeyHeader()),
		vp8Payload(vp8Desc{start: true, pictureID: 0x1234, tl0: 1, tid: 1, keyIdx: 1}, vp8InterHeader()),
		{0x90, 0x80, 0x92},
		idr(),
		stapA(sps(), pps(), idr()),
		append(stapA(pps()), 0x00, 0x40, 0x67),
		fuA(idr(), true, false, 0, 3),
		{0x7c},
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, payload []byte) {
		if got, want := IsKeyframe("video/VP8", payload), refVP8(payload); got != want {
			t.Errorf("VP8 % x: got %v, reference %v", payload, got, want)
		}
		if got, want := IsKeyframe("video/H264", payload), refH264(payload); got != want {
			t.Errorf("H264 % x: got %v, reference %v", payload, got, want)
		}
		if IsKeyframe("video/VP9", payload) {
			t.Errorf("VP9 % x: keyframe", payload)
		}
	})
}

// refVP8 is a reference reading of RFC 7741 written differently from
// vp8Keyframe: it computes the descriptor's length first.
func refVP8(p []byte) bool {
	if len(p) == 0 || p[0]&0x10 == 0 || p[0]&0x07 != 0 {
		return false
	}
	n := 1
	if p[0]&0x80 != 0 {
		if len(p) < 2 {
			return false
		}
		n = 2
		x := p[1]
		if x&0x80 != 0 {
			if len(p) < 3 {
				return false
			}
			n += 1 + int(p[2]>>7)
		}
		n += int(x>>6) & 1
		if x&0x30 != 0 {
			n++
		}
	}
	return len(p) > n && p[n]&1 == 0
}

// refH264 is a reference reading of RFC 6184 written differently from
// h264Keyframe: it collects the NAL unit types the payload starts.
func refH264(p []byte) bool {
	if len(p) == 0 {
		return false
	}
	var types []byte
	switch p[0] & 0x1f {
	case 24:
		for i := 1; i+2 <= len(p); {
			size := int(p[i])<<8 | int(p[i+1])
			if size == 0 || i+2+size > len(p) {
				break
			}
			types = append(types, p[i+2]&0x1f)
			i += 2 + size
		}
	case 28:
		if len(p) >= 2 && p[1]&0x80 != 0 {
			types = append(types, p[1]&0x1f)
		}
	default:
		types = append(types, p[0]&0x1f)
	}
	for _, t := range types {
		if t == 5 || t == 7 {
			return true
		}
	}
	return false
}
