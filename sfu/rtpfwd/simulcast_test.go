package rtpfwd

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/pion/rtp"
)

// layer is a simulated simulcast layer of a VP8 publisher: 30 frames/s, a
// few packets per frame, a keyframe every 3 s or a few frames after a
// request.
type layer struct {
	ssrc     uint32
	seq      uint16
	ts       uint32
	perFrame int
	sinceKey int
	keyAt    int // frame number of a requested keyframe, 0 if none
}

func (l *layer) frame(n int, buf []rtp.Header) (pkts []rtp.Header, key bool) {
	key = (l.keyAt != 0 && n >= l.keyAt) || l.sinceKey >= 90
	if key {
		l.keyAt, l.sinceKey = 0, 0
	}
	l.sinceKey++
	l.ts += 3000
	pkts = buf[:0]
	for range l.perFrame {
		pkts = append(pkts, rtp.Header{SSRC: l.ssrc, SequenceNumber: l.seq, Timestamp: l.ts})
		l.seq++
	}
	return pkts, key
}

// TestForwarderSimulcast drives a Forwarder with three interleaved layers
// and random target changes and pauses, asking for keyframes as a caller
// would, and checks what the subscriber receives: consecutive sequence
// numbers (no gap, no repeat, no step back), timestamps that never go back
// and move on at every frame and every switch, switches only at keyframes,
// and every target eventually reached.
func TestForwarderSimulcast(t *testing.T) {
	for seed := uint64(1); seed <= 20; seed++ {
		rng := rand.New(rand.NewPCG(seed, 42))
		layers := []*layer{
			{ssrc: ssrcA, seq: uint16(rng.Uint32()), ts: rng.Uint32(), perFrame: 1},
			{ssrc: ssrcB, seq: uint16(rng.Uint32()), ts: rng.Uint32(), perFrame: 3},
			{ssrc: ssrcC, seq: uint16(rng.Uint32()), ts: rng.Uint32(), perFrame: 8},
		}
		seqStart, tsStart := uint16(rng.Uint32()), rng.Uint32()
		f := NewForwarder(90000, seqStart, tsStart)
		kr := NewKeyframeRequester(500 * time.Millisecond)
		now := time.Unix(1700000000, 0)

		var (
			sent       int
			lastSeq    uint16
			lastTs     uint32
			lastSrcTs  uint32
			lastSSRC   uint32
			targetAt   time.Time
			target     uint32
			switches   int
			buf        [8]rtp.Header
			waitFrames int
		)
		for frame := range 3000 { // 100 s
			if frame%15 == 0 && rng.IntN(3) == 0 {
				choices := [...]uint32{0, ssrcA, ssrcB, ssrcC}
				target = choices[rng.IntN(len(choices))]
				f.SetTarget(target)
				targetAt = now
				waitFrames = 0
			}
			if ssrc, waiting := f.WantsKeyframe(); waiting && kr.Allow(ssrc, now) {
				for _, l := range layers {
					if l.ssrc == ssrc && l.keyAt == 0 {
						l.keyAt = frame + 1 + rng.IntN(5) // RTT and encoder delay
					}
				}
			}
			if target != 0 && f.Current() != target {
				waitFrames++
				// A keyframe is asked for at once and comes within 5
				// frames, unless the requester holds the request back
				// (≤ 500 ms, 15 frames).
				if waitFrames > 21 {
					t.Fatalf("seed %d: target %#x not reached %v after SetTarget", seed, target, now.Sub(targetAt))
				}
			}
			for _, l := range rng.Perm(len(layers)) {
				pkts, key := layers[l].frame(frame, buf[:])
				for i := range pkts {
					h := pkts[i]
					srcTs := h.Timestamp
					if !f.Forward(&h, key && i == 0, now) {
						continue
					}
					if h.SSRC != lastSSRC {
						if sent > 0 && !(key && i == 0) {
							t.Fatalf("seed %d: switched to %#x on a packet that is no keyframe start", seed, h.SSRC)
						}
						if sent > 0 && !tsNewer(h.Timestamp, lastTs) {
							t.Fatalf("seed %d: timestamp %d at a switch, after %d", seed, h.Timestamp, lastTs)
						}
						switches++
					} else if srcTs != lastSrcTs && !tsNewer(h.Timestamp, lastTs) {
						t.Fatalf("seed %d: new frame with timestamp %d, after %d", seed, h.Timestamp, lastTs)
					}
					switch {
					case sent == 0 && (h.SequenceNumber != seqStart || h.Timestamp != tsStart):
						t.Fatalf("seed %d: first packet seq %d ts %d, want %d %d", seed, h.SequenceNumber, h.Timestamp, seqStart, tsStart)
					case sent > 0 && h.SequenceNumber != lastSeq+1:
						t.Fatalf("seed %d: seq %d after %d", seed, h.SequenceNumber, lastSeq)
					case sent > 0 && tsNewer(lastTs, h.Timestamp):
						t.Fatalf("seed %d: timestamp %d after %d", seed, h.Timestamp, lastTs)
					}
					sent++
					lastSeq, lastTs, lastSrcTs, lastSSRC = h.SequenceNumber, h.Timestamp, srcTs, h.SSRC
				}
				now = now.Add(time.Duration(rng.IntN(3)) * time.Millisecond)
			}
			now = now.Add(33 * time.Millisecond)
		}
		if sent == 0 || switches < 5 {
			t.Fatalf("seed %d: only %d packets and %d switches: scenario too tame", seed, sent, switches)
		}
	}
}
