package conference

import (
	"context"

	"github.com/confab-media/confab/signaling/events"
	"github.com/confab-media/confab/signaling/meeting"
)

var _ events.Sink = (*Registry)(nil)

// Deliver makes the Registry an events.Sink for the meeting lifecycle:
// MeetingEnded ends the Room, AttendeeDeleted hangs up that attendee's
// calls, AttendeeCapabilitiesUpdated applies the new capabilities (the
// meeting service publishes each after its commit, before it answers).
func (r *Registry) Deliver(_ context.Context, e events.Event) {
	d := e.Detail
	switch d.EventType {
	case events.MeetingEnded:
		r.End(d.MeetingID)
	case events.AttendeeDeleted:
		r.RemoveAttendee(d.MeetingID, d.AttendeeID)
	case events.AttendeeCapabilitiesUpdated:
		if c := d.AttendeeCapabilities; c != nil {
			r.SetCapabilities(d.MeetingID, d.AttendeeID, meeting.Capabilities{Audio: c.Audio, Video: c.Video, Content: c.Content})
		}
	}
}
