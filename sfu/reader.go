package sfu

import (
	"errors"
	"io"

	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"

	"github.com/confab-media/confab/mixer"
)

// readBufSize holds any RTP packet of a standard MTU.
const readBufSize = 1500

// audioLevelID returns the negotiated ID of the ssrc-audio-level extension
// on r, or 0.
func audioLevelID(r *webrtc.RTPReceiver) uint8 {
	for _, h := range r.GetParameters().HeaderExtensions {
		if h.URI == sdp.AudioLevelURI {
			return uint8(h.ID)
		}
	}
	return 0
}

// readAudio is the one goroutine of a remote audio track: it reads RTP
// into a reused buffer and pushes each Opus payload, with its RFC 6464
// level, to the leg until the track ends. Nothing here allocates per
// packet.
func (p *Peer) readAudio(t *webrtc.TrackRemote, r *webrtc.RTPReceiver) {
	extID := audioLevelID(r)
	buf := make([]byte, readBufSize)
	var pkt rtp.Packet
	var al rtp.AudioLevelExtension
	for {
		n, _, err := t.Read(buf)
		if err != nil {
			if !errors.Is(err, io.EOF) {
				p.log.Debug("sfu: audio track ended", "err", err)
			}
			return
		}
		p.stats.audioInPkts.Add(1)
		p.stats.audioInBytes.Add(uint64(n))
		if pkt.Unmarshal(buf[:n]) != nil || len(pkt.Payload) == 0 {
			continue
		}
		level := mixer.LevelUnknown
		if extID != 0 {
			if ext := pkt.GetExtension(extID); ext != nil && al.Unmarshal(ext) == nil {
				level = int8(al.Level & 0x7f)
			}
		}
		// Push copies the payload. Errors (not a 20 ms packet, leg removed)
		// are counted by the mixer.
		_ = p.leg.Push(mixer.Frame{Payload: pkt.Payload, Timestamp: pkt.Timestamp, Level: level})
	}
}
