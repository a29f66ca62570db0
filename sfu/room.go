package sfu

import (
	"log/slog"
	"sync"

	"github.com/confab-media/confab/internal/guard"
	"github.com/confab-media/confab/mixer"
	"github.com/confab-media/confab/signaling/session"
)

// Room is one meeting's media: its mixer and its peers. The Server creates
// it with the meeting's first peer and closes it after the last one left.
type Room struct {
	meetingID string
	mix       *mixer.Mixer
	video     *videoRoom
	clock     mixer.Clock
	log       *slog.Logger

	mu     sync.Mutex // guards peers and phones
	peers  map[uint64]*Peer
	phones map[uint64]*PhoneLeg

	done chan struct{} // closed by close: stops the volume loop
	wg   sync.WaitGroup

	// panics counts a panic contained in the room's goroutines (mixer,
	// stats and volume loops); fail then ends the room (asynchronously).
	panics guard.Counter
	fail   func(*Room)
}

// newRoom creates a meeting's room and starts its goroutines. fail is
// called once one of them panicked (and recovered).
func newRoom(meetingID string, cfg Config, p Params, fail func(*Room)) (*Room, error) {
	rm := &Room{
		meetingID: meetingID, video: newVideoRoom(cfg), clock: p.Clock,
		log:   p.Log.With("meeting", meetingID),
		peers: map[uint64]*Peer{}, phones: map[uint64]*PhoneLeg{}, done: make(chan struct{}),
		panics: p.Panics, fail: fail,
	}
	m, err := mixer.New(cfg.Mixer, mixer.Params{Clock: p.Clock, Log: rm.log, Panics: p.Panics, OnPanic: rm.failed})
	if err != nil {
		return nil, err
	}
	rm.mix = m
	m.Start()
	rm.wg.Add(1)
	go rm.statsLoop(cfg.StatsInterval)
	if p.Volumes != nil {
		rm.wg.Add(1)
		go rm.volumeLoop(p.Clock, cfg.VolumeInterval, p.Volumes)
	}
	return rm, nil
}

// failed ends the room after a contained panic in one of its goroutines.
func (rm *Room) failed() {
	if rm.fail != nil {
		rm.fail(rm)
	}
}

// recoverLoop is deferred by the room's loops.
func (rm *Room) recoverLoop(what string) {
	if v := recover(); v != nil {
		guard.Handle(rm.log, rm.panics, what, v)
		rm.failed()
	}
}

func (rm *Room) add(p *Peer) {
	rm.mu.Lock()
	defer rm.mu.Unlock()
	rm.peers[p.sessionID] = p
}

func (rm *Room) remove(p *Peer) {
	rm.mu.Lock()
	defer rm.mu.Unlock()
	delete(rm.peers, p.sessionID)
}

// close stops the volume loop and the mixer. Its peers are closed already.
func (rm *Room) close() {
	close(rm.done)
	rm.wg.Wait()
	rm.mix.Close()
}

// volumeSource is what volumes needs of a peer.
type volumeSource struct {
	attendeeID string
	sessionID  uint64
	rx         uint64
}

// snapshot fills dst with, for each leg ID, the peer's attendee and packet
// counter.
func (rm *Room) snapshot(dst map[mixer.LegID]volumeSource) {
	clear(dst)
	rm.mu.Lock()
	defer rm.mu.Unlock()
	for id, p := range rm.peers {
		dst[legID(id)] = volumeSource{attendeeID: p.attendeeID, sessionID: id, rx: p.rxPackets.Load()}
	}
	for id, pl := range rm.phones {
		dst[pl.leg.ID()] = volumeSource{attendeeID: pl.attendeeID, sessionID: id, rx: pl.rx.Load()}
	}
}

// Peers returns the number of members in the room: WebRTC peers and
// phone legs.
func (rm *Room) Peers() int {
	rm.mu.Lock()
	defer rm.mu.Unlock()
	return len(rm.peers) + len(rm.phones)
}

func (rm *Room) addPhone(pl *PhoneLeg) {
	rm.mu.Lock()
	defer rm.mu.Unlock()
	rm.phones[pl.id] = pl
}

func (rm *Room) removePhone(pl *PhoneLeg) {
	rm.mu.Lock()
	defer rm.mu.Unlock()
	delete(rm.phones, pl.id)
}

// phoneList returns the room's phone legs.
func (rm *Room) phoneList() []*PhoneLeg {
	rm.mu.Lock()
	defer rm.mu.Unlock()
	out := make([]*PhoneLeg, 0, len(rm.phones))
	for _, pl := range rm.phones {
		out = append(out, pl)
	}
	return out
}

var _ VolumeSink = (*session.Handler)(nil)
