package sipgw

import (
	"net/netip"

	"github.com/confab-media/confab/conference"
	"github.com/confab-media/confab/mixer"
	"github.com/confab-media/confab/signaling/meeting"
	"github.com/confab-media/confab/sma"
)

// Auth verifies join tokens (a *meeting.Service). Verify fails with
// meeting.ErrTokenInvalid, meeting.ErrTokenRevoked or meeting.ErrMeetingEnded.
type Auth interface {
	Verify(token string) (meeting.Identity, error)
}

// Conference attaches a phone call to its meeting's Room (a
// *conference.Registry).
type Conference interface {
	// JoinPhone adds the caller as the audio leg of attendee id, of the
	// call's codec. Call mix with the meeting's mix minus this caller every
	// 20 ms from the meeting's mixer goroutine — Opus with 48 kHz
	// timestamps, or the codec's G.711 with 8 kHz timestamps: mix copies
	// the frame and never blocks. JoinPhone fails with
	// ErrMeetingFull (the caller gets 486) or any other error (503). It
	// may block; a CANCEL meanwhile makes the gateway Leave at once.
	JoinPhone(id meeting.Identity, codec mixer.Codec, mix func(payload []byte, ts uint32)) (PhoneLeg, error)
}

// Apps runs SIP media applications (a *sma.Runtime): a call without a
// join token whose number or host a rule names is answered and run by
// that application's handler.
type Apps interface {
	Route(user, host string) (*sma.Rule, *sma.Application, bool)
	// Admit applies the allowlists and call caps to a call from src: 0,
	// or the SIP code to refuse it with (403, 486). release is called
	// once the admitted call has ended.
	Admit(rule *sma.Rule, src netip.Addr) (release func(), code int)
	NewSession(info sma.CallInfo) *sma.Session
	NewOutboundSession(info sma.OutboundInfo) *sma.Session
}

// PhoneLeg is a call's membership in its meeting's Room (Push the
// caller's Opus frames, SetMuted on hold, Done closes when the attendee is
// deleted or the meeting ends and the gateway then sends BYE, Leave once
// when the call ends); see conference.PhoneLeg.
type PhoneLeg = conference.PhoneLeg
