package sfu

import (
	"strings"

	"github.com/confab-media/confab/signaling/meeting"
)

// mediaCaps is what one member of a room may do with media, from its
// attendee's capabilities and the meeting's features. Chime's semantics
// (https://docs.aws.amazon.com/chime-sdk/latest/APIReference/API_meeting-chime_AttendeeCapabilities.html
// and UpdateAttendeeCapabilities): SendReceive may send and receive, Send
// may only send, Receive may only receive, None neither. So:
//
//   - Audio Receive or None: the attendee's audio leaves the mix (its leg is
//     muted, it is never a talker); Audio Send or None: it gets no mix (Opus
//     silence instead: the SDK reconnects when no audio packets arrive).
//   - Video Receive or None: its camera is not forwarded (no allocation in
//     SUBSCRIBE_ACK, the source leaves INDEX); Video Send or None: it gets
//     no remote video (an empty INDEX, no tracks).
//   - Content Send/SendReceive is needed to share content (a content-share
//     session is refused otherwise); Content Receive/SendReceive to see
//     other attendees' shares.
//   - MeetingFeatures Video.MaxResolution None refuses every camera and
//     Content.MaxResolution None every content share (the control plane
//     also forces the capabilities to None then).
//
// A content-share session (<attendee>#content) publishes under its
// attendee's Content capability, its audio included; what it receives is
// not restricted. SIP callers (phone legs) follow the Audio capability.
type mediaCaps struct {
	sendAudio, recvAudio bool
	sendVideo, recvVideo bool // for a content session: share / (unused)
	recvContent          bool
}

// sends reports whether a capability value allows sending. An empty value
// (a record written before capabilities existed) is the API's default,
// SendReceive.
func sends(v string) bool { return v == "" || v == "SendReceive" || v == "Send" }

// receives reports whether a capability value allows receiving.
func receives(v string) bool { return v == "" || v == "SendReceive" || v == "Receive" }

// capsFor computes a member's media permissions.
func capsFor(c meeting.Capabilities, maxRes maxResolution, content bool) mediaCaps {
	videoOn := !strings.EqualFold(maxRes.Video, "None")
	contentOn := !strings.EqualFold(maxRes.Content, "None")
	if content {
		// It only shares: what it receives is not the attendee's
		// (the SDK plays none of it), so that stays as it was.
		share := sends(c.Content) && contentOn
		return mediaCaps{sendAudio: share, sendVideo: share, recvAudio: true, recvVideo: true, recvContent: true}
	}
	return mediaCaps{
		sendAudio: sends(c.Audio), recvAudio: receives(c.Audio),
		sendVideo: sends(c.Video) && videoOn, recvVideo: receives(c.Video),
		recvContent: receives(c.Video) && receives(c.Content) && contentOn,
	}
}

// maxResolution is meeting.Identity's MaxResolution.
type maxResolution = struct{ Video, Content string }

// mayReceive reports whether a member with c may receive a source.
func (c mediaCaps) mayReceive(content bool) bool {
	if content {
		return c.recvContent
	}
	return c.recvVideo
}

// baseAttendee strips the content-share suffix: capability events name the
// attendee, whose content session shares under its Content capability.
func baseAttendee(id string) string { return strings.TrimSuffix(id, contentSuffix) }
