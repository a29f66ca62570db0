package sfu

import (
	"sort"
	"strings"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/confab-media/confab/signaling/protocol"
)

const contentSuffix = "#content"

// statsLoop measures the layers every interval: when the set of available
// layers changed it sends everyone a new INDEX; it sends BITRATES, and fits
// each subscriber's forwarded layers to its bandwidth.
func (rm *Room) statsLoop(interval time.Duration) {
	defer rm.wg.Done()
	defer rm.recoverLoop("sfu room stats loop")
	ticks, stop := rm.clock.Tick(interval)
	defer stop()
	last := rm.clock.Now()
	for {
		select {
		case <-rm.done:
			return
		case <-ticks:
		}
		now := rm.clock.Now()
		changed := rm.video.measure(now.Sub(last))
		last = now
		rm.video.askSizes(now)
		if changed {
			rm.requestIndex()
		}
		rates := rm.video.bitrates()
		for _, p := range rm.peerList() {
			if len(rates) > 0 {
				f := protocol.NewFrame(protocol.SdkSignalFrame_BITRATES, now)
				f.Bitrates = &protocol.SdkBitrateFrame{Bitrates: rates}
				_ = p.sess.Send(f)
			}
			p.fitLayers(now)
		}
	}
}

// peerList returns the room's peers in session order.
func (rm *Room) peerList() []*Peer {
	rm.mu.Lock()
	out := make([]*Peer, 0, len(rm.peers))
	for _, p := range rm.peers {
		out = append(out, p)
	}
	rm.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].sessionID < out[j].sessionID })
	return out
}

// indexShared is what every peer's INDEX of one broadcast has in common,
// computed once per broadcast rather than once per peer.
type indexShared struct {
	participants uint32
	codecs       []protocol.SdkVideoCodecCapability
}

// shared computes the room-wide parts of INDEX.
func (rm *Room) shared() indexShared {
	return indexShared{participants: rm.participants(), codecs: rm.codecIntersection()}
}

// participants counts the attendees with a peer, content shares aside.
func (rm *Room) participants() uint32 {
	rm.mu.Lock()
	defer rm.mu.Unlock()
	seen := make(map[string]bool, len(rm.peers))
	for _, p := range rm.peers {
		if !strings.HasSuffix(p.attendeeID, contentSuffix) {
			seen[p.attendeeID] = true
		}
	}
	return uint32(len(seen))
}

// indexFor builds the INDEX frame for one peer of the room.
func (rm *Room) indexFor(p *Peer, now time.Time, sh indexShared) *protocol.SdkSignalFrame {
	f := protocol.NewFrame(protocol.SdkSignalFrame_INDEX, now)
	f.Index = rm.video.index(p.sessionID, p.attendeeID, p.capsNow())
	f.Index.NumParticipants = proto.Uint32(sh.participants)
	f.Index.SupportedReceiveCodecIntersection = sh.codecs
	return f
}

// broadcastIndex sends every peer its INDEX now. Callers that react to a
// change use requestIndex, which coalesces.
func (rm *Room) broadcastIndex() {
	rm.indexMu.Lock()
	defer rm.indexMu.Unlock()
	now := rm.clock.Now()
	sh := rm.shared()
	for _, p := range rm.peerList() {
		_ = p.sess.Send(rm.indexFor(p, now, sh))
	}
}

// sendIndex sends p alone its INDEX now.
func (rm *Room) sendIndex(p *Peer) {
	rm.indexMu.Lock()
	defer rm.indexMu.Unlock()
	_ = p.sess.Send(rm.indexFor(p, rm.clock.Now(), rm.shared()))
}
