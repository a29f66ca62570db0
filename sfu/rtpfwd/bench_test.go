package rtpfwd

import (
	"testing"
	"time"

	"github.com/pion/rtp"
)

// BenchmarkForward forwards the packets of two layers to one subscriber
// that switches between them every 300 packets: one packet in two is
// forwarded, the other dropped, as for a real simulcast group.
func BenchmarkForward(b *testing.B) {
	f := NewForwarder(90000, 1, 1)
	f.SetTarget(ssrcA)
	now := time.Unix(1700000000, 0)
	hdrs := [2]rtp.Header{{SSRC: ssrcA, PayloadType: 96}, {SSRC: ssrcB, PayloadType: 96}}
	b.ReportAllocs()
	var seq uint16
	for i := 0; b.Loop(); i++ {
		if i%600 == 300 {
			if f.Current() == ssrcA {
				f.SetTarget(ssrcB)
			} else {
				f.SetTarget(ssrcA)
			}
		}
		h := hdrs[i&1]
		h.SequenceNumber = seq
		h.Timestamp = uint32(seq/4) * 3000
		f.Forward(&h, seq%60 == 0, now)
		if i&1 == 1 {
			seq++
			now = now.Add(time.Millisecond)
		}
	}
}

func BenchmarkIsKeyframe(b *testing.B) {
	vp8Desc := vp8Plain()
	vp8Desc.pictureID, vp8Desc.tl0, vp8Desc.tid = 0x1234, 3, 1
	for _, bc := range []struct {
		name, mime string
		payload    []byte
	}{
		{"VP8", "video/VP8", vp8Payload(vp8Desc, vp8InterHeader())},
		{"H264-FU-A", "video/H264", fuA(idr(), true, false, 0, 5)},
		{"H264-STAP-A", "video/H264", stapA(aud(), sei(), sps(), pps(), idr())},
		{"other", "audio/opus", []byte{0xfc, 0xff, 0xfe}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				IsKeyframe(bc.mime, bc.payload)
			}
		})
	}
}

func BenchmarkKeyframeRequesterAllow(b *testing.B) {
	k := NewKeyframeRequester(500 * time.Millisecond)
	now := time.Unix(1700000000, 0)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		k.Allow(ssrcA+uint32(i&3), now)
		now = now.Add(time.Millisecond)
	}
}
