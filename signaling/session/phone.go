package session

import (
	"sync"

	"google.golang.org/protobuf/proto"

	"github.com/confab-media/confab/signaling/events"
	"github.com/confab-media/confab/signaling/meeting"
	"github.com/confab-media/confab/signaling/protocol"
)

// phone is a SIP caller present in a room: an attendee with an audio
// stream but no signaling session.
type phone struct {
	ident    meeting.Identity
	streamID uint32
}

// JoinPhone makes a dial-in caller present in its meeting like any
// attendee: browsers get its AUDIO_STREAM_ID_INFO entry (and volume
// indicators, through BroadcastVolumes), the meeting counts it connected,
// and chime:AttendeeJoined goes out with networkType "PSTN". leave undoes
// it (chime:AttendeeLeft, or AttendeeDropped when dropped).
func (h *Handler) JoinPhone(id meeting.Identity) (leave func(dropped bool), err error) {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return nil, ErrClosed
	}
	rm := h.rooms[id.MeetingID]
	if rm == nil {
		rm = newRoom(h, id.MeetingID)
		h.rooms[rm.id] = rm
	}
	rm.mu.Lock()
	h.mu.Unlock()
	if rm.ended {
		rm.mu.Unlock()
		return nil, meeting.ErrMeetingEnded
	}
	roster, err := rm.rosterLocked()
	if err != nil {
		rm.mu.Unlock()
		return nil, err
	}
	// A caller replacing its attendee's earlier call supersedes that
	// call's entry; the earlier call's departure is announced when it ends.
	me, _ := roster.Arrive(id, true, false)
	p := &phone{ident: id, streamID: me.StreamID}
	rm.phones++
	h.p.Presence.SetConnected(id.MeetingID, id.AttendeeID, true)
	f := protocol.NewFrame(protocol.SdkSignalFrame_AUDIO_STREAM_ID_INFO, h.p.Clock.Now())
	f.AudioStreamIdInfo = &protocol.SdkAudioStreamIdInfoFrame{Streams: []*protocol.SdkAudioStreamIdInfo{presenceEntry(me)}}
	rm.broadcastLocked(f, nil)
	rm.pending = append(rm.pending, h.phoneEvent(events.AttendeeJoined, id))
	rm.mu.Unlock()
	rm.flushEvents()

	var once sync.Once
	return func(dropped bool) {
		once.Do(func() { h.leavePhone(rm, p, dropped) })
	}, nil
}

func (h *Handler) leavePhone(rm *room, p *phone, dropped bool) {
	rm.mu.Lock()
	rm.phones--
	rm.roster.Depart(p.streamID)
	h.p.Presence.SetConnected(p.ident.MeetingID, p.ident.AttendeeID, false)
	e := &protocol.SdkAudioStreamIdInfo{AudioStreamId: proto.Uint32(p.streamID)}
	t := events.AttendeeLeft
	if dropped {
		e.Dropped = proto.Bool(true)
		t = events.AttendeeDropped
	}
	f := protocol.NewFrame(protocol.SdkSignalFrame_AUDIO_STREAM_ID_INFO, h.p.Clock.Now())
	f.AudioStreamIdInfo = &protocol.SdkAudioStreamIdInfoFrame{Streams: []*protocol.SdkAudioStreamIdInfo{e}}
	rm.broadcastLocked(f, nil)
	rm.pending = append(rm.pending, h.phoneEvent(t, p.ident))
	rm.mu.Unlock()
	rm.flushEvents()
	h.mu.Lock()
	rm.mu.Lock()
	if len(rm.all) == 0 && rm.phones == 0 && !rm.data.keepsLocked(h.p.Clock.Now()) && h.rooms[rm.id] == rm {
		delete(h.rooms, rm.id)
	}
	rm.mu.Unlock()
	h.mu.Unlock()
}

func (h *Handler) phoneEvent(t events.Type, id meeting.Identity) events.Event {
	e := h.event(t, id)
	e.Detail.NetworkType = "PSTN"
	return e
}
