package rtpfwd

import "testing"

// vp8Desc describes an RFC 7741 §4.2 payload descriptor to build.
type vp8Desc struct {
	start     bool // S
	pid       byte // partition index
	pictureID int  // −1: absent; < 128: 7-bit; otherwise 15-bit (M set)
	tl0       int  // −1: absent, else TL0PICIDX
	tid       int  // −1: absent, else TID (T set)
	keyIdx    int  // −1: absent, else KEYIDX (K set)
	long      bool // force the 15-bit PictureID form even for small values
}

// bytes encodes d bit by bit as RFC 7741 §4.2 lays it out.
func (d vp8Desc) bytes() []byte {
	b0 := d.pid & 0x07
	if d.start {
		b0 |= 0x10 // S
	}
	var x byte
	var ext []byte
	if d.pictureID >= 0 {
		x |= 0x80 // I
		if d.long || d.pictureID > 127 {
			ext = append(ext, 0x80|byte(d.pictureID>>8)&0x7f, byte(d.pictureID))
		} else {
			ext = append(ext, byte(d.pictureID))
		}
	}
	if d.tl0 >= 0 {
		x |= 0x40 // L
		ext = append(ext, byte(d.tl0))
	}
	if d.tid >= 0 || d.keyIdx >= 0 {
		var tk byte
		if d.tid >= 0 {
			x |= 0x20 // T
			tk |= byte(d.tid) << 6
		}
		if d.keyIdx >= 0 {
			x |= 0x10 // K
			tk |= byte(d.keyIdx) & 0x1f
		}
		ext = append(ext, tk)
	}
	if x == 0 {
		return []byte{b0}
	}
	return append([]byte{b0 | 0x80, x}, ext...) // X
}

// vp8Plain returns a descriptor with no extension: S, PID 0.
func vp8Plain() vp8Desc { return vp8Desc{start: true, pictureID: -1, tl0: -1, tid: -1, keyIdx: -1} }

// vp8KeyHeader returns the start of a 640×480 key frame (RFC 6386 §9.1, RFC 7741
// §4.3): frame tag (P=0 key frame, version 0, show_frame, first partition
// 0x123 bytes), start code 9d 01 2a, width and height (little-endian, no
// scaling).
func vp8KeyHeader() []byte {
	return []byte{
		(0x123&7)<<5 | 1<<4, (0x123 >> 3) & 0xff, 0x123 >> 11,
		0x9d, 0x01, 0x2a,
		0x80, 0x02, 0xe0, 0x01,
		0x00, 0x00, // first bits of the compressed header
	}
}

// vp8InterHeader returns the start of an interframe: frame tag with P=1.
func vp8InterHeader() []byte {
	return []byte{
		(0x45&7)<<5 | 1<<4 | 0<<1 | 1, (0x45 >> 3) & 0xff, 0x45 >> 11,
		0x00, 0x00, 0x00,
	}
}

func vp8Payload(d vp8Desc, frame []byte) []byte { return append(d.bytes(), frame...) }

func TestVP8DescriptorBuilder(t *testing.T) {
	// Cross-check the builder against bytes written out by hand.
	d := vp8Plain()
	d.pictureID, d.tl0, d.tid, d.keyIdx = 0x1235, 7, 2, 3
	want := []byte{0x90, 0xf0, 0x92, 0x35, 0x07, 0x83}
	if got := d.bytes(); string(got) != string(want) {
		t.Fatalf("descriptor = % x, want % x", got, want)
	}
}

func TestIsKeyframeVP8(t *testing.T) {
	with := func(f func(*vp8Desc)) vp8Desc { d := vp8Plain(); f(&d); return d }
	pic7 := with(func(d *vp8Desc) { d.pictureID = 0x35 })
	// Low PictureID byte 0x34 is even: a parser that took the 15-bit
	// PictureID for a 7-bit one would read it as a P=0 payload header.
	pic15 := with(func(d *vp8Desc) { d.pictureID = 0x1234 })
	pic15small := with(func(d *vp8Desc) { d.pictureID = 0x02; d.long = true })
	all := with(func(d *vp8Desc) { d.pictureID, d.tl0, d.tid, d.keyIdx = 0x7ffe, 0x10, 1, 4 })
	tOnly := with(func(d *vp8Desc) { d.tid = 2 })
	kOnly := with(func(d *vp8Desc) { d.keyIdx = 6 })
	lOnly := with(func(d *vp8Desc) { d.tl0 = 0x22 })
	xEmpty := vp8Plain().bytes()
	xEmpty = []byte{xEmpty[0] | 0x80, 0x00} // X set, no I/L/T/K
	notStart := with(func(d *vp8Desc) { d.start = false })
	pid1 := with(func(d *vp8Desc) { d.pid = 1 })

	for _, tc := range []struct {
		name    string
		payload []byte
		want    bool
	}{
		{"key, no extension", vp8Payload(vp8Plain(), vp8KeyHeader()), true},
		{"inter, no extension", vp8Payload(vp8Plain(), vp8InterHeader()), false},
		{"key, 7-bit PictureID", vp8Payload(pic7, vp8KeyHeader()), true},
		{"inter, 7-bit PictureID", vp8Payload(pic7, vp8InterHeader()), false},
		{"key, 15-bit PictureID", vp8Payload(pic15, vp8KeyHeader()), true},
		{"inter, 15-bit PictureID", vp8Payload(pic15, vp8InterHeader()), false},
		{"inter, 15-bit form of a small PictureID", vp8Payload(pic15small, vp8InterHeader()), false},
		{"key, I L T K", vp8Payload(all, vp8KeyHeader()), true},
		{"inter, I L T K", vp8Payload(all, vp8InterHeader()), false},
		{"key, T only", vp8Payload(tOnly, vp8KeyHeader()), true},
		{"inter, T only", vp8Payload(tOnly, vp8InterHeader()), false},
		{"key, K only", vp8Payload(kOnly, vp8KeyHeader()), true},
		{"inter, K only", vp8Payload(kOnly, vp8InterHeader()), false},
		{"key, L only", vp8Payload(lOnly, vp8KeyHeader()), true},
		{"inter, L only", vp8Payload(lOnly, vp8InterHeader()), false},
		{"key, X with no fields", append(xEmpty, vp8KeyHeader()...), true},
		{"inter, X with no fields", append(xEmpty, vp8InterHeader()...), false},
		{"key data, not a partition start", vp8Payload(notStart, vp8KeyHeader()), false},
		{"key data, partition 1", vp8Payload(pid1, vp8KeyHeader()), false},
		{"one header byte is enough", vp8Payload(pic15, vp8KeyHeader()[:1]), true},
		{"empty", nil, false},
		{"descriptor only", vp8Plain().bytes(), false},
		{"X without extension byte", []byte{0x90}, false},
		{"I without PictureID", []byte{0x90, 0x80}, false},
		{"15-bit PictureID cut short", []byte{0x90, 0x80, 0x92}, false},
		{"15-bit PictureID, no payload", []byte{0x90, 0x80, 0x92, 0x34}, false},
		{"all fields, no payload", all.bytes(), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := IsKeyframe("video/VP8", tc.payload); got != tc.want {
				t.Errorf("IsKeyframe(% x) = %v, want %v", tc.payload, got, tc.want)
			}
		})
	}
}
