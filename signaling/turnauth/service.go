package turnauth

import (
	"context"
	"strings"
	"sync"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/confab-media/confab/signaling/meeting"
	"github.com/confab-media/confab/signaling/protocol"
	"github.com/confab-media/confab/turn"
)

// Meetings is what the Service needs of the meeting service.
type Meetings interface {
	// Verify checks a join token (TurnControlUrl).
	Verify(token string) (meeting.Identity, error)
	// GetAttendee fails once the attendee or its meeting is gone.
	GetAttendee(ctx context.Context, meetingID, attendeeID string) (meeting.Attendee, error)
}

// Relay is the TURN server as the Service drives it (a *turn.Server).
type Relay interface {
	Revoke(username string)
}

// Service mints and tracks TURN credentials. Attach the relay and its
// Minter once the relay exists (the relay itself asks Active while it
// runs, so the Service comes first).
type Service struct {
	meetings Meetings

	mu        sync.Mutex // guards everything below
	relay     Relay
	minter    *turn.Minter
	meetingOf map[string]string              // attendee (or attendee#content) → meeting
	attendees map[string]map[string]struct{} // meeting → attendees with credentials
}

// New returns a Service with no relay attached yet.
func New(m Meetings) *Service {
	return &Service{meetings: m, meetingOf: map[string]string{}, attendees: map[string]map[string]struct{}{}}
}

// Attach sets the relay whose credentials the Service mints.
func (s *Service) Attach(r Relay, m *turn.Minter) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.relay, s.minter = r, m
}

// mint returns credentials for id and remembers its meeting; ok is false
// while no relay is attached.
func (s *Service) mint(id meeting.Identity) (c turn.Credentials, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.minter == nil {
		return c, false
	}
	s.meetingOf[id.AttendeeID] = id.MeetingID
	set := s.attendees[id.MeetingID]
	if set == nil {
		set = map[string]struct{}{}
		s.attendees[id.MeetingID] = set
	}
	set[id.AttendeeID] = struct{}{}
	return s.minter.Mint(id.AttendeeID), true
}

// Credentials is session.TURN: JOIN_ACK's turn_credentials.
func (s *Service) Credentials(id meeting.Identity) (*protocol.SdkTurnCredentials, bool) {
	c, ok := s.mint(id)
	if !ok {
		return nil, false
	}
	return &protocol.SdkTurnCredentials{
		Username: proto.String(c.Username), Password: proto.String(c.Password),
		Ttl: proto.Uint32(uint32(c.TTL / time.Second)), Uris: c.URIs,
	}, true
}

// Active reports whether the attendee a TURN username names still exists
// (turn.Params.Active): credentials die with the attendee and its meeting.
func (s *Service) Active(attendeeID string) bool {
	s.mu.Lock()
	mid, ok := s.meetingOf[attendeeID]
	s.mu.Unlock()
	if !ok {
		return false
	}
	_, err := s.meetings.GetAttendee(context.Background(), mid, strings.TrimSuffix(attendeeID, "#content"))
	return err == nil
}

var _ meeting.Lifecycle = (*Service)(nil)

// AttendeeDeleted revokes the attendee's relays, its content share's too
// (meeting.Lifecycle).
func (s *Service) AttendeeDeleted(meetingID, attendeeID string) {
	var gone []string
	s.mu.Lock()
	for _, a := range []string{attendeeID, attendeeID + "#content"} {
		if _, ok := s.meetingOf[a]; ok {
			gone = append(gone, a)
			delete(s.meetingOf, a)
			delete(s.attendees[meetingID], a)
		}
	}
	s.mu.Unlock()
	s.revoke(gone)
}

// MeetingEnded revokes the relays of every attendee of the meeting
// (meeting.Lifecycle).
func (s *Service) MeetingEnded(meetingID string) {
	var gone []string
	s.mu.Lock()
	for a := range s.attendees[meetingID] {
		gone = append(gone, a)
		delete(s.meetingOf, a)
	}
	delete(s.attendees, meetingID)
	s.mu.Unlock()
	s.revoke(gone)
}

// CapabilitiesUpdated changes nothing for TURN (meeting.Lifecycle).
func (s *Service) CapabilitiesUpdated(string, string, meeting.Capabilities) {}

func (s *Service) revoke(usernames []string) {
	s.mu.Lock()
	r := s.relay
	s.mu.Unlock()
	if r == nil {
		return
	}
	for _, a := range usernames {
		r.Revoke(a)
	}
}
