package conference

import (
	"log/slog"
	"sync"
	"sync/atomic"

	"github.com/confab-media/confab/internal/clock"
	"github.com/confab-media/confab/mixer"
	"github.com/confab-media/confab/signaling/meeting"
)

// Registry holds the Rooms of the meetings live on this node. A Room is
// created with its meeting's first member and lives until the meeting
// ends (End), an auto-end rule or a contained panic ends it, or the
// Registry closes. Close waits for every Room's goroutines.
type Registry struct {
	cfg      Config
	p        Params
	listener atomic.Pointer[Listener]
	output   atomic.Pointer[mixer.Batcher]
	caps     capBook

	capsMu  sync.Mutex // guards capsFns
	capsFns []func(meetingID, attendeeID string, c meeting.Capabilities)

	mu     sync.Mutex // guards rooms and closed
	rooms  map[string]*Room
	closed bool
	seq    atomic.Uint64 // phone member numbers
	wg     sync.WaitGroup

	metrics *collector
}

// New returns an empty Registry.
func New(cfg Config, p Params) *Registry {
	if p.Clock == nil {
		p.Clock = clock.System{}
	}
	if p.Log == nil {
		p.Log = slog.New(slog.DiscardHandler)
	}
	r := &Registry{cfg: cfg.withDefaults(), p: p, rooms: map[string]*Room{}}
	r.metrics = newCollector()
	if p.Registerer != nil {
		if err := p.Registerer.Register(r.metrics); err != nil {
			p.Log.Warn("conference: metrics not registered", "err", err)
		}
		if err := p.Registerer.Register(r.metrics.tick); err != nil {
			p.Log.Warn("conference: metrics not registered", "err", err)
		}
	}
	return r
}

// SetListener sets who renders the Rooms' reports (client signaling,
// which is built after the media servers that use the Registry).
func (r *Registry) SetListener(l Listener) { r.listener.Store(&l) }

// SetOutput sets what brackets each mixer tick's delivery (the media
// socket's send batching); Rooms created after it use it.
func (r *Registry) SetOutput(b mixer.Batcher) { r.output.Store(&b) }

func (r *Registry) batcher() mixer.Batcher {
	if b := r.output.Load(); b != nil {
		return *b
	}
	return nil
}

func (r *Registry) listen() Listener {
	if l := r.listener.Load(); l != nil {
		return *l
	}
	return nil
}

// Room returns meetingID's Room, creating it (and starting its mixer) if
// the meeting has none on this node.
func (r *Registry) Room(meetingID string) (*Room, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil, ErrClosed
	}
	if rm := r.rooms[meetingID]; rm != nil {
		return rm, nil
	}
	rm, err := newRoom(r, meetingID)
	if err != nil {
		return nil, err
	}
	r.rooms[meetingID] = rm
	r.metrics.add(rm)
	return rm, nil
}

// Lookup returns meetingID's Room, or nil if it has none.
func (r *Registry) Lookup(meetingID string) *Room {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.rooms[meetingID]
}

// Len is the number of live Rooms.
func (r *Registry) Len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.rooms)
}

// End ends meetingID's Room, if any: its phone calls are hung up and its
// mixer stops (legs still attached get no more audio). It returns at once;
// Close waits for the Room's goroutines.
func (r *Registry) End(meetingID string) {
	r.mu.Lock()
	rm := r.rooms[meetingID]
	if rm != nil {
		delete(r.rooms, meetingID)
		r.wg.Go(rm.close)
	}
	r.mu.Unlock()
	r.caps.forget(meetingID, "")
}

// RemoveAttendee ends what attendeeID has in meetingID: its phone calls
// are hung up, its capability override is forgotten (DeleteAttendee).
func (r *Registry) RemoveAttendee(meetingID, attendeeID string) {
	if rm := r.Lookup(meetingID); rm != nil {
		rm.hangUp(attendeeID)
	}
	r.caps.forget(meetingID, attendeeID)
}

// forget drops rm if it is still meetingID's Room (it closed itself).
func (r *Registry) forget(rm *Room) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.rooms[rm.id] == rm {
		delete(r.rooms, rm.id)
	}
}

// Close ends every Room and waits for all their goroutines. Later calls
// to Room fail with ErrClosed.
func (r *Registry) Close() {
	r.mu.Lock()
	r.closed = true
	rooms := r.rooms
	r.rooms = map[string]*Room{}
	for _, rm := range rooms {
		r.wg.Go(rm.close)
	}
	r.mu.Unlock()
	r.wg.Wait()
}
