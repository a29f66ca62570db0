package meeting

import (
	"context"

	"github.com/confab-media/confab/signaling/events"
	"github.com/confab-media/confab/signaling/store"
)

// What a cluster (package cluster) needs of the meeting service beyond the
// API: ending every meeting of a draining node, and ending the meetings of
// a dead node that this service never had in memory.

// EndAll ends every live meeting of this service for reason (a node
// draining past its deadline), each with its MeetingEnded. It returns how
// many it ended.
func (s *Service) EndAll(ctx context.Context, reason string) int {
	live := s.liveMeetings()
	n := 0
	for _, m := range live {
		if s.end(ctx, m, reason) == nil {
			n++
		}
	}
	return n
}

// AttendeeCount reports how many attendees the live meetings have (a node's
// load in the cluster registry).
func (s *Service) AttendeeCount() int {
	live := s.liveMeetings()
	n := 0
	for _, m := range live {
		m.mu.Lock()
		n += len(m.attendees)
		m.mu.Unlock()
	}
	return n
}

// EndStored ends a meeting known only from the store (hosted by a node
// that died): it deletes the record and queues its MeetingEnded in the same
// submission, as DeleteMeeting would on the meeting's own node. The caller
// makes sure only one node does this per meeting.
func (s *Service) EndStored(ctx context.Context, rec store.MeetingRecord, reason string) error {
	e := events.New(events.MeetingEnded, s.p.Clock.Now(), s.cfg.AccountID, rec.MediaRegion)
	e.Detail.MeetingID = rec.MeetingID
	e.Detail.ExternalMeetingID = rec.ExternalMeetingID
	evs := []events.Event{e}
	if err := commit(s.submitLocked([]store.Op{store.DeleteMeeting(rec.MeetingID)}, evs)); err != nil {
		return err
	}
	s.p.Log.Info("meeting ended", "meeting", rec.MeetingID, "reason", reason, "group", rec.MediaGroup)
	s.p.Events.Publish(context.WithoutCancel(ctx), evs[0])
	return nil
}

// Hosts reports whether meetingID is live in this service (a cluster node
// answers such requests itself, without asking Redis where they belong).
func (s *Service) Hosts(meetingID string) bool {
	_, err := s.lookup(meetingID)
	return err == nil
}

// liveMeetings is a snapshot of the live meetings.
func (s *Service) liveMeetings() []*liveMeeting {
	s.mu.RLock()
	defer s.mu.RUnlock()
	live := make([]*liveMeeting, 0, len(s.meetings))
	for _, m := range s.meetings {
		live = append(live, m)
	}
	return live
}
