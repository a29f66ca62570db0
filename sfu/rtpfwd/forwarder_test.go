package rtpfwd

import (
	"fmt"
	"testing"
	"time"

	"github.com/pion/rtp"
)

// Source SSRCs: three simulcast layers of one publisher.
const (
	ssrcA uint32 = 0xa1a1a1a1
	ssrcB uint32 = 0xb2b2b2b2
	ssrcC uint32 = 0xc3c3c3c3
)

// step is one call in a Forwarder scenario: a SetTarget, or a Forward of a
// packet with its expected outcome.
type step struct {
	setTarget bool
	ssrc      uint32
	seq       uint16
	ts        uint32
	key       bool
	at        time.Duration // arrival, after the scenario's start

	outcome bool // drop or out was given
	drop    bool
	outSeq  uint16
	outTs   uint32

	checkCur bool
	cur      uint32
}

func target(ssrc uint32) step { return step{setTarget: true, ssrc: ssrc} }

// pkt is a packet arriving ms milliseconds after the start.
func pkt(ssrc uint32, seq uint16, ts uint32, ms int) step {
	return step{ssrc: ssrc, seq: seq, ts: ts, at: time.Duration(ms) * time.Millisecond}
}

func (s step) keyframe() step { s.key = true; return s }
func (s step) dropped() step  { s.outcome, s.drop = true, true; return s }
func (s step) current(ssrc uint32) step {
	s.checkCur, s.cur = true, ssrc
	return s
}
func (s step) out(seq uint16, ts uint32) step {
	s.outcome, s.outSeq, s.outTs = true, seq, ts
	return s
}

func (s step) String() string {
	if s.setTarget {
		return fmt.Sprintf("SetTarget(%#x)", s.ssrc)
	}
	k := ""
	if s.key {
		k = " key"
	}
	return fmt.Sprintf("packet %#x seq %d ts %d%s at %v", s.ssrc, s.seq, s.ts, k, s.at)
}

// 90 kHz ticks in ms milliseconds.
func ticks(ms uint32) uint32 { return ms * 90 }

func TestForwarder(t *testing.T) {
	const seq0, ts0 = 1000, 50000
	for _, tc := range []struct {
		name     string
		seqStart uint16 // seq0 if 0
		tsStart  uint32 // ts0 if 0
		steps    []step
	}{
		{
			name: "nothing until the target's first keyframe, then offsets",
			steps: []step{
				pkt(ssrcA, 10, 3000, 0).dropped().current(0),
				target(ssrcA),
				pkt(ssrcA, 11, 3000, 1).dropped().current(0),
				pkt(ssrcA, 12, 6000, 33).keyframe().out(seq0, ts0).current(ssrcA),
				pkt(ssrcA, 13, 6000, 34).out(seq0+1, ts0),
				pkt(ssrcA, 14, 9000, 66).out(seq0+2, ts0+3000),
				pkt(ssrcA, 20, 21000, 200).out(seq0+8, ts0+15000), // loss stays visible
			},
		},
		{
			name: "no target: even keyframes are dropped",
			steps: []step{
				pkt(ssrcA, 10, 3000, 0).keyframe().dropped().current(0),
				target(0),
				pkt(ssrcA, 11, 6000, 33).keyframe().dropped().current(0),
			},
		},
		{
			name: "reordered and retransmitted packets keep their place",
			steps: []step{
				target(ssrcA),
				pkt(ssrcA, 100, 1000, 0).keyframe().out(seq0, ts0),
				pkt(ssrcA, 102, 4000, 33).out(seq0+2, ts0+3000),
				pkt(ssrcA, 101, 1000, 34).out(seq0+1, ts0),
				pkt(ssrcA, 103, 4000, 35).out(seq0+3, ts0+3000),
				pkt(ssrcA, 101, 1000, 200).out(seq0+1, ts0), // NACKed retransmission
				pkt(ssrcA, 104, 7000, 201).out(seq0+4, ts0+6000),
			},
		},
		{
			name: "packets older than the switch point are dropped",
			steps: []step{
				target(ssrcA),
				pkt(ssrcA, 100, 1000, 0).keyframe().out(seq0, ts0),
				pkt(ssrcA, 99, 1000, 1).dropped(),
				pkt(ssrcA, 70, 1000, 2).dropped(),
				pkt(ssrcA, 100+32767, 1000, 3).out(seq0+32767, ts0), // farthest still newer
				pkt(ssrcA, 101, 4000, 33).out(seq0+1, ts0+3000),
				pkt(ssrcA, 99, 1000, 34).dropped(),
			},
		},
		{
			name: "switch point just after an input wrap",
			steps: []step{
				target(ssrcA),
				pkt(ssrcA, 1, 1000, 0).keyframe().out(seq0, ts0),
				pkt(ssrcA, 65535, 1000, 1).dropped(),
				pkt(ssrcA, 0, 1000, 2).dropped(),
				pkt(ssrcA, 2, 1000, 3).out(seq0+1, ts0),
			},
		},
		{
			name: "switch happens at the target's keyframe",
			steps: []step{
				target(ssrcA),
				pkt(ssrcA, 10, 1000, 0).keyframe().out(seq0, ts0),
				pkt(ssrcA, 11, 4000, 33).out(seq0+1, ts0+3000),
				target(ssrcB).current(ssrcA),
				pkt(ssrcB, 500, 70000, 40).dropped().current(ssrcA), // not a keyframe
				pkt(ssrcA, 12, 7000, 66).out(seq0+2, ts0+6000),      // old source goes on
				pkt(ssrcB, 501, 73000, 80).keyframe().out(seq0+3, ts0+6000+ticks(80-66)).current(ssrcB),
				pkt(ssrcA, 13, 10000, 99).dropped().current(ssrcB), // old source after the switch
				pkt(ssrcA, 14, 10000, 99).keyframe().dropped(),
				pkt(ssrcB, 502, 73000, 81).out(seq0+4, ts0+6000+ticks(14)),
				pkt(ssrcB, 503, 76000, 113).out(seq0+5, ts0+6000+ticks(14)+3000),
				pkt(ssrcB, 500, 70000, 120).dropped(), // before the switch point
			},
		},
		{
			name: "switch continues from the highest sequence number and timestamp",
			steps: []step{
				target(ssrcA),
				pkt(ssrcA, 10, 1000, 0).keyframe().out(seq0, ts0),
				pkt(ssrcA, 12, 4000, 33).out(seq0+2, ts0+3000),
				pkt(ssrcA, 11, 1000, 40).out(seq0+1, ts0), // late: last sent, not highest
				target(ssrcB),
				// No time since the last forwarded packet: one tick.
				pkt(ssrcB, 7, 900000, 40).keyframe().out(seq0+3, ts0+3000+1),
			},
		},
		{
			name: "switch with an arrival time before the last one steps one tick",
			steps: []step{
				target(ssrcA),
				pkt(ssrcA, 10, 1000, 100).keyframe().out(seq0, ts0),
				pkt(ssrcA, 11, 1000, 40).out(seq0+1, ts0), // stamped earlier still
				target(ssrcB),
				pkt(ssrcB, 7, 900000, 50).keyframe().out(seq0+2, ts0+1),
			},
		},
		{
			name: "pause and resume on the same source",
			steps: []step{
				target(ssrcA),
				pkt(ssrcA, 10, 1000, 0).keyframe().out(seq0, ts0),
				pkt(ssrcA, 11, 4000, 33).out(seq0+1, ts0+3000),
				target(0).current(0),
				pkt(ssrcA, 12, 7000, 66).dropped(),
				pkt(ssrcA, 13, 10000, 100).keyframe().dropped(),
				target(ssrcA).current(0),
				pkt(ssrcA, 14, 13000, 1000).dropped(), // waits for a keyframe
				pkt(ssrcA, 15, 100000, 2033).keyframe().out(seq0+2, ts0+3000+ticks(2000)).current(ssrcA),
				pkt(ssrcA, 16, 103000, 2066).out(seq0+3, ts0+3000+ticks(2000)+3000),
				pkt(ssrcA, 13, 10000, 2070).dropped(), // from before the pause
			},
		},
		{
			name: "pause and resume on another source",
			steps: []step{
				target(ssrcA),
				pkt(ssrcA, 10, 1000, 0).keyframe().out(seq0, ts0),
				target(0),
				target(ssrcC),
				pkt(ssrcA, 11, 4000, 33).dropped(),
				pkt(ssrcC, 40000, 5, 500).keyframe().out(seq0+1, ts0+ticks(500)).current(ssrcC),
			},
		},
		{
			name: "input sequence numbers wrap",
			steps: []step{
				target(ssrcA),
				pkt(ssrcA, 65534, 1000, 0).keyframe().out(seq0, ts0),
				pkt(ssrcA, 65535, 1000, 1).out(seq0+1, ts0),
				pkt(ssrcA, 0, 4000, 33).out(seq0+2, ts0+3000),
				pkt(ssrcA, 1, 4000, 34).out(seq0+3, ts0+3000),
				pkt(ssrcA, 65535, 1000, 50).out(seq0+1, ts0), // retransmission across the wrap
				pkt(ssrcA, 65533, 1000, 51).dropped(),
			},
		},
		{
			name:     "output sequence numbers wrap",
			seqStart: 65534,
			steps: []step{
				target(ssrcA),
				pkt(ssrcA, 10, 1000, 0).keyframe().out(65534, ts0),
				pkt(ssrcA, 11, 1000, 1).out(65535, ts0),
				pkt(ssrcA, 12, 4000, 33).out(0, ts0+3000),
				pkt(ssrcA, 11, 1000, 34).out(65535, ts0),
				target(ssrcB),
				pkt(ssrcB, 65535, 9, 66).keyframe().out(1, ts0+3000+ticks(32)),
				pkt(ssrcB, 0, 9, 67).out(2, ts0+3000+ticks(32)),
			},
		},
		{
			name:    "timestamps wrap, in the output and across a switch",
			tsStart: 0xfffff000,
			steps: []step{
				target(ssrcA),
				pkt(ssrcA, 10, 0, 0).keyframe().out(seq0, 0xfffff000),
				pkt(ssrcA, 11, 3000, 33).out(seq0+1, 0xfffffbb8),
				pkt(ssrcA, 12, 6000, 66).out(seq0+2, 0x00000770),
				pkt(ssrcA, 11, 3000, 67).out(seq0+1, 0xfffffbb8), // late, before the wrap
				target(ssrcB),
				pkt(ssrcB, 3, 77, 100).keyframe().out(seq0+3, 0x770+ticks(100-67)),
			},
		},
		{
			name:    "input timestamps wrap",
			tsStart: 1000,
			steps: []step{
				target(ssrcA),
				pkt(ssrcA, 10, 0xffffff00, 0).keyframe().out(seq0, 1000),
				pkt(ssrcA, 11, 0x00000a00, 33).out(seq0+1, 1000+0xb00),
				target(ssrcB),
				pkt(ssrcB, 3, 77, 66).keyframe().out(seq0+2, 1000+0xb00+ticks(33)),
			},
		},
		{
			name: "a keyframe of the current source keeps its mapping",
			steps: []step{
				target(ssrcA),
				pkt(ssrcA, 10, 1000, 0).keyframe().out(seq0, ts0),
				pkt(ssrcA, 11, 4000, 33).out(seq0+1, ts0+3000),
				pkt(ssrcA, 50, 90000, 900).keyframe().out(seq0+40, ts0+89000).current(ssrcA),
			},
		},
		{
			name: "targeting the current source again cancels a switch",
			steps: []step{
				target(ssrcA),
				pkt(ssrcA, 10, 1000, 0).keyframe().out(seq0, ts0),
				target(ssrcB),
				target(ssrcA),
				pkt(ssrcB, 500, 70000, 20).keyframe().dropped().current(ssrcA),
				pkt(ssrcA, 11, 4000, 33).out(seq0+1, ts0+3000),
			},
		},
		{
			name: "other sources and SSRC 0 are dropped",
			steps: []step{
				target(ssrcA),
				pkt(ssrcC, 1, 1, 0).keyframe().dropped(),
				pkt(0, 1, 1, 0).keyframe().dropped(),
				pkt(ssrcA, 10, 1000, 1).keyframe().out(seq0, ts0),
				pkt(ssrcC, 2, 1, 2).keyframe().dropped(),
				pkt(0, 2, 1, 2).keyframe().dropped(),
				target(0),
				pkt(0, 3, 1, 3).keyframe().dropped().current(0),
			},
		},
		{
			name: "back to an earlier source: a new switch point",
			steps: []step{
				target(ssrcA),
				pkt(ssrcA, 10, 1000, 0).keyframe().out(seq0, ts0),
				target(ssrcB),
				pkt(ssrcB, 500, 70000, 33).keyframe().out(seq0+1, ts0+ticks(33)),
				target(ssrcA),
				pkt(ssrcA, 20, 30000, 50).dropped(),
				pkt(ssrcA, 30, 60000, 66).keyframe().out(seq0+2, ts0+ticks(66)),
				pkt(ssrcA, 25, 40000, 70).dropped(),
				pkt(ssrcA, 31, 63000, 99).out(seq0+3, ts0+ticks(66)+3000),
			},
		},
		{
			name: "a very long pause steps the timestamp by less than half its range",
			steps: []step{
				target(ssrcA),
				pkt(ssrcA, 10, 1000, 0).keyframe().out(seq0, ts0),
				target(0),
				target(ssrcA),
				pkt(ssrcA, 11, 4000, 10*3600*1000).keyframe().out(seq0+1, ts0+1<<31-1),
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			seqStart, tsStart := tc.seqStart, tc.tsStart
			if seqStart == 0 {
				seqStart = seq0
			}
			if tsStart == 0 {
				tsStart = ts0
			}
			f := NewForwarder(90000, seqStart, tsStart)
			start := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
			for i, s := range tc.steps {
				if s.setTarget {
					f.SetTarget(s.ssrc)
				} else {
					if !s.outcome {
						t.Fatalf("step %d (%v): no expected outcome", i, s)
					}
					h := rtp.Header{SSRC: s.ssrc, SequenceNumber: s.seq, Timestamp: s.ts, PayloadType: 96}
					ok := f.Forward(&h, s.key, start.Add(s.at))
					switch {
					case s.drop && ok:
						t.Errorf("step %d (%v): forwarded as seq %d ts %d, want dropped", i, s, h.SequenceNumber, h.Timestamp)
					case !s.drop && !ok:
						t.Errorf("step %d (%v): dropped, want seq %d ts %d", i, s, s.outSeq, s.outTs)
					case !s.drop && (h.SequenceNumber != s.outSeq || h.Timestamp != s.outTs):
						t.Errorf("step %d (%v): seq %d ts %d, want seq %d ts %d", i, s, h.SequenceNumber, h.Timestamp, s.outSeq, s.outTs)
					}
					if h.SSRC != s.ssrc || h.PayloadType != 96 {
						t.Errorf("step %d (%v): SSRC or payload type changed", i, s)
					}
				}
				if s.checkCur {
					if got := f.Current(); got != s.cur {
						t.Errorf("step %d (%v): Current() = %#x, want %#x", i, s, got, s.cur)
					}
				}
			}
		})
	}
}

func TestForwarderWantsKeyframe(t *testing.T) {
	f := NewForwarder(90000, 0, 0)
	now := time.Unix(1700000000, 0)
	check := func(what string, wantSSRC uint32, wantWaiting bool) {
		t.Helper()
		if ssrc, waiting := f.WantsKeyframe(); ssrc != wantSSRC || waiting != wantWaiting {
			t.Errorf("%s: WantsKeyframe() = %#x, %v; want %#x, %v", what, ssrc, waiting, wantSSRC, wantWaiting)
		}
	}
	send := func(ssrc uint32, seq uint16, key bool) {
		h := rtp.Header{SSRC: ssrc, SequenceNumber: seq}
		f.Forward(&h, key, now)
		now = now.Add(10 * time.Millisecond)
	}
	check("new", 0, false)
	f.SetTarget(ssrcA)
	check("target set", ssrcA, true)
	send(ssrcA, 1, false)
	check("after a delta packet", ssrcA, true)
	send(ssrcA, 2, true)
	check("forwarding the target", ssrcA, false)
	f.SetTarget(ssrcB)
	check("new target", ssrcB, true)
	send(ssrcA, 3, true)
	check("keyframe of the old source", ssrcB, true)
	send(ssrcB, 100, true)
	check("switched", ssrcB, false)
	f.SetTarget(0)
	check("paused", 0, false)
	f.SetTarget(ssrcB)
	check("resumed", ssrcB, true)
	send(ssrcB, 101, true)
	check("forwarding again", ssrcB, false)
}

// TestForwarderLongRun forwards more than two wraps of in-order packets,
// switching half-way, and checks that every one goes through with the next
// output sequence number: the switch point must not turn newer packets into
// "old" ones once the sequence numbers are 2^15 past it.
func TestForwarderLongRun(t *testing.T) {
	f := NewForwarder(90000, 60000, 0)
	f.SetTarget(ssrcA)
	now := time.Unix(1700000000, 0)
	want := uint16(60000)
	var lastTs uint32
	for i := range 150000 {
		ssrc, seq := ssrcA, uint16(30000+i)
		if i >= 70000 {
			ssrc, seq = ssrcB, uint16(5+i)
		}
		if i == 69000 {
			f.SetTarget(ssrcB)
		}
		h := rtp.Header{SSRC: ssrc, SequenceNumber: seq, Timestamp: uint32(i/3) * 3000}
		if !f.Forward(&h, i == 0 || i == 70000, now) {
			t.Fatalf("packet %d (seq %d) dropped", i, seq)
		}
		if h.SequenceNumber != want {
			t.Fatalf("packet %d: seq %d, want %d", i, h.SequenceNumber, want)
		}
		if i > 0 && tsNewer(lastTs, h.Timestamp) {
			t.Fatalf("packet %d: timestamp %d before %d", i, h.Timestamp, lastTs)
		}
		want++
		lastTs = h.Timestamp
		now = now.Add(11 * time.Millisecond)
	}
}

func TestForwardDoesNotAllocate(t *testing.T) {
	f := NewForwarder(90000, 1, 1)
	f.SetTarget(ssrcA)
	now := time.Unix(1700000000, 0)
	var seq uint16
	var i int
	allocs := testing.AllocsPerRun(1000, func() {
		i++
		// Alternate the target to exercise switches as well.
		if i%100 == 0 {
			if f.Current() == ssrcA {
				f.SetTarget(ssrcB)
			} else {
				f.SetTarget(ssrcA)
			}
		}
		for _, ssrc := range [...]uint32{ssrcA, ssrcB} {
			h := rtp.Header{SSRC: ssrc, SequenceNumber: seq, Timestamp: uint32(seq) * 3000}
			f.Forward(&h, i%30 == 0, now)
		}
		seq++
		now = now.Add(time.Millisecond)
	})
	if allocs != 0 {
		t.Fatalf("Forward allocates %v times per call", allocs)
	}
}
