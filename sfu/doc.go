// Package sfu is Confab's media server side of a meeting: one [Room] per
// meeting, one WebRTC [Peer] (pion/webrtc) per signaling session, and the
// meeting's Opus mixer between them.
//
// A [Server] implements signaling/session.Media. The first SUBSCRIBE of a
// session creates its Peer (and, for the first session of a meeting, the
// Room); every SUBSCRIBE carries a new full offer that is renegotiated on
// the same PeerConnection and answered with the full local SDP (fact sheet
// /work/shared/docs/chime-signaling.md §4 and §6): ICE-lite host candidates
// inline on one shared UDP port, a=setup:passive, BUNDLE, the camera m-line
// answered inactive, and one msid-carrying Opus track on m-line 0.
//
// Audio path: the attendee's microphone track is read by one goroutine
// (reader.go) that parses the RFC 6464 ssrc-audio-level header extension and
// pushes each 20 ms Opus packet into the peer's mixer leg; the leg's sink
// (sender.go) stamps the mix-minus payload into RTP on the peer's local
// track: a continuous 50 packet/s stream. Every ~200 ms the room hands the
// mixer's levels to a [VolumeSink] (AUDIO_METADATA).
//
// Video m-lines are answered (VP8 and H.264 are registered) but nothing is
// forwarded yet.
package sfu
