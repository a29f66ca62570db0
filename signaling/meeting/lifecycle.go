package meeting

import (
	"context"
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
