package sipgw

import (
	"github.com/confab-media/confab/mixer"

	"fmt"

	"github.com/zaf/g711"
	"gopkg.in/hraban/opus.v2"
)

// The receive side of a call: RTP payloads in, 20 ms Opus frames with 48 kHz
// timestamps and levels out to PhoneLeg.Push.
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
//     then each 20 ms is upsampled to 48 kHz (resample.go), Opus-encoded and
//     pushed.

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
	base8  uint32 // timestamps map as ts48 = base48 + (ts8 − base8)·6
	base48 uint32

	up    *upsampler
	pcm48 [opusFrame]int16
	enc   *opus.Encoder
	out   [maxOpus]byte
	push  pushFunc
	stats *rxStats
}

func newG711Rx(c codec, push pushFunc, stats *rxStats, base48 uint32) (*g711Rx, error) {
	enc, err := newG711Encoder()
	if err != nil {
		return nil, err
	}
	r := &g711Rx{up: newUpsampler(g711Frame), enc: enc, push: push, stats: stats, base48: base48}
	r.decode = g711.DecodeUlawFrame
	if c == codecPCMA {
		r.decode = g711.DecodeAlawFrame
	}
	return r, nil
}

// G.711 → Opus encoder settings. The source is narrowband, so the encoder
// is capped to it (SILK at 8 kHz inside, no bits spent on empty bands).
// The frames only travel to the mixer in-process: no FEC.
const (
	g711OpusBitrate    = 20000
	g711OpusComplexity = 5
)

func newG711Encoder() (*opus.Encoder, error) {
	enc, err := opus.NewEncoder(48000, 1, opus.AppVoIP)
	if err != nil {
		return nil, fmt.Errorf("sipgw: opus encoder: %w", err)
	}
	for _, set := range []func() error{
		func() error { return enc.SetBitrate(g711OpusBitrate) },
		func() error { return enc.SetComplexity(g711OpusComplexity) },
		func() error { return enc.SetMaxBandwidth(opus.Narrowband) },
		func() error { return enc.SetDTX(false) },
	} {
		if err := set(); err != nil {
			return nil, fmt.Errorf("sipgw: opus encoder setting: %w", err)
		}
	}
	return enc, nil
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

// restart starts playout at ts, dropping anything pending. The timestamp
// mapping stays: a jump of the caller's timestamps is the same jump, ×6, on
// the 48 kHz side, as the mixer expects of a paused stream.
func (r *g711Rx) restart(ts uint32) {
	if !r.started {
		r.started, r.base8 = true, ts
	}
	clear(r.filled[:])
	r.next, r.high = ts, ts
	r.nFrame = 0
}

func (r *g711Rx) ts48(ts8 uint32) uint32 { return r.base48 + (ts8-r.base8)*upFactor }

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

// emit upsamples, measures, encodes and pushes the assembled frame.
func (r *g711Rx) emit() {
	r.up.process(r.frame[:], r.pcm48[:])
	level := levelFromPCM(r.pcm48[:])
	n, err := r.enc.Encode(r.pcm48[:], r.out[:])
	if err != nil {
		r.stats.invalid++
		return
	}
	r.push(r.out[:n], r.ts48(r.frameT), level)
}

// levelSilence is the RFC 6464 level of digital silence (−127 dBov).
const levelSilence int8 = 127

// levelFromPCM and opusSamples are the mixer's: the level a leg reports
// must be computed as the mixer computes it for WebRTC legs.
func levelFromPCM(pcm []int16) int8 { return mixer.LevelFromPCM(pcm) }
func opusSamples(p []byte) int      { return mixer.OpusSamples(p) }
