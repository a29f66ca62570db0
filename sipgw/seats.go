package sipgw

import (
	"sync"
	"time"

	"github.com/confab-media/confab/signaling/meeting"
)

// A seat is an attendee's one place for a call, taken before the call's
// media and leg are set up and given back when the call has left its
// meeting. A new INVITE for an attendee that holds a seat takes it over:
// the holder is kicked (its call ends with BYE, reason "replaced") and the
// newcomer waits until the holder has left the meeting, so that the
// attendee is never in the mix twice. Seats also count the calls of each
// meeting for Config.MaxCallsPerMeeting.
type seat struct {
	key      seatKey
	kick     chan struct{} // closed to make the holder end its call
	kickOnce sync.Once
	free     chan struct{} // closed when the holder gave the seat back
	freeOnce sync.Once
}

type seatKey struct{ meeting, attendee string }

// seats is the gateway's table of seats, by attendee and by meeting.
type seats struct {
	mu         sync.Mutex // guards byAttendee and perMeeting
	byAttendee map[seatKey]*seat
	perMeeting map[string]int // attendees holding a seat, by meeting
}

func newSeats() *seats {
	return &seats{byAttendee: map[seatKey]*seat{}, perMeeting: map[string]int{}}
}

// replaceWait bounds how long a newcomer waits for the call it replaces to
// leave its meeting.
const replaceWait = 5 * time.Second

// take gives id a seat, kicking its current holder, or returns nil when
// the meeting already has max callers (a replacement is never refused for
// the cap: it takes an attendee's existing place). The caller must give
// the seat back with release.
func (s *seats) take(id meeting.Identity, max int) (*seat, *seat) {
	k := seatKey{id.MeetingID, id.AttendeeID}
	s.mu.Lock()
	defer s.mu.Unlock()
	old := s.byAttendee[k]
	if old == nil && s.perMeeting[k.meeting] >= max {
		return nil, nil
	}
	st := &seat{key: k, kick: make(chan struct{}), free: make(chan struct{})}
	s.byAttendee[k] = st
	if old == nil {
		s.perMeeting[k.meeting]++
	}
	return st, old
}

// release gives a seat back; it is idempotent.
func (s *seats) release(st *seat) {
	st.freeOnce.Do(func() {
		s.mu.Lock()
		if s.byAttendee[st.key] == st {
			delete(s.byAttendee, st.key)
			if n := s.perMeeting[st.key.meeting] - 1; n > 0 {
				s.perMeeting[st.key.meeting] = n
			} else {
				delete(s.perMeeting, st.key.meeting)
			}
		}
		s.mu.Unlock()
		close(st.free)
	})
}

// evict asks the holder of st to end its call and waits (up to
// replaceWait, or until abort closes) for it to give the seat back. It
// reports whether the seat was given back.
func (st *seat) evict(abort <-chan struct{}) bool {
	st.kickOnce.Do(func() { close(st.kick) })
	t := time.NewTimer(replaceWait)
	defer t.Stop()
	select {
	case <-st.free:
		return true
	case <-t.C:
	case <-abort:
	}
	return false
}
