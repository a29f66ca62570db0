package sfu

import (
	"math/rand/v2"
	"sync/atomic"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// Track identifiers of the mixed audio: the SDK drops a track without an
// msid stream (fact sheet §6).
const (
	audioStreamID = "audio-mix"
	audioTrackID  = "audio"
)

// mixSender turns the mixer leg's output into RTP on the peer's local
// track: its own sequence numbers, and timestamps offset from the sink's
// 48 kHz timestamp (pion's binding stamps SSRC and payload type). It is
// used only from the mixer's goroutine (the leg's sink), so it needs no
// lock, and it reuses one packet: no allocation per frame.
type mixSender struct {
	track  *webrtc.TrackLocalStaticRTP
	pkt    rtp.Packet
	tsBase uint32
	first  bool
	// off replaces the mix with Opus silence (the attendee may not
	// receive audio); set from the capability path, read per frame. The
	// packets keep flowing: the SDK reconnects when none arrive.
	off     atomic.Bool
	silence [len(opusSilence)]byte
	stats   *counters // the Server's
}

// opusSilence is one 20 ms Opus frame of digital silence: TOC 0xf8 (CELT
// fullband, 20 ms, mono, one frame; RFC 6716 §3.1) and a CELT frame that
// decodes to zeros.
const opusSilence = "\xf8\xff\xfe"

func newMixSender(stats *counters) (*mixSender, error) {
	t, err := webrtc.NewTrackLocalStaticRTP(opusCodec, audioTrackID, audioStreamID)
	if err != nil {
		return nil, err
	}
	s := &mixSender{track: t, tsBase: rand.Uint32(), first: true, stats: stats}
	copy(s.silence[:], opusSilence)
	s.pkt.Version = 2
	s.pkt.SequenceNumber = uint16(rand.Uint32())
	return s, nil
}

// sink is the leg's mixer.Sink.
func (s *mixSender) sink(payload []byte, ts uint32) {
	if s.off.Load() {
		payload = s.silence[:]
	}
	s.pkt.Marker = s.first // first packet of a talkspurt (RFC 3551 §4.1)
	s.first = false
	s.pkt.Timestamp = s.tsBase + ts
	s.pkt.Payload = payload
	// An error means no binding is up yet, or a closing connection: the
	// stream just goes on with the next frame.
	if s.track.WriteRTP(&s.pkt) == nil {
		s.stats.audioOutPkts.Add(1)
		s.stats.audioOutBytes.Add(uint64(rtpHeaderLen + len(payload)))
	}
	s.pkt.Payload = nil
	s.pkt.SequenceNumber++
}
