package sfu

import (
	"github.com/confab-media/confab/signaling/meeting"
)

// capsOf is what the member with identity id may do now.
func (sv *Server) capsOf(id meeting.Identity) mediaCaps {
	return capsFor(sv.conf.Capabilities(id), id.MaxResolution, id.Content)
}

// applyCaps applies an attendee's new capabilities to its peers in the
// meeting's room, the content share's too (conference.Registry calls it
// on every change; the Registry applies them to phone calls itself).
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
			p.room.sendIndex(p)
		}
	}
}
