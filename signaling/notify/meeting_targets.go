package notify

import (
	"encoding/json"

	"github.com/confab-media/confab/signaling/store"
)

// MeetingTargets returns the meeting service's view of s (meeting.Targets):
// Check refuses a NotificationsConfiguration no endpoint serves
// (Resolver.CheckTargets), Set registers it (SetMeetingTargets).
func (s *Service) MeetingTargets() MeetingRegistrar { return MeetingRegistrar{s: s} }

// MeetingRegistrar hands meetings' NotificationsConfiguration to a Service;
// see Service.MeetingTargets.
type MeetingRegistrar struct{ s *Service }

// Check reports whether n's ARNs are served by configured endpoints.
func (m MeetingRegistrar) Check(n store.NotificationsConfiguration) error {
	return m.s.Resolver().CheckTargets(MeetingTargets(n))
}

// Set records where meetingID's events go; empty targets forget it.
func (m MeetingRegistrar) Set(meetingID string, n store.NotificationsConfiguration) error {
	return m.s.SetMeetingTargets(meetingID, MeetingTargets(n))
}

// SetTargets is SetMeetingTargets with the NotificationsConfiguration in
// its JSON form, as a cluster node relays it with an event (cluster.Sink).
func (s *Service) SetTargets(meetingID string, notificationsJSON []byte) error {
	var n store.NotificationsConfiguration
	if err := json.Unmarshal(notificationsJSON, &n); err != nil {
		return err
	}
	return s.SetMeetingTargets(meetingID, MeetingTargets(n))
}
