package conference

import "github.com/confab-media/confab/signaling/meeting"

// Volume is one member's level in a report (SDK scale, fact sheet §6):
// Volume 14 loudest … 42 silent; SignalStrength 2 good, 1 lossy, 0 none.
type Volume struct {
	AttendeeID     string
	StreamID       uint32 // the attendee's in the Roster; 0 when it has no entry
	Volume         uint32
	SignalStrength uint32
}

// Listener renders what a Room reports to the meeting's clients (client
// signaling implements it). Calls never hold a Room lock, so a Listener
// may call back into the Registry; they must not block for long.
type Listener interface {
	// PhoneJoined makes a caller present like any attendee (presence
	// entry, AttendeeJoined with networkType PSTN). The returned leave is
	// called once when the call ends (dropped: it ended abnormally). An
	// error refuses the call.
	PhoneJoined(id meeting.Identity) (leave func(dropped bool), err error)
	// Volumes is one level report of a meeting (AUDIO_METADATA); vols is
	// reused after the call returns.
	Volumes(meetingID string, vols []Volume)
}
