package meeting

import (
	"context"

	"github.com/confab-media/confab/signaling/events"
)

// Start runs the lifecycle loop, which ends meetings past their maximum
// duration or idle for longer than the idle timeout. Close stops it.
func (s *Service) Start() {
	tick, stopTick := s.p.Clock.Tick(s.cfg.SweepInterval)
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer stopTick()
		for {
			select {
			case <-s.stop:
				return
			case <-tick:
				s.Sweep(context.Background())
			}
		}
	}()
}

// Close stops the lifecycle loop and waits for it. It does not close the store.
func (s *Service) Close() {
	select {
	case <-s.stop:
	default:
		close(s.stop)
	}
	s.wg.Wait()
}

// Sweep ends every meeting that has run for MaxDuration, or has had nobody
// connected for IdleTimeout, as of the clock's now. It returns how many ended.
func (s *Service) Sweep(ctx context.Context) int {
	now := s.p.Clock.Now()
	s.mu.RLock()
	all := make([]*liveMeeting, 0, len(s.meetings))
	for _, m := range s.meetings {
		all = append(all, m)
	}
	s.mu.RUnlock()
	var due []*liveMeeting
	var reasons []string
	for _, m := range all {
		m.mu.Lock()
		switch {
		case now.Sub(m.rec.CreatedAt) >= s.cfg.MaxDuration:
			due, reasons = append(due, m), append(reasons, "maximum duration reached")
		case len(m.connected) == 0 && now.Sub(m.idleSince) >= s.cfg.IdleTimeout:
			due, reasons = append(due, m), append(reasons, "no attendee connected")
		}
		m.mu.Unlock()
	}
	for i, m := range due {
		_ = s.end(ctx, m, reasons[i]) // already ended concurrently: fine
	}
	return len(due)
}

// Lifecycle reacts to the changes that end or restrict what runs for a
// meeting on this node: the conference Registry (Rooms, phone calls),
// client signaling (sessions) and the TURN credentials implement it, and
// register with Observe. Calls come after the change is committed, in
// commit order, with no service lock held, before the public event
// (MeetingEnded, AttendeeDeleted, AttendeeCapabilitiesUpdated) is
// published on the event bus, which stays the outside world's.
type Lifecycle interface {
	MeetingEnded(meetingID string)
	AttendeeDeleted(meetingID, attendeeID string)
	CapabilitiesUpdated(meetingID, attendeeID string, c Capabilities)
}

// Observe registers l for every later lifecycle change. Register before
// the service answers requests.
func (s *Service) Observe(l Lifecycle) {
	s.observersMu.Lock()
	defer s.observersMu.Unlock()
	s.observers = append(s.observers, l)
}

// react hands e's lifecycle change, if it is one, to the observers.
func (s *Service) react(e events.Event) {
	d := e.Detail
	s.observersMu.Lock()
	obs := s.observers
	s.observersMu.Unlock()
	for _, l := range obs {
		switch d.EventType {
		case events.MeetingEnded:
			l.MeetingEnded(d.MeetingID)
		case events.AttendeeDeleted:
			l.AttendeeDeleted(d.MeetingID, d.AttendeeID)
		case events.AttendeeCapabilitiesUpdated:
			if c := d.AttendeeCapabilities; c != nil {
				l.CapabilitiesUpdated(d.MeetingID, d.AttendeeID, Capabilities{Audio: c.Audio, Video: c.Video, Content: c.Content})
			}
		}
	}
}

// EndMeeting ends a live meeting for a reason of its runtime's (an
// auto-end rule, a contained fault), like DeleteMeeting: MeetingEnded goes
// out and its join tokens stop verifying (conference.Ender).
func (s *Service) EndMeeting(ctx context.Context, meetingID, reason string) error {
	m, err := s.lookup(meetingID)
	if err != nil {
		return err
	}
	return s.end(ctx, m, reason)
}

// SetConnected is how the media layer reports an attendee's connection
// coming up (true) or going away (false); it keeps the meeting from ending
// idle while anyone is connected. Calls must pair up per connection.
func (s *Service) SetConnected(meetingID, attendeeID string, connected bool) {
	m, err := s.lookup(meetingID)
	if err != nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if connected {
		m.connected[attendeeID]++
		return
	}
	if m.connected[attendeeID] <= 1 {
		delete(m.connected, attendeeID)
	} else {
		m.connected[attendeeID]--
	}
	if len(m.connected) == 0 {
		m.idleSince = s.p.Clock.Now()
	}
}

// ActiveMeetings reports how many meetings are live (for metrics).
func (s *Service) ActiveMeetings() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.meetings)
}
