package attendee

import (
	"sync"
	"time"

	"github.com/confab-media/confab/internal/dsp"
)

// Bursts makes the attendee talk in bursts: its tone plays for Length at
// the start of every Period (offset by Offset), silence otherwise, and the
// moment each burst's first frame is sent is recorded ([Attendee.Bursts]),
// so that a listener detecting the burst's onset ([Config.Listen]) measures
// mouth-to-ear latency through the mixer. Frequencies that are multiples
// of 50 Hz fit a 20 ms frame exactly and do not leak into each other's
// detectors.
type Bursts struct {
	Period, Length, Offset time.Duration
}

func (b Bursts) on() bool { return b.Period > 0 && b.Length > 0 }

// Onset detection thresholds on the Goertzel power of one 20 ms frame, in
// dB of int16²: the attendee's tone (amplitude 8000) reads about 75 dB.
const (
	onsetOnDB   = 50 // a frame this loud at the frequency starts an onset…
	onsetOffDB  = 35 // …once onsetQuiet frames in a row were below this
	onsetQuiet  = 2  // frames of quiet that arm the detector
	eventsKept  = 4096
	burstRampMs = 5 // fade in and out so a burst's edges splatter little into other bins
)

// events keeps the last eventsKept times, safe for concurrent use.
type events struct {
	mu  sync.Mutex
	buf []time.Time
}

func (e *events) add(t time.Time) {
	e.mu.Lock()
	if len(e.buf) == eventsKept {
		copy(e.buf, e.buf[1:])
		e.buf = e.buf[:eventsKept-1]
	}
	e.buf = append(e.buf, t)
	e.mu.Unlock()
}

func (e *events) snapshot() []time.Time {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]time.Time(nil), e.buf...)
}

// OnsetDetector finds tone onsets at one frequency in decoded audio of
// any sample rate, in 20 ms frames (the attendee's at 48 kHz; bench/phone
// uses it at 8 kHz). Its thresholds are on Goertzel power, which does not
// depend on the frame's length. It has hysteresis: onsetQuiet quiet frames
// arm it, and once armed only an onset disarms it, so a frame between the
// thresholds — another talker's burst edge splattering into this bin just
// before this tone starts, as a mixer that shifted two talkers together
// produces — does not hide the onset. And an onset must last: a loud
// frame counts (at its arrival) only if the next frame is loud too, so a
// single frame of another burst's splatter is not taken for this tone
// (bursts last many frames). Frame is called by one goroutine; Onsets is
// safe for concurrent use.
type OnsetDetector struct {
	hz, rate float64
	quiet    int       // consecutive quiet frames so far
	armed    bool      // onsetQuiet quiet frames seen since the last onset
	pending  time.Time // an armed loud frame's arrival, until the next frame confirms it
	found    events
}

// NewOnsetDetector detects onsets of hz in audio sampled at rate.
func NewOnsetDetector(hz, rate float64) *OnsetDetector {
	return &OnsetDetector{hz: hz, rate: rate}
}

// Hz is the frequency the detector listens for.
func (d *OnsetDetector) Hz() float64 { return d.hz }

// Frame looks at one decoded frame that arrived at now.
func (d *OnsetDetector) Frame(pcm []int16, now time.Time) {
	p := DB(dsp.Goertzel(pcm, d.hz, d.rate))
	if !d.pending.IsZero() {
		at := d.pending
		d.pending = time.Time{}
		if p >= onsetOnDB { // the tone goes on: an onset, at its first frame
			d.found.add(at)
			d.armed, d.quiet = false, 0
			return
		}
		// One loud frame alone: splatter, not this tone; still armed.
	}
	switch {
	case p >= onsetOnDB:
		if d.armed {
			d.pending = now
		}
		d.quiet = 0
	case p < onsetOffDB:
		d.quiet++
		d.armed = d.armed || d.quiet >= onsetQuiet
	default:
		d.quiet = 0 // in between: neither quiet nor an onset
	}
}

// Onsets returns when the onsets were found (the last 4096).
func (d *OnsetDetector) Onsets() []time.Time { return d.found.snapshot() }

// gain is Gain at the attendee's 48 kHz.
func (b Bursts) gain(frame, i int) (g float64, burstStart bool) { return b.Gain(frame, i, SampleRate) }

// Gain is the tone's gain for sample i of 20 ms frame number frame of a
// sender sampling at rate: 0 outside bursts, a short ramp up at a burst's
// start and down at its end, 1 otherwise (always 1 without bursts);
// burstStart marks a burst's first sample.
func (b Bursts) Gain(frame, i int, rate float64) (g float64, burstStart bool) {
	if !b.on() {
		return 1, false
	}
	t := time.Duration(frame)*frameDur + time.Duration(float64(i)*float64(time.Second)/rate) - b.Offset
	if t < 0 {
		return 0, false
	}
	in := t % b.Period
	if in >= b.Length {
		return 0, false
	}
	ramp := min(time.Duration(burstRampMs)*time.Millisecond, b.Length/2)
	switch {
	case in < ramp:
		g = float64(in) / float64(ramp)
	case b.Length-in < ramp:
		g = float64(b.Length-in) / float64(ramp)
	default:
		g = 1
	}
	return g, in < frameDur && i == 0
}

// Bursts returns when each burst's first frame was sent (the last 4096).
func (a *Attendee) Bursts() []time.Time { return a.bursts.snapshot() }

// Onsets returns when the received audio started a tone at hz (one of
// Config.Listen), the last 4096.
func (a *Attendee) Onsets(hz float64) []time.Time {
	for _, d := range a.detectors {
		if d.hz == hz {
			return d.Onsets()
		}
	}
	return nil
}

// JoinTimes returns when the signaling WebSocket opened and when the first
// mixed audio packet arrived (zero until it does).
func (a *Attendee) JoinTimes() (opened, firstAudio time.Time) {
	a.rxMu.Lock()
	defer a.rxMu.Unlock()
	return a.opened, a.firstAudio
}

// MouthToEar matches a listener's onsets of a talker's tone against the
// talker's burst times: each onset counts against the latest burst sent
// before it, if that burst is less than maxLag old. It returns the
// latencies found.
func MouthToEar(bursts, onsets []time.Time, maxLag time.Duration) []time.Duration {
	var out []time.Duration
	j := 0
	for _, on := range onsets {
		for j+1 < len(bursts) && !bursts[j+1].After(on) {
			j++
		}
		if j >= len(bursts) || bursts[j].After(on) {
			continue
		}
		if lag := on.Sub(bursts[j]); lag <= maxLag {
			out = append(out, lag)
		}
	}
	return out
}

// ToneLog is what a synthetic talker-listener keeps for mouth-to-ear
// measurement: when each of its tone bursts started, and the onsets of
// the tones it listens for in what it receives. The phone caller
// (bench/phone) and the Janus peer (bench/janus) share it; it is safe for
// concurrent use, Frame by one receiving goroutine.
type ToneLog struct {
	bursts    events
	detectors []*OnsetDetector
}

// NewToneLog listens for the tones listen in audio sampled at rate.
func NewToneLog(listen []float64, rate float64) *ToneLog {
	l := &ToneLog{}
	for _, hz := range listen {
		l.detectors = append(l.detectors, NewOnsetDetector(hz, rate))
	}
	return l
}

// BurstStarted records that a burst's first frame was sent at t.
func (l *ToneLog) BurstStarted(t time.Time) { l.bursts.add(t) }

// Bursts returns when each burst's first frame was sent (the last 4096).
func (l *ToneLog) Bursts() []time.Time { return l.bursts.snapshot() }

// Listening reports whether any tone is listened for (else received audio
// need not be decoded).
func (l *ToneLog) Listening() bool { return len(l.detectors) > 0 }

// Frame passes one decoded frame that arrived at now to every detector.
func (l *ToneLog) Frame(pcm []int16, now time.Time) {
	for _, d := range l.detectors {
		d.Frame(pcm, now)
	}
}

// Onsets returns when the received audio started the tone hz (one of
// those listened for).
func (l *ToneLog) Onsets(hz float64) []time.Time {
	for _, d := range l.detectors {
		if d.Hz() == hz {
			return d.Onsets()
		}
	}
	return nil
}
