package mixer

import (
	"sync"
	"sync/atomic"
	"time"

	"gopkg.in/hraban/opus.v2"
)

// LegID names a leg within its Mixer (an attendee ID, a call ID, ...).
type LegID string

// Sink receives a leg's output, one payload per 20 ms tick, and its
// timestamp, which starts at 0 and advances by one frame per tick, also
// across skipped frames, so the transport can stamp its own SSRC, sequence
// number and timestamp offset. An Opus leg (AddLeg) gets an Opus payload and
// a 48 kHz timestamp (+960 per frame); a PCM leg (AddPCMLeg) gets PCMFrame
// (160) bytes of G.711 in its codec and an 8 kHz timestamp (+160 per frame),
// unrelated to the timestamps it pushes. The sink runs on the mixing goroutine: it must be
// quick, must not retain payload after it returns, and must not call
// RemoveLeg or Close (that would deadlock); the same bytes go to other legs.
type Sink func(payload []byte, ts uint32)

// Leg is one participant's audio in a Mixer: its input (Push) and its output
// (the Sink given to AddLeg).
type Leg struct {
	id     LegID
	m      *Mixer
	codec  Codec
	tsStep uint32 // the Sink's timestamp step: 960 (Opus) or 160 (G.711)

	muted   atomic.Bool
	removed atomic.Bool
	level   atomic.Int32 // smoothed RFC 6464 level for Levels
	talking atomic.Bool  // in the mix this tick, for Levels

	mu sync.Mutex // guards jb
	jb *jitterBuffer

	sinkMu sync.Mutex // guards sink; nil once removed
	sink   Sink

	// Mixing-step state, guarded by Mixer.stepMu.
	dec       *opus.Decoder
	in        jbOut   // this tick's frame
	pkt       []byte  // this tick's payload (in.payload points here)
	pcm       []int16 // this tick's decoded audio when decoded is set
	decoded   bool
	mixed     bool   // pcm is part of this tick's mix
	lastDec   uint64 // tick of the last decoder call, to avoid stale concealment
	smooth    int32  // smoothed loudness (127 − level) × 16
	talker    bool
	talkTicks int // ticks since it became a talker
	quiet     int // consecutive ticks below the exit threshold
	inaudible int // consecutive frames at or below inaudibleLevel (capped)
	slot      int // encoder slot index, or -1
	outTS     uint32

	pcmLegState // PCM legs only (pcm.go)
}

// ID returns the leg's ID.
func (l *Leg) ID() LegID { return l.id }

// Push buffers one received packet. It copies f.Payload, does not allocate in
// steady state and is safe to call from the leg's read goroutine while the
// mixer runs. Late and duplicate packets are counted in Stats and dropped
// silently; a payload that is not one 20 ms Opus packet yields
// ErrInvalidFrame, a removed leg ErrLegRemoved.
func (l *Leg) Push(f Frame) error {
	if l.removed.Load() {
		return ErrLegRemoved
	}
	if l.codec != CodecOpus {
		return ErrWrongCodec
	}
	if len(f.Payload) > maxPayload || opusSamples(f.Payload) != frameSamples {
		l.m.stats.invalid.Add(1)
		return ErrInvalidFrame
	}
	at := f.Arrival
	if at.IsZero() {
		at = l.m.clock.Now()
	}
	level := f.Level
	if level < 0 {
		level = LevelUnknown
	}
	l.push(f.Payload, f.Timestamp, level, at)
	return nil
}

// push buffers a frame under l.mu. The unlock is deferred, as in pull and
// deliver: a contained panic (internal/guard) must not leave a lock held
// that the mixer or a reader would then wait on forever.
func (l *Leg) push(payload []byte, ts uint32, level int8, at time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.jb.push(payload, ts, level, at)
}

// SetMuted mutes or unmutes the leg: a muted leg is never a talker (its
// packets are not decoded) but still receives the mix.
func (l *Leg) SetMuted(muted bool) { l.muted.Store(muted) }

// Muted reports whether the leg is muted.
func (l *Leg) Muted() bool { return l.muted.Load() }

// skipFrames drops n frames from the jitter buffer.
func (l *Leg) skipFrames(n int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.jb.skip(n)
}

// pull takes this tick's frame out of the jitter buffer.
func (l *Leg) pull(now time.Time) {
	l.decoded, l.mixed = false, false
	l.mu.Lock()
	defer l.mu.Unlock()
	l.in = l.jb.pop(now, l.pkt[:0])
}

// deliver hands the leg its payload for this tick and advances its timestamp.
func (l *Leg) deliver(payload []byte) {
	l.outTS += l.tsStep
	l.sinkMu.Lock()
	defer l.sinkMu.Unlock()
	if l.sink != nil && len(payload) > 0 {
		l.sink(payload, l.outTS-l.tsStep)
	}
}

// Codec is the leg's codec (AddLeg: CodecOpus; AddPCMLeg: G.711).
func (l *Leg) Codec() Codec { return l.codec }
