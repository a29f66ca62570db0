package mixer

import (
	"math"
	"time"
)

// LevelUnknown marks a Frame whose transport has no RFC 6464 audio level
// (e.g. a SIP phone): the mixer then decodes every such frame and measures
// its level itself. A caller that has PCM at hand can pass LevelFromPCM
// instead and spare the decode.
const LevelUnknown int8 = -1

// levelSilence is the RFC 6464 level of digital silence (−127 dBov).
const levelSilence int8 = 127

// maxPayload bounds an accepted Opus packet: RFC 6716 §3.2.1 limits a frame
// to 1275 bytes; padding aside, one 20 ms packet never exceeds that.
const maxPayload = 1275

// Frame is one 20 ms Opus packet of a leg, as the transport received it.
type Frame struct {
	// Payload is the Opus packet. Push copies it; the caller keeps ownership.
	Payload []byte
	// Timestamp is the packet's RTP timestamp (48 kHz clock).
	Timestamp uint32
	// Level is the packet's RFC 6464 audio level from the ssrc-audio-level
	// header extension: 0 (0 dBov, loudest) … 127 (−127 dBov, silence), or
	// LevelUnknown. See https://www.rfc-editor.org/rfc/rfc6464#section-3.
	Level int8
	// Arrival is when the packet arrived; the zero time means the Mixer's
	// clock's Now.
	Arrival time.Time
}

// LevelFromPCM returns the RFC 6464 level (−dBov, 0–127) of 16-bit PCM the
// way RFC 6464 §3 and WebRTC define it: the RMS of the frame relative to the
// overload point (a full-scale square wave is 0 dBov, a full-scale sine
// about 3). It does not allocate.
func LevelFromPCM(pcm []int16) int8 {
	if len(pcm) == 0 {
		return levelSilence
	}
	var sum float64
	for _, s := range pcm {
		v := float64(s)
		sum += v * v
	}
	rms := math.Sqrt(sum / float64(len(pcm)))
	if rms < 1e-9 {
		return levelSilence
	}
	db := -20 * math.Log10(rms/32768)
	switch {
	case db <= 0:
		return 0
	case db >= 127:
		return levelSilence
	}
	return int8(math.Round(db))
}

// OpusSamples returns the number of 48 kHz samples in an Opus packet (0 if
// it is malformed): 960 for a 20 ms frame.
func OpusSamples(p []byte) int { return opusSamples(p) }

// opusSamples returns the number of 48 kHz samples in an Opus packet from
// its TOC byte and frame count (RFC 6716 §3.1), or 0 if the packet is
// malformed.
func opusSamples(p []byte) int {
	if len(p) == 0 {
		return 0
	}
	toc := p[0]
	config := toc >> 3
	var per int // samples per frame at 48 kHz
	switch {
	case config < 12: // SILK-only: 10, 20, 40, 60 ms
		per = [4]int{480, 960, 1920, 2880}[config&3]
	case config < 16: // Hybrid: 10, 20 ms
		per = [2]int{480, 960}[config&1]
	default: // CELT-only: 2.5, 5, 10, 20 ms
		per = [4]int{120, 240, 480, 960}[config&3]
	}
	var frames int
	switch toc & 3 {
	case 0:
		frames = 1
	case 1, 2:
		frames = 2
	default:
		if len(p) < 2 {
			return 0
		}
		frames = int(p[1] & 0x3f)
	}
	return per * frames
}
