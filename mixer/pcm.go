package mixer

import (
	"encoding/binary"
	"fmt"

	"github.com/zaf/g711"
)

// Codec is what a leg pushes in and receives from its Sink.
type Codec uint8

const (
	// CodecOpus: Push 20 ms Opus packets with 48 kHz timestamps; the Sink
	// gets Opus payloads with 48 kHz timestamps (+960 per frame).
	CodecOpus Codec = iota
	// CodecPCMU: PushPCM 20 ms of 8 kHz linear PCM (160 samples) with the
	// caller's 8 kHz RTP timestamp; the Sink gets 160 bytes of G.711 μ-law
	// (ITU-T G.711) with 8 kHz timestamps (+160 per frame).
	CodecPCMU
	// CodecPCMA is CodecPCMU with G.711 A-law output.
	CodecPCMA
	codecs // the number of codecs
)

// PCMFrame is the number of samples of one PushPCM (20 ms at 8 kHz) and of
// bytes of one G.711 payload a PCM leg's Sink gets.
const PCMFrame = frameSamples / upFactor

func (c Codec) String() string {
	switch c {
	case CodecOpus:
		return "opus"
	case CodecPCMU:
		return "PCMU"
	case CodecPCMA:
		return "PCMA"
	}
	return fmt.Sprintf("codec(%d)", uint8(c))
}

// AddPCMLeg adds a G.711 leg (codec CodecPCMU or CodecPCMA): it pushes
// decoded PCM (PushPCM) and its sink gets G.711 of that codec. Listeners of
// one codec share ONE downsample and encode of the full mix per tick, as
// Opus listeners share one Opus encode; a PCM talker gets its own
// mix-minus. A PCM leg costs no Opus encode or decode at all.
func (m *Mixer) AddPCMLeg(id LegID, codec Codec, sink Sink) (*Leg, error) {
	if codec != CodecPCMU && codec != CodecPCMA {
		return nil, fmt.Errorf("mixer: AddPCMLeg %q: codec %v is not G.711", id, codec)
	}
	return m.addLeg(id, codec, sink)
}

// PushPCM buffers 20 ms of a PCM leg's 8 kHz linear PCM (PCMFrame samples)
// with its 8 kHz RTP timestamp and RFC 6464 level (LevelUnknown: measured
// here). It copies pcm, never blocks, and does not allocate in steady
// state. A frame of another length yields ErrInvalidFrame, an Opus leg
// ErrWrongCodec, a removed leg ErrLegRemoved.
func (l *Leg) PushPCM(pcm []int16, ts uint32, level int8) error {
	if l.removed.Load() {
		return ErrLegRemoved
	}
	if l.codec == CodecOpus {
		return ErrWrongCodec
	}
	if len(pcm) != PCMFrame {
		l.m.stats.invalid.Add(1)
		return ErrInvalidFrame
	}
	if level < 0 {
		level = LevelFromPCM(pcm)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	for i, v := range pcm {
		binary.LittleEndian.PutUint16(l.pcmIn[2*i:], uint16(v))
	}
	// 8 kHz timestamps map to the mix's 48 kHz ones ×6; modulo 2³² the
	// mapping stays continuous across the 8 kHz wrap (6·2³² ≡ 0).
	l.jb.push(l.pcmIn[:], ts*upFactor, level, l.m.clock.Now())
	return nil
}

// decodePCM turns a PCM leg's frame of this tick into 48 kHz audio in
// l.pcm and reports whether it holds audio. A missing frame is concealed
// by repeating the previous one 6 dB quieter, once per tick, only right
// after audio (the transport conceals real loss itself). Legs are upsampled
// only when mixed or measured: a leg not upsampled last tick starts from a
// silent filter history, not from the stale audio of its last talk spurt.
func (m *Mixer) decodePCM(l *Leg) bool {
	if l.decoded {
		return true
	}
	fresh := l.lastDec+1 == m.tick
	switch l.in.kind {
	case popPacket:
		if !fresh {
			l.up.reset()
		}
		for i := range l.pcm8 {
			l.pcm8[i] = int16(binary.LittleEndian.Uint16(l.in.payload[2*i:]))
		}
		l.up.process(l.pcm8[:], l.pcm)
		m.stats.decoded.Add(1)
	case popFEC, popPLC:
		if !fresh {
			return false
		}
		for i, v := range l.pcm {
			l.pcm[i] = v / 2
		}
		m.stats.plc.Add(1)
	default:
		return false
	}
	l.lastDec = m.tick
	l.decoded = true
	return true
}

// g711Stream is one G.711 output: the shared full mix of a codec or one
// PCM talker's mix-minus. It keeps its limiter and decimator state.
type g711Stream struct {
	codec  Codec
	lim    limiter
	pcm48  []int16
	down   *downsampler
	pcm8   [PCMFrame]int16
	out    [PCMFrame]byte
	n      int
	tick   uint64 // the last tick encoded
	encode func(int16) uint8
}

func newG711Stream(c Codec) *g711Stream {
	s := &g711Stream{pcm48: make([]int16, frameSamples), down: newDownsampler(frameSamples)}
	s.setCodec(c)
	return s
}

func (s *g711Stream) setCodec(c Codec) {
	s.codec, s.encode = c, g711.EncodeUlawFrame
	if c == CodecPCMA {
		s.encode = g711.EncodeAlawFrame
	}
}

// encodeMix limits mix, decimates it to 8 kHz and encodes it as this
// tick's payload. A stream idle last tick (no listener of its codec, a free
// slot) drops its decimator history rather than blend stale audio in.
func (s *g711Stream) encodeMix(mix []int32, tick uint64) {
	if s.tick+1 != tick {
		s.down.reset()
	}
	s.tick = tick
	s.lim.process(mix, s.pcm48)
	s.down.process(s.pcm48, s.pcm8[:])
	for i, v := range s.pcm8 {
		s.out[i] = s.encode(v)
	}
	s.n = PCMFrame
}

func (s *g711Stream) payload() []byte { return s.out[:s.n] }

// sharedG711 returns the shared stream of codec c, made on first use.
func (m *Mixer) sharedG711(c Codec) *g711Stream {
	if m.g711[c] == nil {
		m.g711[c] = newG711Stream(c)
	}
	return m.g711[c]
}

// pcmLegState is what a PCM leg needs besides an Opus leg's fields.
type pcmLegState struct {
	up    *upsampler
	pcmIn [2 * PCMFrame]byte // PushPCM's little-endian copy, under Leg.mu
	pcm8  [PCMFrame]int16    // this tick's frame, mixing step only
}
