// Package attendee is the synthetic attendee the bench harness reuses: a
// Go client that joins a Confab meeting the way the stock
// amazon-chime-sdk-js browser client does, through public protocols only.
//
// Signaling is the SDK's WebSocket (subprotocols "_aws_wt_session,
// <join token>") carrying frames in the signaling/protocol codec; media is
// WebRTC through pion. [Dial] opens the socket, sends JOIN and waits for
// JOIN_ACK and INDEX, sends SUBSCRIBE with a full offer (m-line 0 audio
// sendrecv, Opus with the RFC 6464 audio-level extension; m-line 1 an
// inactive camera, as Chrome offers before video starts), applies the
// SUBSCRIBE_ACK answer, waits for ICE to connect and then sends 20 ms Opus
// frames of a sine (Config.ToneHz) or of silence, at 50 packets/s, as a
// browser's audio clock does. With Config.Video.Layers > 0 it then starts
// the camera.
//
// Video, as the SDK drives it (every change is a re-SUBSCRIBE with a new
// full offer on the same PeerConnection):
//
//   - publishing: [Attendee.StartVideo] turns the camera m-line sendrecv
//     with one encoding per layer of Config.Video.Codec (VP8 by default,
//     or H.264 constrained baseline: [VideoCodec]; the one video codec the
//     attendee offers, for sending and receiving): 1 stream, or RID
//     simulcast low/mid/hi (content shares, Config.Video.Content: low/hi),
//     offered with a=simulcast:send and a=rid lines and sent with the mid
//     and rid header extensions. send_streams lists the audio stream then one VIDEO
//     descriptor per layer in rid order with its max_bitrate_kbps; the
//     SUBSCRIBE_ACK allocations are kept ([Attendee.Allocations]) and sent
//     back in later SUBSCRIBEs. [Attendee.StopVideo] turns the line inactive
//     again. Frames are synthetic, at Config.Video.FPS: VP8 with RFC 7741
//     payload descriptors with a 15-bit PictureID (keyframes carry the
//     RFC 6386 frame tag and start code), or H.264 packetized as Chrome
//     does (RFC 6184: keyframes an STAP-A of SPS and PPS then the IDR
//     slice, FU-A fragments; h264.go); keyframes, each layer its own size
//     (320x180, 640x360, 1280x720), come first, every KeyframeInterval
//     and on every PLI or FIR for the layer's SSRC, interframes otherwise,
//     sized for each layer's bitrate, the marker bit on each frame's last
//     packet, 90 kHz wall-clock timestamps ([Attendee.VideoSent]);
//   - subscribing: [Attendee.Subscribe] offers one recvonly video m-line
//     per stream id after the audio and camera lines (receive_stream_ids
//     [0, ids...]; lines no longer used are offered inactive) and maps each
//     received track to its stream through SUBSCRIBE_ACK tracks[]
//     (track_label = the track's msid stream id);
//     [Attendee.RemoteVideoUpdate] switches a line to another stream
//     without renegotiating; [Attendee.Pause] and [Attendee.Resume] send
//     PAUSE and RESUME;
//   - early media: RTP on an SSRC the applied answer does not declare yet is
//     dropped below ICE and a track without a keyframe asks for one, as
//     Chrome behaves (early.go explains why pion needs this).
//
// What the attendee hears and sees is recorded for assertions and
// measurements:
//
//   - received audio: packet and sequence-gap counts ([Attendee.Stats]),
//     packets in the last d ([Attendee.RecentPackets]), and the last
//     Config.History of decoded audio ([Attendee.Audio]), with tone
//     detection by [Goertzel] power ([Attendee.Power]);
//   - received video, per track by mid and by the stream it carries
//     ([Attendee.VideoTracks], [Attendee.VideoTrack],
//     [Attendee.VideoStream]): packets, bytes, frames, the SSRCs seen,
//     sequence gaps and backward sequence numbers and timestamps (serial
//     number arithmetic), keyframes with their frame size ([ParseVP8], or
//     [ParseH264] and the SPS, by the track's codec);
//   - presence from AUDIO_STREAM_ID_INFO ([Attendee.Presence]), volumes
//     from the last AUDIO_METADATA ([Attendee.Volumes]), data messages
//     ([Attendee.DataMessages]), the last INDEX ([Attendee.Index]) and
//     BITRATES ([Attendee.Bitrates]), the server's PAUSE and RESUME
//     ([Attendee.ServerPauses]).
//
// [Attendee.Resubscribe] renegotiates the current state,
// [Attendee.SetMuted] sends AUDIO_CONTROL, [Attendee.SendData] a data
// message, [Attendee.Leave] LEAVE and waits for LEAVE_ACK. For protocol
// tests the raw socket is at hand: [DialSignaling], or
// [Attendee.Signaling], send any frame and wait for the next of a type.
//
// Goroutines: a [Signaling] runs one reader and one pinger (PING every
// 10 s, as the SDK); an Attendee adds one audio sender, one reader per
// remote track, and while the camera is on one video sender and one RTCP
// reader per layer. [Attendee.Close] and [Signaling.Close] wait for all of
// them; StopVideo waits for the camera's. The sending and receiving loops
// reuse their buffers and do not allocate per packet.
//
// pion's default interceptors run on the PeerConnection (RTCP reports,
// NACK and its responder, transport-wide congestion control feedback), as
// a browser sends and answers them.
//
// Network: ICE uses host candidates (Config.Loopback limits them to
// 127.0.0.1); with Config.Relay only relay candidates, from the TURN
// servers and credentials JOIN_ACK names, so the PeerConnection is built
// after JOIN_ACK ([Attendee.Path] reports the chosen candidate type).
// Config.Impair drops, delays and rate-limits datagrams on the sockets ICE
// uses, seeded (impair.go). Relayed media arrives as TURN data, which the
// early-media filter does not inspect.
//
// Not yet: compressed SDP.
package attendee
