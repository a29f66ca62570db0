package sfu

import (
	"context"
	"sync"

	"github.com/confab-media/confab/signaling/events"
	"github.com/confab-media/confab/signaling/meeting"
)

// capBook keeps the capabilities changed (chime:AttendeeCapabilitiesUpdated)
// since this process started, by meeting and attendee: a session's Identity
// carries those of its JOIN, which a later change overrides. Entries go with
// AttendeeDeleted and MeetingEnded, so the book holds at most the attendees
// of the live meetings.
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

var _ events.Sink = (*Server)(nil)

// Deliver makes the Server an events.Sink (subscribe it to the bus):
// chime:AttendeeCapabilitiesUpdated applies the attendee's new
// capabilities to its live peers, content share and phone legs at once
// (UpdateAttendeeCapabilities and BatchUpdateAttendeeCapabilitiesExcept
// publish it after their commit, before they answer).
func (sv *Server) Deliver(_ context.Context, e events.Event) {
	d := e.Detail
	switch d.EventType {
	case events.AttendeeCapabilitiesUpdated:
		if d.AttendeeCapabilities == nil {
			return
		}
		c := meeting.Capabilities{
			Audio: d.AttendeeCapabilities.Audio, Video: d.AttendeeCapabilities.Video,
			Content: d.AttendeeCapabilities.Content,
		}
		sv.caps.set(d.MeetingID, d.AttendeeID, c)
		sv.applyCaps(d.MeetingID, d.AttendeeID, c)
	case events.AttendeeDeleted:
		sv.caps.forget(d.MeetingID, d.AttendeeID)
	case events.MeetingEnded:
		sv.caps.forget(d.MeetingID, "")
	}
}

// capsOf is what the member with identity id may do now.
func (sv *Server) capsOf(id meeting.Identity) mediaCaps {
	c := id.Capabilities
	if o, ok := sv.caps.get(id.MeetingID, baseAttendee(id.AttendeeID)); ok {
		c = o
	}
	return capsFor(c, id.MaxResolution, id.Content)
}

// applyCaps applies an attendee's capabilities to its members in the
// meeting's room: its peers (the content share's too) and phone legs.
func (sv *Server) applyCaps(meetingID, attendeeID string, c meeting.Capabilities) {
	sv.mu.Lock()
	rm := sv.rooms[meetingID]
	sv.mu.Unlock()
	if rm == nil {
		return
	}
	for _, p := range rm.peerList() {
		if baseAttendee(p.attendeeID) == attendeeID {
			sv.setPeerCaps(p, capsFor(c, p.maxRes, p.content))
		}
	}
	for _, pl := range rm.phoneList() {
		if pl.attendeeID == attendeeID {
			pl.setCaps(capsFor(c, maxResolution{}, false))
		}
	}
}

// setPeerCaps applies c to p and tells the room what changed: a camera or
// share that stopped or restarted (events, everyone's INDEX), or p's own
// INDEX when what it may receive changed.
func (sv *Server) setPeerCaps(p *Peer, c mediaCaps) {
	res, recvChanged := p.setCaps(c)
	switch res {
	case publishStarted:
		sv.event(videoStarted(p.content), p.sess)
		p.room.broadcastIndex()
	case publishStopped:
		sv.event(videoStopped(p.content), p.sess)
		p.room.broadcastIndex()
	default:
		if recvChanged {
			_ = p.sess.Send(p.room.indexFor(p, sv.p.Clock.Now()))
		}
	}
}
