package mixer

import "time"

// Jitter buffer tuning that is not worth a Config field.
const (
	// idleFrames consecutive underruns mark a leg's stream as paused (DTX,
	// client mute, network stall): the buffer stops concealing and the next
	// packet restarts playout.
	idleFrames = 5
	// lateRestart consecutive late packets mean the sender's timestamps
	// jumped backwards: the buffer restarts on the latest.
	lateRestart = 5
	// patience is how many ticks a needed drop or insert waits for a quiet
	// frame; patienceUrgent when the delay is far (> 3 frames) off target.
	patience       = 50
	patienceUrgent = 5
	// slotBytes is the initial capacity of a slot's payload buffer; a 64 kbit/s
	// 20 ms packet with FEC fits. Larger packets grow it once.
	slotBytes = 320
)

type popKind uint8

const (
	popNone   popKind = iota // nothing to play: silence, no decoder call
	popPacket                // decode payload
	popFEC                   // frame lost: decode payload (the next packet) with FEC
	popPLC                   // frame lost or inserted: conceal
)

// jbOut is what the jitter buffer yields for one tick.
type jbOut struct {
	kind    popKind
	payload []byte // the frame's packet (popPacket) or the next one (popFEC)
	level   int8   // RFC 6464 level of this frame, or LevelUnknown
	ahead   int8   // loudest known level among the next two buffered frames
}

type jbState uint8

const (
	jbEmpty   jbState = iota // no packet yet
	jbWaiting                // first packet buffered, waiting out the target delay
	jbPlaying
)

type jbSlot struct {
	used    bool
	level   int8
	ts      uint32
	arrival time.Duration // since jitterBuffer.base
	buf     []byte
}

// jitterBuffer reorders one leg's packets by RTP timestamp and yields exactly
// one 20 ms frame per mixer tick (pop). Its playout delay adapts to a target
// of one frame plus four times the RFC 3550 interarrival jitter, clamped to
// [minDelay, maxDelay]; an EMA of the measured delay (tick time − arrival)
// steers it into [target − 10 ms, target + 20 ms] (a band wider than a frame,
// so one drop or insert never overshoots it) by dropping or inserting a
// frame, preferably a quiet one, which also absorbs sender clock drift. A missing frame is reported as
// popFEC when the next packet is buffered (its in-band FEC carries the lost
// frame) and popPLC otherwise.
//
// Not safe for concurrent use: Leg.mu guards it.
type jitterBuffer struct {
	minDelay, maxDelay time.Duration
	quiet              int8 // frames at or above this level (−dBov) are quiet
	stats              *counters

	slots []jbSlot // a power of two; frame k after anchor lives in slots[k&mask]
	mask  uint32

	state     jbState
	anchor    uint32        // a timestamp ≤ every buffered one, of a frame in slot 0
	playTS    uint32        // timestamp of the next frame to play
	highTS    uint32        // highest timestamp received since (re)start
	start     time.Duration // arrival of the packet playout (re)started on
	missing   int           // consecutive underruns
	lateRun   int           // consecutive late packets
	lastLevel int8          // level of the last frame played

	// Interarrival jitter, RFC 3550 §6.4.1 and the integer form of §A.8.
	// https://www.rfc-editor.org/rfc/rfc3550#section-6.4.1
	base        time.Time // arrival times are kept relative to it
	haveBase    bool
	haveTransit bool
	transit     uint32 // arrival − timestamp, in timestamp units
	jitter      uint32 // J × 16, in timestamp units

	delay     time.Duration // EMA of the playout delay of played packets
	haveDelay bool
	overdue   int // ticks a needed drop/insert has waited for a quiet frame
}

func newJitterBuffer(minDelay, maxDelay time.Duration, quiet int8, stats *counters) *jitterBuffer {
	n := 1
	for n < int(maxDelay/frameDur)+8 {
		n <<= 1
	}
	jb := &jitterBuffer{
		minDelay: minDelay, maxDelay: maxDelay, quiet: quiet, stats: stats,
		slots: make([]jbSlot, n), mask: uint32(n - 1), lastLevel: levelSilence,
	}
	for i := range jb.slots {
		jb.slots[i].buf = make([]byte, 0, slotBytes)
	}
	return jb
}

// target is the playout delay the buffer steers to.
func (jb *jitterBuffer) target() time.Duration {
	j := time.Duration(jb.jitter>>4) * time.Second / sampleRate
	return min(max(frameDur+4*j, jb.minDelay), jb.maxDelay)
}

func (jb *jitterBuffer) capacity() int32 { return int32(len(jb.slots)) * frameSamples }

func (jb *jitterBuffer) slot(ts uint32) *jbSlot {
	return &jb.slots[((ts-jb.anchor)/frameSamples)&jb.mask]
}

// buffered returns the slot holding ts, or nil.
func (jb *jitterBuffer) buffered(ts uint32) *jbSlot {
	if s := jb.slot(ts); s.used && s.ts == ts {
		return s
	}
	return nil
}

// push buffers one packet that arrived at at.
func (jb *jitterBuffer) push(p []byte, ts uint32, level int8, at time.Time) {
	if !jb.haveBase {
		jb.base, jb.haveBase = at, true
	}
	rel := at.Sub(jb.base)
	switch d := int32(ts - jb.playTS); {
	case jb.state == jbEmpty:
		jb.restart(ts, rel)
	case jb.missing >= idleFrames, d%frameSamples != 0, d >= jb.capacity():
		// The stream resumed after a pause, or its timestamps jumped.
		jb.stats.resyncs.Add(1)
		jb.restart(ts, rel)
	case d < 0:
		if jb.state == jbWaiting && int32(jb.highTS-ts) < jb.capacity() {
			jb.playTS = ts // reordered before playout started: start earlier
			break
		}
		jb.updateJitter(ts, rel)
		if jb.lateRun++; jb.lateRun < lateRestart {
			jb.stats.late.Add(1)
			return
		}
		jb.stats.resyncs.Add(1) // timestamps jumped backwards
		jb.restart(ts, rel)
	}
	jb.lateRun = 0
	jb.updateJitter(ts, rel)
	s := jb.slot(ts)
	if s.used && s.ts == ts {
		jb.stats.duplicate.Add(1)
		return
	}
	s.buf = append(s.buf[:0], p...)
	s.used, s.ts, s.level, s.arrival = true, ts, level, rel
	if int32(ts-jb.highTS) > 0 {
		jb.highTS = ts
	}
}

// restart empties the buffer and waits out the target delay before playing
// from ts.
func (jb *jitterBuffer) restart(ts uint32, rel time.Duration) {
	for i := range jb.slots {
		jb.slots[i].used = false
	}
	jb.state = jbWaiting
	// A ring behind ts, so that packets reordered before the first one still
	// index without wrapping.
	jb.anchor = ts - uint32(jb.capacity())
	jb.playTS, jb.highTS = ts, ts
	jb.start = rel
	jb.missing, jb.lateRun, jb.overdue = 0, 0, 0
	jb.haveDelay = false
	jb.haveTransit = false // a timestamp jump is not jitter
}

// updateJitter implements RFC 3550 §A.8: J += (|D(i−1,i)| − J)/16, where D is
// the change of transit time (arrival − timestamp) between two packets.
func (jb *jitterBuffer) updateJitter(ts uint32, rel time.Duration) {
	arrival := uint32(rel.Microseconds() * sampleRate / 1e6)
	transit := arrival - ts
	if jb.haveTransit {
		d := int64(int32(transit - jb.transit))
		if d < 0 {
			d = -d
		}
		// A change over a second is a timestamp discontinuity (a new RTP
		// session, a sender restart), not jitter: it would inflate J for
		// seconds.
		if d <= sampleRate {
			jb.jitter = uint32(int64(jb.jitter) + d - int64((jb.jitter+8)>>4))
		}
	}
	jb.transit, jb.haveTransit = transit, true
}

// pop yields the frame to play at now, copying its payload into dst.
func (jb *jitterBuffer) pop(now time.Time, dst []byte) jbOut {
	out := jbOut{kind: popNone, level: levelSilence, ahead: levelSilence}
	if jb.state == jbEmpty {
		return out
	}
	rel := now.Sub(jb.base)
	tgt := jb.target()
	if jb.state == jbWaiting {
		if rel-jb.start < tgt-frameDur/2 {
			out.ahead = jb.loudest(jb.playTS)
			return out
		}
		jb.state = jbPlaying
	}
	if jb.missing >= idleFrames {
		return out // paused; push restarts
	}
	if d := jb.playTS - jb.anchor; d >= 1<<30 {
		// Keep ts−anchor far from wrapping; a whole number of rings keeps
		// every slot index.
		ring := uint32(len(jb.slots)) * frameSamples
		jb.anchor += d / ring * ring
	}

	// Hard cap: never hold more than maxDelay (plus the frame playing now).
	for jb.span() > jb.maxDelay+frameDur {
		if s := jb.buffered(jb.playTS); s != nil {
			s.used = false
			jb.lastLevel = s.level
		}
		jb.playTS += frameSamples
		jb.delay -= frameDur
		jb.stats.dropped.Add(1)
	}
	cur := jb.buffered(jb.playTS)
	if jb.haveDelay {
		excess := jb.delay - tgt
		wait := patience
		if excess > 3*frameDur || excess < -3*frameDur {
			wait = patienceUrgent
		}
		switch {
		case cur != nil && excess > frameDur && jb.buffered(jb.playTS+frameSamples) != nil:
			if jb.overdue++; jb.quietLevel(cur.level) || jb.overdue > wait {
				cur = jb.drop(cur)
			}
		case excess < -frameDur/2:
			if jb.overdue++; jb.quietLevel(jb.lastLevel) || jb.overdue > wait {
				// Insert a concealed frame: later packets play a frame later.
				jb.overdue = 0
				jb.delay += frameDur
				jb.stats.inserted.Add(1)
				out.kind, out.level, out.ahead = popPLC, jb.lastLevel, jb.loudest(jb.playTS)
				return out
			}
		default:
			jb.overdue = 0
		}
	}

	if cur != nil {
		out.kind, out.level = popPacket, cur.level
		out.payload = append(dst[:0], cur.buf...)
		d := max(rel-cur.arrival, 0)
		if jb.haveDelay {
			jb.delay += (d - jb.delay) / 16
		} else {
			jb.delay, jb.haveDelay = d, true
		}
		cur.used = false
		jb.playTS += frameSamples
		jb.missing = 0
		jb.lastLevel = cur.level
		out.ahead = jb.loudest(jb.playTS)
		return out
	}
	if int32(jb.highTS-jb.playTS) < 0 {
		// Underrun: nothing newer arrived. Conceal without advancing, which
		// stretches the stream so a late packet still plays next tick.
		jb.stats.underrun.Add(1)
		if jb.missing++; jb.missing >= idleFrames {
			return out
		}
		out.kind, out.level = popPLC, jb.lastLevel
		return out
	}
	// Lost: newer packets are here, so this one is gone.
	jb.stats.lost.Add(1)
	jb.playTS += frameSamples
	jb.missing = 0
	if next := jb.buffered(jb.playTS); next != nil {
		out.kind, out.level = popFEC, next.level
		out.payload = append(dst[:0], next.buf...)
	} else {
		out.kind, out.level = popPLC, jb.lastLevel
	}
	out.ahead = jb.loudest(jb.playTS)
	return out
}

// drop discards cur, the frame at playTS, and returns the next one.
func (jb *jitterBuffer) drop(cur *jbSlot) *jbSlot {
	cur.used = false
	jb.lastLevel = cur.level
	jb.playTS += frameSamples
	jb.delay -= frameDur
	jb.overdue = 0
	jb.stats.dropped.Add(1)
	return jb.buffered(jb.playTS)
}

// skip advances playout by n frames the mixer did not mix (bounded catch-up).
func (jb *jitterBuffer) skip(n int) {
	if jb.state != jbPlaying {
		return
	}
	for i := 0; i < n && i < len(jb.slots); i++ {
		if s := jb.buffered(jb.playTS + uint32(i)*frameSamples); s != nil {
			s.used = false
		}
	}
	jb.playTS += uint32(n) * frameSamples
}

// span is the audio buffered from playTS to the newest packet, inclusive.
func (jb *jitterBuffer) span() time.Duration {
	return time.Duration(int32(jb.highTS-jb.playTS)+frameSamples) * time.Second / sampleRate
}

func (jb *jitterBuffer) quietLevel(level int8) bool { return level >= jb.quiet }

// loudest returns the loudest known level of the frames at ts and ts+960:
// the talker selection's look-ahead.
func (jb *jitterBuffer) loudest(ts uint32) int8 {
	l := levelSilence
	for i := uint32(0); i < 2; i++ {
		if s := jb.buffered(ts + i*frameSamples); s != nil && s.level >= 0 && s.level < l {
			l = s.level
		}
	}
	return l
}
