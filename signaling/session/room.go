package session

import (
	"context"
	"sync"

	"google.golang.org/protobuf/proto"

	"github.com/confab-media/confab/conference"
	"github.com/confab-media/confab/signaling/events"
	"github.com/confab-media/confab/signaling/media"
	"github.com/confab-media/confab/signaling/meeting"
	"github.com/confab-media/confab/signaling/protocol"
)

// room is one meeting's set of sessions: presence (AUDIO_STREAM_ID_INFO,
// fact sheet section 6), mute, volumes and data messages. Frames that must
// be ordered across sessions are queued under mu; queueing never blocks.
type room struct {
	h  *Handler
	id string // meeting ID, lower case

	// emitMu serialises publishing, so events leave in the order they
	// were queued under mu; it is held without mu while publishing.
	emitMu sync.Mutex

	mu      sync.Mutex            // guards everything below
	pending []events.Event        // attendee events to publish, in order
	all     map[*Session]struct{} // every connected session
	joined  map[string]*Session   // current session by attendee ID
	phones  int                   // dial-in callers present (phone.go)
	ended   bool                  // the meeting ended: no more joins
	data    dataState
	mutes   muteAnnouncer // presence.go
	// roster is the meeting's presence, owned by its conference Room: the
	// stream ids and mute states. The room changes it only under mu, so
	// what it renders leaves in roster order. Set by the first join.
	roster *conference.Roster
}

func newRoom(h *Handler, id string) *room {
	return &room{h: h, id: id, all: map[*Session]struct{}{}, joined: map[string]*Session{}, data: newDataState(h.cfg)}
}

// join makes s its attendee's current session (queueing AttendeeJoined,
// or AttendeeAuthorized for a rejoin; see flushEvents) and queues, in order, to s:
// JOIN_ACK, INDEX, the full presence list (itself included) and the
// retained data messages; to the others: s's presence entry (and the
// replaced session's departure). A previous session of the same attendee
// is told AUDIO_STATUS 301 and closed.
func (r *room) join(s *Session) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch {
	case r.ended:
		return meeting.ErrMeetingEnded
	case s.departed || s.isClosing():
		return ErrClosed
	}
	roster, err := r.rosterLocked()
	if err != nil {
		return err
	}
	att := s.ident.AttendeeID
	old := r.joined[att]
	me, superseded := roster.Arrive(s.ident, false, s.muted)
	s.streamID.Store(me.StreamID)
	r.joined[att] = s
	s.joined.Store(true)
	r.h.p.Presence.SetConnected(s.ident.MeetingID, att, true) // paired in leave, under mu

	ack := s.frame(protocol.SdkSignalFrame_JOIN_ACK)
	ack.Joinack = &protocol.SdkJoinAckFrame{}
	if t := r.h.p.TURN; t != nil {
		if c, ok := t.Credentials(s.ident); ok {
			ack.Joinack.TurnCredentials = c
		}
	}
	idx := s.frame(protocol.SdkSignalFrame_INDEX)
	idx.Index = &protocol.SdkIndexFrame{}
	if ix, ok := r.h.p.Media.(media.Indexer); ok {
		idx.Index = ix.Index(s)
	}
	idx.Index.NumParticipants = proto.Uint32(uint32(len(r.joined)))
	list := roster.List()
	all := make([]*protocol.SdkAudioStreamIdInfo, 0, len(list))
	for _, p := range list {
		all = append(all, presenceEntry(p))
	}
	info := s.frame(protocol.SdkSignalFrame_AUDIO_STREAM_ID_INFO)
	info.AudioStreamIdInfo = &protocol.SdkAudioStreamIdInfoFrame{Streams: all}
	for _, f := range []*protocol.SdkSignalFrame{ack, idx, info} {
		s.enqueueFrame(f)
	}

	s.announced = s.muted // in its presence entry
	entries := []*protocol.SdkAudioStreamIdInfo{presenceEntry(me)}
	if superseded != 0 {
		// A higher audio_stream_id supersedes the old one; the old one's
		// departure then raises no "left" in the clients.
		entries = append(entries, &protocol.SdkAudioStreamIdInfo{AudioStreamId: proto.Uint32(superseded)})
	}
	up := s.frame(protocol.SdkSignalFrame_AUDIO_STREAM_ID_INFO)
	up.AudioStreamIdInfo = &protocol.SdkAudioStreamIdInfoFrame{Streams: entries}
	r.broadcastLocked(up, s)

	r.pending = append(r.pending, r.h.event(s.joinEvent(old != nil), s.ident))
	if old != nil {
		st := s.frame(protocol.SdkSignalFrame_AUDIO_STATUS)
		st.AudioStatus = &protocol.SdkAudioStatusFrame{AudioStatus: proto.Uint32(audioStatusJoinedFromAnotherDevice)}
		old.terminate(closeReq{kind: departLeft, code: CloseReplaced, reason: "joined from another device"}, mustEncode(st))
	}
	if msgs := r.data.replayLocked(r.h.p.Clock.Now(), att); len(msgs) > 0 {
		f := s.frame(protocol.SdkSignalFrame_DATA_MESSAGE)
		f.DataMessage = &protocol.SdkDataMessageFrame{Messages: msgs}
		s.enqueueFrame(f)
	}
	return nil
}

// leave takes s out of the room for good. It reports whether s had joined
// and whether it was still its attendee's current session, in which case
// its departure is broadcast (dropped marks a drop) and its Left or Dropped
// event queued.
func (r *room) leave(s *Session, dropped bool) (wasJoined, current bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	s.departed = true
	if !s.joined.Load() {
		return false, false
	}
	r.h.p.Presence.SetConnected(s.ident.MeetingID, s.ident.AttendeeID, false)
	if r.joined[s.ident.AttendeeID] != s {
		return true, false
	}
	delete(r.joined, s.ident.AttendeeID)
	r.roster.Depart(s.AudioStreamID())
	r.pending = append(r.pending, r.h.event(s.departEvent(), s.ident))
	e := &protocol.SdkAudioStreamIdInfo{AudioStreamId: proto.Uint32(s.AudioStreamID())}
	if dropped {
		e.Dropped = proto.Bool(true)
	}
	f := s.frame(protocol.SdkSignalFrame_AUDIO_STREAM_ID_INFO)
	f.AudioStreamIdInfo = &protocol.SdkAudioStreamIdInfoFrame{Streams: []*protocol.SdkAudioStreamIdInfo{e}}
	r.broadcastLocked(f, nil)
	return true, true
}

// flushEvents publishes the queued attendee events, in order. Call it
// without holding mu.
func (r *room) flushEvents() {
	r.emitMu.Lock()
	defer r.emitMu.Unlock()
	r.mu.Lock()
	evs := r.pending
	r.pending = nil
	r.mu.Unlock()
	for _, e := range evs {
		r.h.p.Events.Publish(context.Background(), e)
	}
}

// setMuted records s's mute state and reports whether it changed. A change
// of the attendee's current session is announced to every session, s
// included, coalesced with the room's other changes (presence.go).
func (r *room) setMuted(s *Session, muted bool) (changed bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if s.muted == muted {
		return false
	}
	s.muted = muted
	if r.joined[s.ident.AttendeeID] == s {
		r.roster.SetMuted(s.AudioStreamID(), muted)
		r.muteChangedLocked(s)
	} // else: announced with the presence entry at join
	return true
}

// broadcastVolumes sends one AUDIO_METADATA frame to every joined session.
func (r *room) broadcastVolumes(vols []conference.Volume) {
	r.mu.Lock()
	defer r.mu.Unlock()
	states := make([]*protocol.SdkAudioAttendeeState, 0, len(vols))
	for _, v := range vols {
		stream := v.StreamID
		if stream == 0 && r.roster != nil {
			// A Room other than the roster's (Params.Rooms unset) names
			// attendees only.
			stream = r.roster.StreamOf(v.AttendeeID)
		}
		if stream == 0 {
			continue // not present
		}
		states = append(states, &protocol.SdkAudioAttendeeState{
			AudioStreamId:  proto.Uint32(stream),
			Volume:         proto.Uint32(v.Volume),
			SignalStrength: proto.Uint32(v.SignalStrength),
		})
	}
	f := protocol.NewFrame(protocol.SdkSignalFrame_AUDIO_METADATA, r.h.p.Clock.Now())
	f.AudioMetadata = &protocol.SdkAudioMetadataFrame{AttendeeStates: states}
	r.offerLocked(f, nil) // the next report supersedes it
}

// end marks the room ended: no session joins it any more.
func (r *room) end() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ended = true
}

// evict closes every session match selects; joined ones are first told
// audioStatus (if not 0).
func (r *room) evict(match func(*Session) bool, req closeReq, audioStatus uint32) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for s := range r.all {
		if !match(s) {
			continue
		}
		var final []byte
		if audioStatus != 0 && s.joined.Load() {
			f := s.frame(protocol.SdkSignalFrame_AUDIO_STATUS)
			f.AudioStatus = &protocol.SdkAudioStatusFrame{AudioStatus: proto.Uint32(audioStatus)}
			final = mustEncode(f)
		}
		s.terminate(req, final)
	}
}

// broadcastLocked queues f to every joined session but except.
func (r *room) broadcastLocked(f *protocol.SdkSignalFrame, except *Session) {
	b := mustEncode(f)
	for _, s := range r.joined {
		if s != except {
			_ = s.enqueue(b) // a full queue drops that session, not the meeting
		}
	}
}

// offerLocked is broadcastLocked for best-effort frames (Session.offer):
// a listener far behind skips f. One encoding is shared by every queue.
func (r *room) offerLocked(f *protocol.SdkSignalFrame, except *Session) {
	b := mustEncode(f)
	for _, s := range r.joined {
		if s != except {
			s.offer(b)
		}
	}
}

// rosterLocked returns the meeting's roster, fetching it from its
// conference Room on first use.
func (r *room) rosterLocked() (*conference.Roster, error) {
	switch {
	case r.roster != nil:
	case r.h.p.Rooms == nil:
		r.roster = &conference.Roster{}
	default:
		cr, err := r.h.p.Rooms.Room(r.id)
		if err != nil {
			return nil, err
		}
		r.roster = cr.Roster()
	}
	return r.roster, nil
}

// presenceEntry is a roster entry as the clients read it: stream,
// attendee, external user and mute state.
func presenceEntry(p conference.Presence) *protocol.SdkAudioStreamIdInfo {
	return &protocol.SdkAudioStreamIdInfo{
		AudioStreamId:  proto.Uint32(p.StreamID),
		AttendeeId:     proto.String(p.Identity.AttendeeID),
		ExternalUserId: proto.String(p.Identity.ExternalUserID),
		Muted:          proto.Bool(p.Muted),
	}
}

func (s *Session) enqueueFrame(f *protocol.SdkSignalFrame) { _ = s.enqueue(mustEncode(f)) }

// mustEncode encodes a frame built here; every such frame has its required
// fields, so failing is a bug.
func mustEncode(f *protocol.SdkSignalFrame) []byte {
	b, err := protocol.Encode(f)
	if err != nil {
		panic("session: " + err.Error())
	}
	return b
}
