package store

import (
	"context"
	"sort"
	"sync"
)

// Memory is a Store that keeps everything in maps: for unit tests and for
// running without a data directory. Nothing survives the process.
type Memory struct {
	mu        sync.Mutex // guards everything below
	meetings  map[string]MeetingRecord
	attendees map[string]map[string]AttendeeRecord // meeting → attendee → record
	objects   map[string]map[string][]byte         // kind → id → data
	closed    bool
}

var _ Store = (*Memory)(nil)

// NewMemory returns an empty in-memory store.
func NewMemory() *Memory {
	return &Memory{meetings: map[string]MeetingRecord{}, attendees: map[string]map[string]AttendeeRecord{}}
}

// Load returns all records, meetings by creation time.
func (s *Memory) Load(context.Context) ([]MeetingRecord, []AttendeeRecord, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var ms []MeetingRecord
	var as []AttendeeRecord
	for id, m := range s.meetings {
		ms = append(ms, m)
		for _, a := range s.attendees[id] {
			as = append(as, a)
		}
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].CreatedAt.Before(ms[j].CreatedAt) })
	sort.Slice(as, func(i, j int) bool { return as[i].CreatedAt.Before(as[j].CreatedAt) })
	return ms, as, nil
}

// Submit applies ops at once.
func (s *Memory) Submit(ops ...Op) <-chan error {
	done := make(chan error, 1)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		done <- ErrClosed
		return done
	}
	for _, op := range ops {
		switch op.kind {
		case opPutMeeting:
			s.meetings[op.meetingID] = op.meeting
		case opDeleteMeeting:
			delete(s.meetings, op.meetingID)
			delete(s.attendees, op.meetingID)
		case opPutAttendee:
			if s.attendees[op.meetingID] == nil {
				s.attendees[op.meetingID] = map[string]AttendeeRecord{}
			}
			s.attendees[op.meetingID][op.attendeeID] = op.attendee
		case opDeleteAttendee:
			delete(s.attendees[op.meetingID], op.attendeeID)
		case opPutObject:
			if s.objects == nil {
				s.objects = map[string]map[string][]byte{}
			}
			if s.objects[op.object.Kind] == nil {
				s.objects[op.object.Kind] = map[string][]byte{}
			}
			s.objects[op.object.Kind][op.object.ID] = append([]byte(nil), op.object.Data...)
		case opDeleteObject:
			delete(s.objects[op.object.Kind], op.object.ID)
		case opEvent: // no outbox: HasOutbox is false
		}
	}
	done <- nil
	return done
}

// Close marks the store closed.
func (s *Memory) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	return nil
}

// LoadObjects returns the objects of kind, by id.
func (s *Memory) LoadObjects(_ context.Context, kind string) ([]Object, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Object
	for id, d := range s.objects[kind] {
		out = append(out, Object{Kind: kind, ID: id, Data: append([]byte(nil), d...)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}
