package rtpfwd

import "strings"

// Codec MIME types understood by IsKeyframe (compared case-insensitively).
const (
	MimeTypeVP8  = "video/VP8"
	MimeTypeH264 = "video/H264"
)

// IsKeyframe reports whether an RTP payload is the first packet of a
// keyframe, i.e. a packet at which forwarding can switch onto its stream.
//
// mime is the codec MIME type, case-insensitive: "video/VP8" (RFC 7741) or
// "video/H264" (RFC 6184, packetization modes 0 and 1). Any other MIME type
// gives false. Short or malformed payloads give false; IsKeyframe never
// panics and never allocates.
func IsKeyframe(mime string, payload []byte) bool {
	switch {
	case strings.EqualFold(mime, MimeTypeVP8):
		return vp8Keyframe(payload)
	case strings.EqualFold(mime, MimeTypeH264):
		return h264Keyframe(payload)
	}
	return false
}
