package mixer

import (
	"fmt"
	"time"

	"gopkg.in/hraban/opus.v2"
)

// encoderHold is how long a leg that stopped talking keeps its encoder slot
// (and so its mix-minus stream) before it moves to the shared stream. Each
// move hands the leg's decoder frames from a different encoder state; Opus
// copes, but fewer moves sound smoother.
const encoderHold = time.Second

// encoderSettings are the Opus settings of every output stream.
type encoderSettings struct {
	bitrate, complexity int
}

// newEncoder returns a 48 kHz mono VoIP encoder with in-band FEC on and DTX
// off (the default), so the stream is a continuous 50 packets/s.
func (e encoderSettings) newEncoder() (*opus.Encoder, error) {
	enc, err := opus.NewEncoder(sampleRate, 1, opus.AppVoIP)
	if err != nil {
		return nil, fmt.Errorf("mixer: opus encoder: %w", err)
	}
	for _, set := range []func() error{
		func() error { return enc.SetBitrate(e.bitrate) },
		func() error { return enc.SetComplexity(e.complexity) },
		func() error { return enc.SetInBandFEC(true) },
		func() error { return enc.SetPacketLossPerc(10) },
		func() error { return enc.SetDTX(false) },
	} {
		if err := set(); err != nil {
			return nil, fmt.Errorf("mixer: opus encoder setting: %w", err)
		}
	}
	return enc, nil
}

// stream is one encoded output: the shared full mix or one talker's
// mix-minus. It keeps its own encoder and limiter state across ticks.
type stream struct {
	enc *opus.Encoder
	lim limiter
	pcm []int16 // limited PCM of this tick
	out []byte  // encoded payload buffer
	n   int     // bytes of this tick's payload in out; 0 if none
}

func newStream(enc *opus.Encoder) stream {
	return stream{enc: enc, pcm: make([]int16, frameSamples), out: make([]byte, maxPayload)}
}

// encode limits mix into the stream's PCM and encodes it.
func (s *stream) encode(mix []int32) error {
	s.lim.process(mix, s.pcm)
	n, err := s.enc.Encode(s.pcm, s.out)
	if err != nil {
		s.n = 0
		return err
	}
	s.n = n
	return nil
}

func (s *stream) payload() []byte { return s.out[:s.n] }

// encSlot is a mix-minus stream owned by one talker.
type encSlot struct {
	stream             // Opus, made when an Opus leg first owns the slot
	g711   *g711Stream // G.711, made when a PCM leg first owns the slot
	owner  *Leg
	held   bool   // the owner stopped talking at tick since
	since  uint64 // tick the hold started
}

// encoderPool hands talkers mix-minus encoder slots: one per talker, not per
// leg, reused across talker changes. It has room for topN talkers plus topN
// recent ones on hold; encoders are created on first use.
type encoderPool struct {
	settings encoderSettings
	hold     uint64 // ticks
	slots    []encSlot
}

func newEncoderPool(settings encoderSettings, topN int) *encoderPool {
	return &encoderPool{
		settings: settings,
		hold:     uint64(encoderHold / frameDur),
		slots:    make([]encSlot, 2*topN),
	}
}

// release frees the slots of legs that left or stopped talking more than the
// hold time ago.
func (p *encoderPool) release(tick uint64) {
	for i := range p.slots {
		s := &p.slots[i]
		switch o := s.owner; {
		case o == nil:
		case o.removed.Load():
			p.free(s)
		case o.talker:
			s.held = false
		case !s.held:
			s.held, s.since = true, tick
		case tick-s.since > p.hold:
			p.free(s)
		}
	}
}

// assign gives l a slot: a free one, else the one held longest.
func (p *encoderPool) assign(l *Leg) error {
	best := -1
	for i := range p.slots {
		s := &p.slots[i]
		if s.owner == nil {
			best = i
			break
		}
		if s.held && (best < 0 || s.since < p.slots[best].since) {
			best = i
		}
	}
	if best < 0 {
		return fmt.Errorf("mixer: no encoder slot free")
	}
	s := &p.slots[best]
	switch {
	case l.codec == CodecOpus && s.enc == nil:
		enc, err := p.settings.newEncoder()
		if err != nil {
			return err
		}
		s.stream = newStream(enc)
	case l.codec != CodecOpus && s.g711 == nil:
		s.g711 = newG711Stream(l.codec)
	case l.codec != CodecOpus:
		s.g711.setCodec(l.codec)
	}
	if s.owner != nil {
		p.free(s)
	}
	s.owner, s.held = l, false
	l.slot = best
	return nil
}

func (p *encoderPool) free(s *encSlot) {
	s.owner.slot = -1
	s.owner, s.held = nil, false
}
