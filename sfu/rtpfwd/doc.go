// Package rtpfwd holds the per-packet forwarding primitives of Confab's
// simulcast video SFU, free of any pion/webrtc session state so that they can
// be tested and benchmarked on their own:
//
//   - [IsKeyframe] recognises the first RTP packet of a VP8 (RFC 7741) or
//     H.264 (RFC 6184) keyframe, the only place where a subscriber can be
//     moved onto another simulcast layer.
//   - [Forwarder] rewrites the packets of a publisher's simulcast layers
//     (one SSRC, sequence-number space and timestamp space each) onto the one
//     continuous stream a subscriber receives, switching layers on keyframes
//     and keeping sequence numbers and timestamps monotonic across switches
//     and pauses.
//   - [KeyframeRequester] rate-limits the PLIs sent to a publisher while a
//     Forwarder waits for a keyframe.
//
// Sequence numbers and timestamps wrap and are compared with the serial
// number arithmetic of RFC 3550 §A.1 / RFC 1982
// (https://www.rfc-editor.org/rfc/rfc3550#appendix-A.1).
//
// Nothing here allocates per packet, and the package has no mutable global
// state.
package rtpfwd
