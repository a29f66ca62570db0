package conference

import "github.com/confab-media/confab/signaling/meeting"

var _ meeting.Lifecycle = (*Registry)(nil)

// MeetingEnded ends the meeting's Room (meeting.Lifecycle).
func (r *Registry) MeetingEnded(meetingID string) { r.End(meetingID) }

// AttendeeDeleted hangs up the attendee's calls (meeting.Lifecycle).
func (r *Registry) AttendeeDeleted(meetingID, attendeeID string) {
	r.RemoveAttendee(meetingID, attendeeID)
}

// CapabilitiesUpdated applies an attendee's new capabilities
// (meeting.Lifecycle).
func (r *Registry) CapabilitiesUpdated(meetingID, attendeeID string, c meeting.Capabilities) {
	r.SetCapabilities(meetingID, attendeeID, c)
}
