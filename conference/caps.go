package conference

import (
	"strings"
	"sync"

	"github.com/confab-media/confab/signaling/meeting"
)

// contentSuffix marks a content-share attendee id (<attendee>#content).
const contentSuffix = "#content"

// BaseAttendee is the attendee a member id belongs to: a content share's
// <attendee>#content belongs to <attendee>.
func BaseAttendee(id string) string { return strings.TrimSuffix(id, contentSuffix) }

// SetCapabilities records an attendee's new capabilities
// (UpdateAttendeeCapabilities, published as AttendeeCapabilitiesUpdated):
// they override the ones its join token carried, apply at once to its
// phone calls and are handed to every OnCapabilities function (the SFU's
// peers).
func (r *Registry) SetCapabilities(meetingID, attendeeID string, c meeting.Capabilities) {
	r.caps.set(meetingID, attendeeID, c)
	if rm := r.Lookup(meetingID); rm != nil {
		rm.applyPhoneCaps(attendeeID, c)
	}
	r.capsMu.Lock()
	fns := r.capsFns
	r.capsMu.Unlock()
	for _, fn := range fns {
		fn(meetingID, attendeeID, c)
	}
}

// OnCapabilities registers fn to hear every capability change. Register
// before the Registry is used.
func (r *Registry) OnCapabilities(fn func(meetingID, attendeeID string, c meeting.Capabilities)) {
	r.capsMu.Lock()
	defer r.capsMu.Unlock()
	r.capsFns = append(r.capsFns, fn)
}

// Capabilities is what the member with identity id may do now: the last
// change since this process started, else what its join token carried.
func (r *Registry) Capabilities(id meeting.Identity) meeting.Capabilities {
	if c, ok := r.caps.get(id.MeetingID, BaseAttendee(id.AttendeeID)); ok {
		return c
	}
	return id.Capabilities
}

// Sends reports whether a capability value allows sending. An empty value
// (a record written before capabilities existed) is the API's default,
// SendReceive.
func Sends(v string) bool { return v == "" || v == "SendReceive" || v == "Send" }

// Receives reports whether a capability value allows receiving.
func Receives(v string) bool { return v == "" || v == "SendReceive" || v == "Receive" }

// capBook keeps the capabilities changed since this process started, by
// meeting and attendee. Entries go with the attendee (RemoveAttendee) and
// the meeting (End), so it holds at most the live meetings' attendees.
type capBook struct {
	mu sync.Mutex // guards m
	m  map[string]map[string]meeting.Capabilities
}

func (b *capBook) set(meetingID, attendeeID string, c meeting.Capabilities) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.m == nil {
		b.m = map[string]map[string]meeting.Capabilities{}
	}
	byAtt := b.m[meetingID]
	if byAtt == nil {
		byAtt = map[string]meeting.Capabilities{}
		b.m[meetingID] = byAtt
	}
	byAtt[attendeeID] = c
}

func (b *capBook) get(meetingID, attendeeID string) (meeting.Capabilities, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	c, ok := b.m[meetingID][attendeeID]
	return c, ok
}

// forget drops one attendee's entry, or with attendeeID "" the meeting's.
func (b *capBook) forget(meetingID, attendeeID string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if attendeeID == "" {
		delete(b.m, meetingID)
		return
	}
	delete(b.m[meetingID], attendeeID)
	if len(b.m[meetingID]) == 0 {
		delete(b.m, meetingID)
	}
}
