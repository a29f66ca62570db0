// Package sfu is Confab's WebRTC side of a meeting: one [Room] per meeting
// (its peers and video routing), one [Peer] (pion/webrtc) per signaling
// session, each peer's audio attached as a leg of the meeting's
// conference.Room, which owns the mixer.
//
// A [Server] implements the signaling/media contract: it is handed a
// media.Session (ids and Send), never the signaling session, and its
// errors carry their SUBSCRIBE_ACK status. The first SUBSCRIBE of a
// session creates its Peer (and, for the first session of a meeting, the
// Room); every SUBSCRIBE carries a new full offer that is renegotiated on
// the same PeerConnection and answered with the full local SDP (fact sheet
// /work/shared/docs/chime-signaling.md §4 and §6): ICE-lite host candidates
// inline on one shared UDP port, a=setup:passive, BUNDLE, the camera m-line
// answered inactive, and one msid-carrying Opus track on m-line 0.
//
// Audio path: the attendee's microphone track is read by one goroutine
// (reader.go) that parses the RFC 6464 ssrc-audio-level header extension and
// pushes each 20 ms Opus packet into the peer's conference.AudioLeg; the
// leg's sink (sender.go) stamps the mix-minus payload into RTP on the
// peer's local track: a continuous 50 packet/s stream. Levels
// (AUDIO_METADATA) are the conference Room's to report.
//
// Video path (fact sheet §6 and §8): a SUBSCRIBE whose camera m-line sends
// publishes a source (video_room.go) with one layer per described send
// stream: RID simulcast low/mid/hi (content: low/hi) or one stream; each
// layer gets a stream id, all share a group id (SUBSCRIBE_ACK allocations).
// Past Config.MaxVideos cameras (or MaxContentShares content shares) a new
// source is refused and INDEX tells the others at_capacity. One reader
// goroutine per layer (video_reader.go) hands each packet to the down
// tracks bound to its source. A down track (downtrack.go) is one
// subscriber's recvonly m-line: a local track whose msid is v_<mid>, listed
// in SUBSCRIBE_ACK tracks[], with an rtpfwd.Forwarder that keeps one SSRC,
// sequence and timestamp space while REMOTE_VIDEO_UPDATE, PAUSE/RESUME or
// bandwidth move it between layers, switching on a keyframe it asks for by
// PLI. Each room's stats loop (video_loop.go) measures layers every
// Config.StatsInterval, re-sends INDEX when the available layers change,
// sends BITRATES and fits subscribers' layers to their bandwidth
// (adapt.go). NACKs are answered by pion's responder; publishers get
// transport-cc feedback.
package sfu
