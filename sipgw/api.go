package sipgw

import "github.com/confab-media/confab/signaling/meeting"

// Auth verifies join tokens (a *meeting.Service). Verify fails with
// meeting.ErrTokenInvalid, meeting.ErrTokenRevoked or meeting.ErrMeetingEnded.
type Auth interface {
	Verify(token string) (meeting.Identity, error)
}

// Conference attaches a phone call to its meeting's audio.
type Conference interface {
	// JoinPhone adds the caller as the audio leg of attendee id. Call mix
	// with the meeting's mix minus this caller, 20 ms Opus frames with
	// 48 kHz clock timestamps, from the meeting's mixer goroutine: mix
	// copies the frame and never blocks. JoinPhone fails with
	// ErrMeetingFull (the caller gets 486) or any other error (503). It
	// may block; a CANCEL meanwhile makes the gateway Leave at once.
	JoinPhone(id meeting.Identity, mix func(opus []byte, ts uint32)) (PhoneLeg, error)
}

// PhoneLeg is a call's audio leg in its meeting.
type PhoneLeg interface {
	// Push hands over one 20 ms Opus frame from the caller with its 48 kHz
	// RTP timestamp and its RFC 6464 level (−dBov 0–127, computed from the
	// decoded PCM), or −1 if unknown. It is called from the call's media
	// goroutine, must not block, and must copy opus if it keeps it: the
	// buffer is reused once Push returns. An error is counted, not fatal.
	Push(opus []byte, ts uint32, level int8) error
	// SetMuted mutes the leg while the caller holds the call.
	SetMuted(muted bool)
	// Done is closed when the attendee is deleted or the meeting ends; the
	// gateway then sends BYE.
	Done() <-chan struct{}
	// Leave ends the leg; the gateway calls it once when the call ends.
	Leave()
}
