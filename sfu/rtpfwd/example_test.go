package rtpfwd_test

import (
	"fmt"
	"time"

	"github.com/confab-media/confab/sfu/rtpfwd"
	"github.com/pion/rtp"
)

// A subscriber's video track fed from two simulcast layers: forwarding
// starts at a keyframe of the low layer, then moves to the high layer at
// its first keyframe, without a gap in the sequence numbers.
func Example() {
	const low, high = 0x1000, 0x2000
	fwd := rtpfwd.NewForwarder(90000, 100, 0)
	plis := rtpfwd.NewKeyframeRequester(500 * time.Millisecond)
	now := time.Unix(1700000000, 0)

	vp8Key := []byte{0x10, 0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a} // S, PID 0; P=0
	vp8Delta := []byte{0x10, 0x11, 0x02, 0x00}                 // S, PID 0; P=1

	send := func(ssrc uint32, seq uint16, ts uint32, payload []byte) {
		h := rtp.Header{SSRC: ssrc, SequenceNumber: seq, Timestamp: ts}
		if fwd.Forward(&h, rtpfwd.IsKeyframe("video/VP8", payload), now) {
			fmt.Printf("layer %#x seq %d -> seq %d ts %d\n", ssrc, seq, h.SequenceNumber, h.Timestamp)
		}
		if ssrc, waiting := fwd.WantsKeyframe(); waiting && plis.Allow(ssrc, now) {
			fmt.Printf("PLI to %#x\n", ssrc)
		}
		now = now.Add(10 * time.Millisecond)
	}

	fwd.SetTarget(low)
	send(low, 7, 3000, vp8Delta) // dropped: waiting for a keyframe
	send(low, 8, 6000, vp8Key)
	send(low, 9, 9000, vp8Delta)
	fwd.SetTarget(high)
	send(high, 500, 40000, vp8Delta) // dropped: not a keyframe
	send(low, 10, 12000, vp8Delta)   // the low layer goes on meanwhile
	send(high, 501, 43000, vp8Key)   // switch
	send(low, 11, 15000, vp8Delta)   // dropped: old layer
	send(high, 502, 46000, vp8Delta)
	// Output:
	// PLI to 0x1000
	// layer 0x1000 seq 8 -> seq 100 ts 0
	// layer 0x1000 seq 9 -> seq 101 ts 3000
	// PLI to 0x2000
	// layer 0x1000 seq 10 -> seq 102 ts 6000
	// layer 0x2000 seq 501 -> seq 103 ts 6900
	// layer 0x2000 seq 502 -> seq 104 ts 9900
}
