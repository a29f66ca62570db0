package sipgw

import (
	"github.com/confab-media/confab/conference"
	"github.com/confab-media/confab/signaling/meeting"
)

// Auth verifies join tokens (a *meeting.Service). Verify fails with
// meeting.ErrTokenInvalid, meeting.ErrTokenRevoked or meeting.ErrMeetingEnded.
type Auth interface {
	Verify(token string) (meeting.Identity, error)
}

// Conference attaches a phone call to its meeting's Room (a
// *conference.Registry).
type Conference interface {
	// JoinPhone adds the caller as the audio leg of attendee id. Call mix
	// with the meeting's mix minus this caller, 20 ms Opus frames with
	// 48 kHz clock timestamps, from the meeting's mixer goroutine: mix
	// copies the frame and never blocks. JoinPhone fails with
	// ErrMeetingFull (the caller gets 486) or any other error (503). It
	// may block; a CANCEL meanwhile makes the gateway Leave at once.
	JoinPhone(id meeting.Identity, mix func(opus []byte, ts uint32)) (PhoneLeg, error)
}

// PhoneLeg is a call's membership in its meeting's Room (Push the
// caller's Opus frames, SetMuted on hold, Done closes when the attendee is
// deleted or the meeting ends and the gateway then sends BYE, Leave once
// when the call ends); see conference.PhoneLeg.
type PhoneLeg = conference.PhoneLeg
