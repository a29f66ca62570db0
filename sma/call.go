package sma

import (
	"errors"
	"time"
)

// Call is the phone call a Session controls; the SIP gateway implements
// it. Its methods are called from the Session's goroutine only.
type Call interface {
	// Play starts sending pcm (8 kHz mono) to the caller in real time,
	// replacing what plays; done closes when the last sample went out or
	// StopPlay cut it short. It fails while the call is bridged into a
	// meeting (the meeting's mix goes to the caller).
	Play(pcm []int16) (done <-chan struct{}, err error)
	// StopPlay cuts the prompt short (a key press during
	// PlayAudioAndGetDigits).
	StopPlay()
	// Join bridges the call into the meeting of a join token: the caller
	// becomes that attendee (LEG-B). ErrJoinToken: the token does not
	// verify, or its meeting is gone.
	Join(token string) (Bridge, error)
	// Hangup ends the call: BYE once answered; before the answer, code is
	// the final response (0: 603 Decline).
	Hangup(code int)
	// StartRecording starts keeping the caller's audio (8 kHz PCM), at
	// most max of it; StopRecording ends it and returns what was kept.
	StartRecording(max time.Duration) error
	StopRecording() []int16
}

// Bridge is a call's membership in a meeting (LEG-B).
type Bridge interface {
	MeetingID() string
	AttendeeID() string
	// SetMuted mutes or unmutes the caller in the meeting's mix.
	SetMuted(muted bool)
	// Done closes when the meeting ends or the attendee is deleted.
	Done() <-chan struct{}
	// Leave ends the membership; the call goes on.
	Leave()
}

// ErrJoinToken is Call.Join's error for a token that is not valid.
var ErrJoinToken = errors.New("sma: join token is not valid")

// ErrBridged is Call.Play's error while the call is in a meeting.
var ErrBridged = errors.New("sma: the call is bridged into a meeting")
