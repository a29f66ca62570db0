package mixer

import "time"

// silentReuse is how many consecutive silent ticks the shared stream encodes
// before it re-sends its last (silent) payload instead of encoding again.
const silentReuse = 3

// A talker whose frames have been at or below inaudibleLevel (−80 dBov,
// some 60 dB under speech) for more than inaudibleTicks is left out of the
// mix: what it would add cannot be heard, and its mix-minus would be the
// full mix, so it hears the shared stream and costs no encode. The run
// keeps a talker pausing between words on its own stream: every move
// between encoders hands its decoder another encoder's state.
const (
	inaudibleLevel int8 = 80
	inaudibleTicks int  = 10 // 200 ms
)

// Tick mixes one 20 ms frame as of now and hands it to every leg. Start calls
// it every 20 ms of the Clock; call it yourself only on a Mixer you did not
// Start (tests, offline rendering), with now advancing by 20 ms per call. It
// does not allocate in steady state.
func (m *Mixer) Tick(now time.Time) {
	m.stepMu.Lock()
	defer m.stepMu.Unlock()
	if m.stopped.Load() {
		return
	}
	m.tick++
	m.stats.ticks.Add(1)
	legs := m.snapshot()

	// 1. One frame per leg, and its level, without decoding unless the
	// transport gave no level.
	for _, l := range legs {
		l.pull(now)
		m.measure(l, now)
	}

	// 2. Talkers, and an encoder slot for each.
	m.talkers.update(legs)
	m.pool.release(m.tick)
	for i := len(m.talkers.cur) - 1; i >= 0; i-- {
		if l := m.talkers.cur[i]; l.slot < 0 {
			if err := m.pool.assign(l); err != nil {
				m.logErr(now, "mixer: no encoder for talker", l, err)
				m.talkers.drop(l)
			}
		}
	}

	// 3. Decode the talkers only and sum them.
	clear(m.mix)
	mixed := 0
	for _, l := range m.talkers.cur {
		if l.inaudible > inaudibleTicks || !m.decode(l, now) {
			continue
		}
		for i, v := range l.pcm {
			m.mix[i] += int32(v)
		}
		l.mixed = true
		mixed++
	}

	// 4. Encode each slot's mix-minus, and the full mix once per codec for
	// all others. A slot whose owner is not in this tick's mix (it went
	// quiet, or its frame was lost) would encode the full mix again: its
	// owner gets the shared stream instead.
	var shared [codecs]bool
	for _, l := range legs {
		if l.slot < 0 || !l.mixed {
			shared[l.codec] = true
		}
	}
	if shared[CodecOpus] {
		m.encodeShared(mixed == 0, now)
	}
	for c := CodecPCMU; c < codecs; c++ {
		if shared[c] {
			m.sharedG711(c).encodeMix(m.mix, m.tick)
		}
	}
	for i := range m.pool.slots {
		s := &m.pool.slots[i]
		if s.owner == nil {
			continue
		}
		if !s.owner.mixed {
			continue // delivered the shared stream
		}
		for j, v := range s.owner.pcm {
			m.minus[j] = m.mix[j] - int32(v)
		}
		if s.owner.codec == CodecOpus {
			m.encode(&s.stream, m.minus, now)
		} else {
			s.g711.encodeMix(m.minus, m.tick)
		}
	}

	// 5. Deliver.
	m.deliver(legs)
}

// deliver hands every leg its payload of this tick, in one output batch.
func (m *Mixer) deliver(legs []*Leg) {
	if m.output != nil {
		m.output.Begin()
		defer m.output.End()
	}
	for _, l := range legs {
		l.talking.Store(l.talker)
		switch {
		case l.slot >= 0 && !l.mixed && l.codec == CodecOpus:
			l.deliver(m.shared.payload())
		case l.slot >= 0 && !l.mixed:
			l.deliver(m.g711[l.codec].payload())
		case l.slot >= 0 && l.codec == CodecOpus:
			l.deliver(m.pool.slots[l.slot].payload())
		case l.slot >= 0:
			l.deliver(m.pool.slots[l.slot].g711.payload())
		case l.codec == CodecOpus:
			l.deliver(m.shared.payload())
		default:
			l.deliver(m.g711[l.codec].payload())
		}
	}
}

// measure updates l's smoothed level from this tick's frame and the
// look-ahead of its jitter buffer.
func (m *Mixer) measure(l *Leg, now time.Time) {
	level, ahead := l.in.level, l.in.ahead
	switch {
	case l.muted.Load():
		level, ahead = levelSilence, levelSilence
	case l.in.kind == popNone: // waiting for the target delay, or paused
		level = levelSilence
	case level == LevelUnknown:
		level = levelSilence
		if m.decode(l, now) {
			level = LevelFromPCM(l.pcm)
		}
	}
	if level >= inaudibleLevel {
		l.inaudible = min(l.inaudible+1, inaudibleTicks+1)
	} else {
		l.inaudible = 0
	}
	l.smooth = smoothLoudness(l.smooth, min(level, ahead))
	l.level.Store(int32(levelOf(l.smooth)))
}

// decode decodes l's frame of this tick into l.pcm, once, and reports
// whether l.pcm holds audio. Concealment (FEC, PLC) needs a decoder that
// decoded the previous frame; a stale one would replay old audio.
func (m *Mixer) decode(l *Leg, now time.Time) bool {
	if l.codec != CodecOpus {
		return m.decodePCM(l)
	}
	if l.decoded {
		return true
	}
	fresh := l.lastDec+1 == m.tick
	var err error
	switch l.in.kind {
	case popPacket:
		var n int
		n, err = l.dec.Decode(l.in.payload, l.pcm)
		if err == nil && n < frameSamples {
			clear(l.pcm[n:])
		}
		m.stats.decoded.Add(1)
	case popFEC:
		if !fresh {
			return false
		}
		err = l.dec.DecodeFEC(l.in.payload, l.pcm)
		m.stats.fec.Add(1)
	case popPLC:
		if !fresh {
			return false
		}
		err = l.dec.DecodePLC(l.pcm)
		m.stats.plc.Add(1)
	default:
		return false
	}
	if err != nil {
		m.logErr(now, "mixer: opus decode failed", l, err)
		return false
	}
	l.lastDec = m.tick
	l.decoded = true
	return true
}

// encodeShared encodes the full mix for every leg without a slot; after a
// few silent ticks it re-sends the last silent payload instead.
func (m *Mixer) encodeShared(silent bool, now time.Time) {
	if !silent || m.sharedTick+1 != m.tick {
		m.silent = 0 // the cached payload may be audio, or stale
	}
	m.sharedTick = m.tick
	if silent {
		if m.silent++; m.silent > silentReuse && m.shared.n > 0 {
			return
		}
	}
	m.encode(&m.shared, m.mix, now)
}

func (m *Mixer) encode(s *stream, mix []int32, now time.Time) {
	m.stats.encoded.Add(1)
	if err := s.encode(mix); err != nil {
		m.logErr(now, "mixer: opus encode failed", nil, err)
	}
}

// skip advances every leg by n frames that a late tick will not mix.
func (m *Mixer) skip(n int) {
	m.stepMu.Lock()
	defer m.stepMu.Unlock()
	for _, l := range m.snapshot() {
		l.skipFrames(n)
		l.outTS += uint32(n) * l.tsStep
	}
	m.stats.skipped.Add(uint64(n))
	if ok, suppressed := m.errLog.allow(m.clock.Now()); ok {
		m.log.Warn("mixer: tick late, frames skipped", "frames", n, "suppressed", suppressed)
	}
}

// logErr logs a hot-path error, at most once per errLog period.
func (m *Mixer) logErr(now time.Time, msg string, l *Leg, err error) {
	ok, suppressed := m.errLog.allow(now)
	if !ok {
		return
	}
	var leg LegID
	if l != nil {
		leg = l.id
	}
	m.log.Warn(msg, "leg", leg, "err", err, "suppressed", suppressed)
}
