package rtpfwd

import "testing"

// H.264 NAL units as an encoder emits them (RFC 6184 §1.3 NAL unit header:
// F=0, NRI, type), trimmed to their first bytes.
func sps() []byte   { return []byte{0x67, 0x42, 0xc0, 0x1f, 0xda, 0x01, 0x40, 0x16, 0xe8} } // Baseline, level 3.1
func pps() []byte   { return []byte{0x68, 0xce, 0x3c, 0x80} }
func sei() []byte   { return []byte{0x06, 0x05, 0x10, 0xb6} }
func idr() []byte   { return []byte{0x65, 0x88, 0x84, 0x00, 0x33, 0xff} }
func slice() []byte { return []byte{0x41, 0x9a, 0x02, 0x0c, 0x17} } // non-IDR
func aud() []byte   { return []byte{0x09, 0xf0} }

// stapA aggregates NAL units into an STAP-A payload (RFC 6184 §5.7.1):
// header F=0 NRI=3 type 24, then a 16-bit size before each unit.
func stapA(nalus ...[]byte) []byte {
	p := []byte{0x78}
	for _, n := range nalus {
		p = append(p, byte(len(n)>>8), byte(len(n)))
		p = append(p, n...)
	}
	return p
}

// fuA returns an FU-A fragment (RFC 6184 §5.8) of nalu: FU indicator with
// nalu's F and NRI and type 28, FU header |S|E|R|Type|, then the data
// bytes [from, to) of nalu past its header.
func fuA(nalu []byte, start, end bool, from, to int) []byte {
	fuHeader := nalu[0] & 0x1f
	if start {
		fuHeader |= 0x80
	}
	if end {
		fuHeader |= 0x40
	}
	return append([]byte{nalu[0]&0xe0 | 28, fuHeader}, nalu[1:][from:to]...)
}

func TestIsKeyframeH264(t *testing.T) {
	for _, tc := range []struct {
		name    string
		payload []byte
		want    bool
	}{
		{"single IDR", idr(), true},
		{"single SPS", sps(), true},
		{"single PPS", pps(), false},
		{"single non-IDR slice", slice(), false},
		{"single SEI", sei(), false},
		{"single AUD", aud(), false},
		{"IDR header byte only", idr()[:1], true},
		{"STAP-A SPS PPS", stapA(sps(), pps()), true},
		{"STAP-A AUD SPS PPS", stapA(aud(), sps(), pps()), true},
		{"STAP-A PPS IDR", stapA(pps(), idr()), true},
		{"STAP-A SEI slice", stapA(sei(), slice()), false},
		{"STAP-A PPS only", stapA(pps()), false},
		{"STAP-A empty", stapA(), false},
		{"STAP-A size cut short", stapA(sps())[:2], false},
		{"STAP-A unit cut short", stapA(sps())[:6], false},
		{"STAP-A zero-size unit", []byte{0x78, 0x00, 0x00, 0x67, 0x42}, false},
		{"STAP-A SPS after a unit overrunning the payload", append(stapA(pps()), 0x00, 0x40, 0x67), false},
		{"STAP-A SPS after a truncated second unit", append(stapA(sei()), 0x00, 0x09, 0x67, 0x42), false},
		{"FU-A start of IDR", fuA(idr(), true, false, 0, 3), true},
		{"FU-A middle of IDR", fuA(idr(), false, false, 2, 4), false},
		{"FU-A end of IDR", fuA(idr(), false, true, 3, 5), false},
		{"FU-A start of non-IDR slice", fuA(slice(), true, false, 0, 2), false},
		{"FU-A start of SPS", fuA(sps(), true, false, 0, 4), true},
		{"FU-A start and end of IDR", fuA(idr(), true, true, 0, 5), true},
		{"FU-A indicator only", fuA(idr(), true, false, 0, 3)[:1], false},
		{"FU-A header only", fuA(idr(), true, false, 0, 0), true},
		{"STAP-B (interleaved mode)", []byte{0x79, 0x00, 0x01, 0x00, 0x04, 0x67, 0x42, 0xc0, 0x1f}, false},
		{"FU-B (interleaved mode)", []byte{0x7d, 0x85, 0x00, 0x01, 0x88}, false},
		{"reserved type 30", []byte{0x7e, 0x85}, false},
		{"empty", nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := IsKeyframe("video/H264", tc.payload); got != tc.want {
				t.Errorf("IsKeyframe(% x) = %v, want %v", tc.payload, got, tc.want)
			}
		})
	}
}

func TestFUAHelper(t *testing.T) {
	got := fuA(idr(), true, false, 0, 2)
	want := []byte{0x7c, 0x85, 0x88, 0x84} // indicator NRI=3 type 28; S, type 5
	if string(got) != string(want) {
		t.Fatalf("fuA = % x, want % x", got, want)
	}
}
