// Package attendee is the first synthetic attendee, which the bench harness
// will reuse: a Go client that joins a Confab meeting the way the stock
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
// browser's audio clock does.
//
// What the attendee hears and sees is recorded for assertions and
// measurements:
//
//   - received audio: packet and sequence-gap counts ([Attendee.Stats]),
//     packets in the last d ([Attendee.RecentPackets]), and the last
//     Config.History of decoded audio ([Attendee.Audio]), with tone
//     detection by [Goertzel] power ([Attendee.Power]);
//   - presence from AUDIO_STREAM_ID_INFO ([Attendee.Presence]), volumes
//     from the last AUDIO_METADATA ([Attendee.Volumes]) and data messages
//     ([Attendee.DataMessages]).
//
// [Attendee.Resubscribe] renegotiates on the same PeerConnection,
// [Attendee.SetMuted] sends AUDIO_CONTROL, [Attendee.SendData] a data
// message, [Attendee.Leave] LEAVE and waits for LEAVE_ACK. For protocol
// tests the raw socket is at hand: [DialSignaling], or
// [Attendee.Signaling], send any frame and wait for the next of a type.
//
// Goroutines: a [Signaling] runs one reader and one pinger (PING every
// 10 s, as the SDK); an Attendee adds one sender and one reader per remote
// audio track. [Attendee.Close] and [Signaling.Close] wait for all of them.
// The sending and receiving loops reuse their buffers.
//
// Not yet: video, TURN (ICE uses host candidates; Config.Loopback limits
// them to 127.0.0.1), compressed SDP.
package attendee
