package sipgw

import (
	"github.com/confab-media/confab/mixer"

	"fmt"

	"github.com/zaf/g711"
	"gopkg.in/hraban/opus.v2"
)

// The receive side of a call: RTP payloads in; out to the PhoneLeg, 20 ms
// Opus frames with 48 kHz timestamps and levels (Push), or 20 ms of decoded
// G.711 PCM with 8 kHz timestamps and levels (PushPCM).
//
// Jitter buffering is driven by arrival, not by a clock of its own: the
// meeting mixer already plays every leg out of an adaptive jitter buffer
// keyed by RTP timestamp, on its 20 ms tick, with Opus FEC and PLC. A second
// clocked buffer here would add its delay on top (40–60 ms) for nothing. So:
//
//   - Opus callers: every packet is pushed as it arrives, untouched. A small
//     decoder at 16 kHz follows the stream in timestamp order only to measure
//     the level (RFC 6464, from decoded PCM), running FEC/PLC over gaps so
//     its state stays continuous; a reordered packet is pushed with the last
//     level.
//   - G.711 callers: packets are decoded into a ring indexed by RTP
//     timestamp, which reorders them and releases audio in order as soon as
//     it is complete. A gap is declared lost once audio 40 ms past it has
//     arrived (one reordered packet is tolerated) and concealed (plc.go);
//     then each 20 ms is pushed as PCM (the mixer upsamples it: no Opus
//     encode per caller).

const (
	opusFrame    = 960 // 20 ms at 48 kHz
	maxOpus      = 1275
	levelRate    = 16000 // level decoder rate
	levelFrame   = levelRate / 50
	g711Frame    = 160 // 20 ms at 8 kHz
	rxRingLen    = 2048
	rxRingMask   = rxRingLen - 1
	rxHold       = 320 // samples of newer audio that declare a gap lost
	rxMaxAhead   = rxRingLen - 2*plcUnit
	maxConcealed = 3 // FEC/PLC frames run by the level decoder over one gap
)

// pushFunc receives one 20 ms Opus frame, its 48 kHz timestamp and level.
type pushFunc func(payload []byte, ts uint32, level int8)

// rxStats counts receive-side events; updated by the media goroutine only,
// read through atomics by the metrics flush (see media.stats).
type rxStats struct {
	late, lostUnits, invalid uint64
}

// opusRx handles an Opus caller.
type opusRx struct {
	dec   *opus.Decoder
	pcm   []int16
	have  bool
	next  uint32 // timestamp the level decoder expects next
	level int8
	push  pushFunc
	stats *rxStats
}

func newOpusRx(push pushFunc, stats *rxStats) (*opusRx, error) {
	dec, err := opus.NewDecoder(levelRate, 1)
	if err != nil {
		return nil, fmt.Errorf("sipgw: opus decoder: %w", err)
	}
	return &opusRx{dec: dec, pcm: make([]int16, levelFrame), level: levelSilence, push: push, stats: stats}, nil
}

func (r *opusRx) packet(p []byte, ts uint32) {
	if len(p) > maxOpus || opusSamples(p) != opusFrame {
		r.stats.invalid++ // the mixer takes 20 ms frames only (we answer ptime 20)
		return
	}
	pcm := r.pcm[:levelFrame:levelFrame] // FEC and PLC size their output by cap
	d := int32(ts - r.next)
	switch {
	case !r.have || d%opusFrame != 0 || d > maxConcealed*opusFrame*4 || d < -50*opusFrame:
		// First packet, or the timestamps jumped: restart the level decoder.
		r.have = true
		r.decode(p, pcm)
	case d == 0:
		r.decode(p, pcm)
	case d > 0:
		// Frames before this one are missing: keep the decoder continuous
		// (PLC, then FEC from this packet for the frame just before it).
		lost := int(d/opusFrame) - 1
		for range min(lost, maxConcealed) - 1 {
			_ = r.dec.DecodePLC(pcm)
		}
		_ = r.dec.DecodeFEC(p, pcm)
		r.decode(p, pcm)
	default:
		// Reordered: the decoder has moved on; the mixer's buffer still
		// places the packet by its timestamp.
		r.stats.late++
		r.push(p, ts, r.level)
		return
	}
	r.next = ts + opusFrame
	r.push(p, ts, r.level)
}

func (r *opusRx) decode(p []byte, pcm []int16) {
	n, err := r.dec.Decode(p, pcm)
	if err != nil || n == 0 {
		r.stats.invalid++
		return
	}
	r.level = levelFromPCM(pcm[:n])
}

// g711Rx handles a PCMU or PCMA caller.
type g711Rx struct {
	decode  func(uint8) int16
	ring    [rxRingLen]int16
	filled  [rxRingLen]bool
	started bool
	next    uint32 // 8 kHz timestamp of the next 10 ms unit to release
	high    uint32 // end (exclusive) of the newest audio received

	plc    concealer
	frame  [g711Frame]int16 // output being assembled, from the concealer
	nFrame int
	frameT uint32 // 8 kHz timestamp of the frame's first unit

	push  pcmPushFunc
	stats *rxStats
}

// pcmPushFunc receives 20 ms of a G.711 caller's decoded 8 kHz PCM, its
// 8 kHz timestamp and level.
type pcmPushFunc func(pcm []int16, ts uint32, level int8)

func newG711Rx(c codec, push pcmPushFunc, stats *rxStats) *g711Rx {
	r := &g711Rx{push: push, stats: stats}
	r.decode = g711.DecodeUlawFrame
	if c == codecPCMA {
		r.decode = g711.DecodeAlawFrame
	}
	return r
}

// packet handles one G.711 payload (any ptime) with its RTP timestamp;
// marker flags the start of a talk spurt.
func (r *g711Rx) packet(p []byte, ts uint32, marker bool) {
	n := len(p)
	if n == 0 || n > rxMaxAhead/2 {
		r.stats.invalid++
		return
	}
	if !r.started {
		r.restart(ts)
	}
	d := int32(ts - r.next)
	switch {
	case d < -rxRingLen || d+int32(n) > rxMaxAhead, marker && d > 0 && r.drained():
		// A timestamp jump, or a new talk spurt after silence suppression:
		// the gap is not loss.
		r.restart(ts)
		d = 0
	case d+int32(n) <= 0:
		r.stats.late++
		return
	}
	for i, b := range p {
		if int32(i)+d < 0 {
			continue // already released
		}
		k := (ts + uint32(i)) & rxRingMask
		r.ring[k], r.filled[k] = r.decode(b), true
	}
	if end := ts + uint32(n); int32(end-r.high) > 0 {
		r.high = end
	}
	r.release()
}

// drained reports whether everything received has been released.
func (r *g711Rx) drained() bool { return int32(r.high-r.next) <= 0 }

// restart starts playout at ts, dropping anything pending. The caller's
// timestamps go to the mixer as they are: a jump is a jump there too, as
// the mixer expects of a paused stream.
func (r *g711Rx) restart(ts uint32) {
	r.started = true
	clear(r.filled[:])
	r.next, r.high = ts, ts
	r.nFrame = 0
}

// release passes complete units, and lost ones once newer audio is far
// enough ahead, through the concealer, and emits every complete 20 ms.
func (r *g711Rx) release() {
	var unit [plcUnit]int16
	for {
		u := r.next
		full := true
		for i := range uint32(plcUnit) {
			if !r.filled[(u+i)&rxRingMask] {
				full = false
				break
			}
		}
		if !full && int32(r.high-(u+plcUnit)) < rxHold {
			return
		}
		if r.nFrame == 0 {
			r.frameT = u
		}
		out := r.frame[r.nFrame : r.nFrame+plcUnit]
		if full {
			for i := range uint32(plcUnit) {
				unit[i] = r.ring[(u+i)&rxRingMask]
			}
			r.plc.good(unit[:], out)
		} else {
			r.stats.lostUnits++
			r.plc.lost(out)
		}
		for i := range uint32(plcUnit) {
			r.filled[(u+i)&rxRingMask] = false
		}
		r.next += plcUnit
		if r.nFrame += plcUnit; r.nFrame == g711Frame {
			r.nFrame = 0
			r.emit()
		}
	}
}

// emit measures and pushes the assembled 20 ms of PCM: the mixer
// upsamples it, and encodes nothing per caller.
func (r *g711Rx) emit() {
	r.push(r.frame[:], r.frameT, levelFromPCM(r.frame[:]))
}

// levelSilence is the RFC 6464 level of digital silence (−127 dBov).
const levelSilence int8 = 127

// levelFromPCM and opusSamples are the mixer's: the level a leg reports
// must be computed as the mixer computes it for WebRTC legs.
func levelFromPCM(pcm []int16) int8 { return mixer.LevelFromPCM(pcm) }
func opusSamples(p []byte) int      { return mixer.OpusSamples(p) }
