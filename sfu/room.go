package sfu

import (
	"log/slog"
	"sync"

	"github.com/confab-media/confab/conference"
	"github.com/confab-media/confab/internal/clock"
	"github.com/confab-media/confab/internal/guard"
)

// Room is one meeting's WebRTC side on this node: its peers and its video
// routing. The meeting's audio (mixer, levels) is its conference.Room's;
// each peer's audio leg is attached there. The Server creates a Room with
// the meeting's first peer and closes it after the last one left.
type Room struct {
	meetingID string
	conf      *conference.Room
	video     *videoRoom
	clock     clock.Clock
	log       *slog.Logger
	stats     *counters  // the Server's
	out       *batchConn // the Server's media socket (send batching)

	mu    sync.Mutex // guards peers
	peers map[uint64]*Peer

	done     chan struct{} // closed by close: stops the stats and index loops
	indexDue chan struct{} // cap 1: an INDEX broadcast is due (requestIndex)
	// indexMu is held while an INDEX is built and queued, so INDEX frames
	// reach each session in the order their state was read: a broadcast
	// read before a change never arrives after one read after it.
	indexMu sync.Mutex
	wg      sync.WaitGroup

	// panics counts a panic contained in the room's stats loop; fail then
	// ends the room (asynchronously).
	panics guard.Counter
	fail   func(*Room)
}

// newRoom creates a meeting's room, attached to its conference Room, and
// starts its stats and index loops. fail is called once one of them
// panicked (and recovered).
func newRoom(meetingID string, conf *conference.Room, cfg Config, p Params, stats *counters, out *batchConn, fail func(*Room)) *Room {
	rm := &Room{
		out:       out,
		stats:     stats,
		meetingID: meetingID, conf: conf, video: newVideoRoom(cfg), clock: p.Clock,
		log:   p.Log.With("meeting", meetingID),
		peers: map[uint64]*Peer{}, done: make(chan struct{}), indexDue: make(chan struct{}, 1),
		panics: p.Panics, fail: fail,
	}
	rm.wg.Add(2)
	go rm.statsLoop(cfg.StatsInterval)
	go rm.indexLoop()
	return rm
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

// close stops the stats and index loops. Its peers are closed already.
func (rm *Room) close() {
	close(rm.done)
	rm.wg.Wait()
}

// Peers returns the number of WebRTC peers in the room.
func (rm *Room) Peers() int {
	rm.mu.Lock()
	defer rm.mu.Unlock()
	return len(rm.peers)
}
