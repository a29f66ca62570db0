package sfu

import (
	"strings"

	"github.com/confab-media/confab/signaling/protocol"
)

// forwardable lists the video codecs the SFU forwards, in preference
// order, with the capability INDEX announces for each (H.264 is
// registered as constrained baseline, profile-level-id 42e01f).
var forwardable = []struct {
	name string
	cap  protocol.SdkVideoCodecCapability
}{
	{"VP8", protocol.SdkVideoCodecCapability_VP8},
	{"H264", protocol.SdkVideoCodecCapability_H264_CONSTRAINED_BASELINE_PROFILE},
}

// receivableCodecs is the set of forwardable codecs an offer's video
// m-lines accept, as a bit set over forwardable.
func receivableCodecs(lines []videoLine) uint8 {
	var set uint8
	for _, l := range lines {
		for name := range l.codecs {
			for i, f := range forwardable {
				if strings.EqualFold(name, f.name) {
					set |= 1 << i
				}
			}
		}
	}
	return set
}

// codecIntersection returns INDEX's supported_receive_codec_intersection:
// the forwardable codecs every peer of the room can decode, so that
// publishers send only what everyone can receive (fact sheet §3, INDEX).
func (rm *Room) codecIntersection() []protocol.SdkVideoCodecCapability {
	rm.mu.Lock()
	all := uint8(1<<len(forwardable) - 1)
	for _, p := range rm.peers {
		if c := uint8(p.recvCodecs.Load()); c != 0 {
			all &= c
		}
	}
	rm.mu.Unlock()
	var out []protocol.SdkVideoCodecCapability
	for i, f := range forwardable {
		if all&(1<<i) != 0 {
			out = append(out, f.cap)
		}
	}
	return out
}
