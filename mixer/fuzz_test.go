package mixer

import (
	"encoding/binary"
	"testing"
	"time"
)

// FuzzJitterBuffer feeds a jitter buffer arbitrary timestamps (reordered,
// duplicated, jumping, misaligned) and tick patterns, and checks its
// invariants: no panic, every packet played carries the payload pushed for
// its timestamp, no timestamp plays twice in a row of playout, and the
// buffered span stays under the cap.
func FuzzJitterBuffer(f *testing.F) {
	f.Add([]byte{0, 1, 0, 0, 1, 0, 0, 2, 0, 1, 0, 0})
	f.Add([]byte{0, 2, 5, 0, 1, 1, 0, 0xff, 0, 0, 3, 9, 1, 1, 1, 1, 1, 1})
	f.Add([]byte{0, 0x7f, 0, 0, 0x80, 0, 1, 1, 1, 1, 1, 1, 0, 1, 0, 0})
	f.Fuzz(func(t *testing.T, ops []byte) {
		c := &counters{}
		jb := newJitterBuffer(40*time.Millisecond, 200*time.Millisecond, 60, c)
		dst := make([]byte, 0, maxPayload)
		now := t0
		ts := uint32(1 << 31)
		played := map[uint32]bool{}
		for len(ops) >= 3 {
			op, a, b := ops[0], int8(ops[1]), ops[2]
			ops = ops[3:]
			switch op % 3 {
			case 0: // push: a frames from the current sender position, b µs×100 late
				pts := ts + uint32(int32(a))*frameSamples
				if b == 0xff {
					pts += 7 // misaligned
				}
				p := binary.BigEndian.AppendUint32(nil, pts)
				jb.push(p, pts, int8(b&0x7f), now.Add(time.Duration(b)*100*time.Microsecond))
				ts += frameSamples
			case 1: // ticks
				for range int(a)&7 + 1 {
					now = now.Add(frameDur)
					o := jb.pop(now, dst)
					if o.kind == popPacket || o.kind == popFEC {
						if len(o.payload) != 4 {
							t.Fatalf("payload %x", o.payload)
						}
					}
					if o.kind == popPacket {
						pts := binary.BigEndian.Uint32(o.payload)
						if pts != jb.playTS-frameSamples {
							t.Fatalf("played ts %d at playTS %d", pts, jb.playTS-frameSamples)
						}
						if played[pts] && c.resyncs.Load() == 0 {
							t.Fatalf("ts %d played twice", pts)
						}
						played[pts] = true
					}
					if jb.state == jbPlaying && int32(jb.highTS-jb.playTS) >= 0 && jb.span() > jb.maxDelay+frameDur {
						t.Fatalf("span %v over the cap", jb.span())
					}
				}
			default: // arrival clock jumps
				now = now.Add(time.Duration(a) * time.Millisecond)
			}
		}
	})
}
