package phone

import (
	"fmt"

	"github.com/zaf/g711"
	"gopkg.in/hraban/opus.v2"
)

// voice is a call's codec: its RTP payload type and clock, and the
// encoder and decoder of one 20 ms frame. The buffers belong to the
// call's sending and receiving goroutines; nothing allocates per frame.
type voice struct {
	name    string // PCMU, PCMA or OPUS
	pt      uint8
	rate    int // samples per second of the PCM and the RTP clock
	samples int // per 20 ms frame
	enc     *opus.Encoder
	dec     *opus.Decoder
}

// Payload types the caller offers (RFC 3551 static ones; 111 for Opus
// as most phones and browsers offer it).
const (
	ptPCMU  = 0
	ptPCMA  = 8
	ptOpus  = 111
	ptEvent = 101
)

// newVoice returns the codec the answer chose.
func newVoice(pt uint8) (*voice, error) {
	switch pt {
	case ptPCMU:
		return &voice{name: "PCMU", pt: pt, rate: 8000, samples: 160}, nil
	case ptPCMA:
		return &voice{name: "PCMA", pt: pt, rate: 8000, samples: 160}, nil
	case ptOpus:
		// RFC 7587: the RTP clock is 48 kHz whatever is coded; the
		// caller speaks mono.
		v := &voice{name: "OPUS", pt: pt, rate: 48000, samples: 960}
		var err error
		if v.enc, err = opus.NewEncoder(v.rate, 1, opus.AppVoIP); err != nil {
			return nil, fmt.Errorf("phone: opus encoder: %w", err)
		}
		if v.dec, err = opus.NewDecoder(v.rate, 1); err != nil {
			return nil, fmt.Errorf("phone: opus decoder: %w", err)
		}
		return v, nil
	}
	return nil, fmt.Errorf("phone: the answer chose payload type %d, which the caller did not offer", pt)
}

// encode codes one frame of pcm into out and returns the payload.
func (v *voice) encode(pcm []int16, out []byte) ([]byte, error) {
	switch v.pt {
	case ptPCMA:
		for i, s := range pcm {
			out[i] = g711.EncodeAlawFrame(s)
		}
		return out[:len(pcm)], nil
	case ptPCMU:
		for i, s := range pcm {
			out[i] = g711.EncodeUlawFrame(s)
		}
		return out[:len(pcm)], nil
	}
	n, err := v.enc.Encode(pcm, out)
	return out[:n], err
}

// decode decodes one payload into pcm and returns the samples.
func (v *voice) decode(payload []byte, pcm []int16) ([]int16, error) {
	switch v.pt {
	case ptPCMA:
		k := min(len(payload), len(pcm))
		for i := range k {
			pcm[i] = g711.DecodeAlawFrame(payload[i])
		}
		return pcm[:k], nil
	case ptPCMU:
		k := min(len(payload), len(pcm))
		for i := range k {
			pcm[i] = g711.DecodeUlawFrame(payload[i])
		}
		return pcm[:k], nil
	}
	n, err := v.dec.Decode(payload, pcm)
	if err != nil {
		return nil, err
	}
	return pcm[:n], nil
}
