package session

import (
	"cmp"
	"slices"
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

func (p *phone) entry() *protocol.SdkAudioStreamIdInfo {
	return &protocol.SdkAudioStreamIdInfo{
		AudioStreamId: proto.Uint32(p.streamID), AttendeeId: proto.String(p.ident.AttendeeID),
		ExternalUserId: proto.String(p.ident.ExternalUserID), Muted: proto.Bool(false),
	}
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
	rm.nextStreamID++
	p := &phone{ident: id, streamID: rm.nextStreamID}
	if rm.phones == nil {
		rm.phones = map[string]*phone{}
	}
	rm.phones[id.AttendeeID] = p
	h.p.Presence.SetConnected(id.MeetingID, id.AttendeeID, true)
	f := protocol.NewFrame(protocol.SdkSignalFrame_AUDIO_STREAM_ID_INFO, h.p.Clock.Now())
	f.AudioStreamIdInfo = &protocol.SdkAudioStreamIdInfoFrame{Streams: []*protocol.SdkAudioStreamIdInfo{p.entry()}}
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
	if rm.phones[p.ident.AttendeeID] == p {
		delete(rm.phones, p.ident.AttendeeID)
	}
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
	if len(rm.all) == 0 && len(rm.phones) == 0 && !rm.data.keepsLocked(h.p.Clock.Now()) && h.rooms[rm.id] == rm {
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

// phoneEntriesLocked returns the present phones' entries in stream order.
func (r *room) phoneEntriesLocked() []*protocol.SdkAudioStreamIdInfo {
	ps := make([]*phone, 0, len(r.phones))
	for _, p := range r.phones {
		ps = append(ps, p)
	}
	slices.SortFunc(ps, func(a, b *phone) int { return cmp.Compare(a.streamID, b.streamID) })
	out := make([]*protocol.SdkAudioStreamIdInfo, 0, len(ps))
	for _, p := range ps {
		out = append(out, p.entry())
	}
	return out
}
