package attendee

import (
	"fmt"
	"strings"

	"github.com/pion/webrtc/v4"
)

// The camera's codec: VideoConfig.Codec picks one, and the attendee
// offers that one alone on every video m-line (a browser offers several;
// offering one makes the server send and forward that codec), so every
// attendee of a run must use the same.

// Video codec names of VideoConfig.Codec.
const (
	CodecVP8  = "VP8"
	CodecH264 = "H264"
)

// ptH264 is the payload type of H.264 with packetization mode 1, as
// Chrome has offered it (VideoConfig.PayloadType changes it).
const ptH264 = 102

// videoFeedback is the RTCP feedback Chrome offers for every video codec.
var videoFeedback = []webrtc.RTCPFeedback{{Type: "goog-remb"}, {Type: "ccm", Parameter: "fir"}, {Type: "nack"}, {Type: "nack", Parameter: "pli"}}

// vp8Codec is the VP8 camera's codec, as Chrome offers it.
var vp8Codec = webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000, RTCPFeedback: videoFeedback}

// h264Codec is the H.264 camera's codec, as Chrome offers it: constrained
// baseline level 3.1, non-interleaved packetization (RFC 6184 §8.1).
var h264Codec = webrtc.RTPCodecCapability{
	MimeType: webrtc.MimeTypeH264, ClockRate: 90000,
	SDPFmtpLine:  "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f",
	RTCPFeedback: videoFeedback,
}

// VideoCodec returns the registration (payload type and capability) of
// the video codec named name: "VP8" (also "") or "H264", in any case.
// bench/janus registers the same.
func VideoCodec(name string) (webrtc.RTPCodecParameters, error) {
	switch strings.ToUpper(name) {
	case "", CodecVP8:
		return webrtc.RTPCodecParameters{RTPCodecCapability: vp8Codec, PayloadType: ptVP8}, nil
	case CodecH264:
		return webrtc.RTPCodecParameters{RTPCodecCapability: h264Codec, PayloadType: ptH264}, nil
	}
	return webrtc.RTPCodecParameters{}, fmt.Errorf("attendee: video codec must be VP8 or H264, not %q", name)
}

// isH264 reports whether mime is H.264's MIME type.
func isH264(mime string) bool { return strings.EqualFold(mime, webrtc.MimeTypeH264) }

// frameBuilder builds the RTP payloads of one layer's synthetic frames
// into reused buffers (vp8Frame, h264Frame): begin starts a frame and
// returns its packet count, packet returns packet i of it, valid until
// the next call.
type frameBuilder interface {
	begin(key bool) int
	packet(i int) []byte
}

// newFrameBuilder returns the frame builder of codec for frames of about
// size bytes showing width×height.
func newFrameBuilder(codec webrtc.RTPCodecCapability, width, height, size int) frameBuilder {
	if isH264(codec.MimeType) {
		return newH264Frame(width, height, size)
	}
	return newVP8Frame(width, height, size)
}
