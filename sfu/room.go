package sfu

import (
	"log/slog"
	"sync"

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
}

func newRoom(meetingID string, cfg Config, p Params) (*Room, error) {
	m, err := mixer.New(cfg.Mixer, mixer.Params{Clock: p.Clock, Log: p.Log.With("meeting", meetingID)})
	if err != nil {
		return nil, err
	}
	rm := &Room{
		meetingID: meetingID, mix: m, video: newVideoRoom(cfg), clock: p.Clock,
		log:   p.Log.With("meeting", meetingID),
		peers: map[uint64]*Peer{}, phones: map[uint64]*PhoneLeg{}, done: make(chan struct{}),
	}
	m.Start()
	rm.wg.Add(1)
	go rm.statsLoop(cfg.StatsInterval)
	if p.Volumes != nil {
		rm.wg.Add(1)
		go rm.volumeLoop(p.Clock, cfg.VolumeInterval, p.Volumes)
	}
	return rm, nil
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

var _ VolumeSink = (*session.Handler)(nil)
