package conference

import (
	"cmp"
	"slices"
	"sync"

	"github.com/confab-media/confab/signaling/meeting"
)

// Presence is one member's entry in its meeting's roster: the
// audio_stream_id the clients know it by (AUDIO_STREAM_ID_INFO, fact sheet
// section 6), who it is, whether it is a dial-in caller and whether it is
// muted.
type Presence struct {
	StreamID uint32
	Identity meeting.Identity
	Phone    bool
	Muted    bool
}

// Roster is one meeting's presence: who is in the meeting's audio, under
// which stream id, muted or not. Stream ids are given out in increasing
// order and never reused within a Room, so a higher id supersedes a lower
// one in the clients. An attendee has at most one current WebRTC entry
// and one phone entry: a later arrival of the same kind supersedes the
// earlier one (joined from another device).
//
// Client signaling renders the roster; it calls Arrive, Depart and
// SetMuted while holding its own per-meeting lock, so its frames leave in
// roster order. The Room reads it to name volume reports by stream id.
type Roster struct {
	mu       sync.Mutex
	last     uint32 // the last stream id given out
	byStream map[uint32]*Presence
	current  map[rosterKey]uint32 // an attendee's current entry of each kind
}

type rosterKey struct {
	attendeeID string
	phone      bool
}

// Arrive adds id's entry with a new stream id. If the attendee already had
// an entry of the same kind, that entry leaves the roster and its stream id
// is returned as superseded (0 otherwise).
func (r *Roster) Arrive(id meeting.Identity, phone, muted bool) (p Presence, superseded uint32) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.byStream == nil {
		r.byStream = map[uint32]*Presence{}
		r.current = map[rosterKey]uint32{}
	}
	key := rosterKey{id.AttendeeID, phone}
	if old, ok := r.current[key]; ok {
		delete(r.byStream, old)
		superseded = old
	}
	r.last++
	e := &Presence{StreamID: r.last, Identity: id, Phone: phone, Muted: muted}
	r.byStream[e.StreamID] = e
	r.current[key] = e.StreamID
	return *e, superseded
}

// Depart removes the entry of streamID and reports whether it was present
// (false for an entry already superseded).
func (r *Roster) Depart(streamID uint32) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	e, ok := r.byStream[streamID]
	if !ok {
		return false
	}
	delete(r.byStream, streamID)
	key := rosterKey{e.Identity.AttendeeID, e.Phone}
	if r.current[key] == streamID {
		delete(r.current, key)
	}
	return true
}

// SetMuted records the mute state of streamID's entry and reports whether
// it changed (false for an absent entry).
func (r *Roster) SetMuted(streamID uint32, muted bool) (changed bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	e, ok := r.byStream[streamID]
	if !ok || e.Muted == muted {
		return false
	}
	e.Muted = muted
	return true
}

// Get returns streamID's entry.
func (r *Roster) Get(streamID uint32) (Presence, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if e, ok := r.byStream[streamID]; ok {
		return *e, true
	}
	return Presence{}, false
}

// List returns every entry in stream id order.
func (r *Roster) List() []Presence {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]Presence, 0, len(r.byStream))
	for _, e := range r.byStream {
		out = append(out, *e)
	}
	slices.SortFunc(out, func(a, b Presence) int { return cmp.Compare(a.StreamID, b.StreamID) })
	return out
}

// Len is the number of entries (WebRTC attendees, content shares and
// phone callers).
func (r *Roster) Len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.byStream)
}

// StreamOf returns the stream id volume reports name attendeeID by: its
// WebRTC entry, else its phone entry, else 0.
func (r *Roster) StreamOf(attendeeID string) uint32 {
	r.mu.Lock()
	defer r.mu.Unlock()
	if s, ok := r.current[rosterKey{attendeeID, false}]; ok {
		return s
	}
	return r.current[rosterKey{attendeeID, true}]
}
