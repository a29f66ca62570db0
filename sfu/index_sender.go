package sfu

import "time"

// indexMinGap is the least time between two coalesced INDEX broadcasts of
// one room. Joins and leaves (num_participants) and measured layer changes
// ask for one (requestIndex): it goes out at once when the room has been
// quiet that long, and changes that come faster (a class of 250 joining, a
// meeting emptying) are announced together at the end of the gap. Without
// it every join or leave sent INDEX to every peer: N² frames for N peers
// arriving or going, on the CPU the mixer tick needs. A video source that
// starts or stops is announced at once (broadcastIndex), and a joining peer
// gets its own INDEX before its SUBSCRIBE_ACK, as the SDK expects.
//
// Rooms of fewer than indexCoalesceFrom peers broadcast at once, as they
// always did: there the storm costs nothing, and the stock SDK renegotiates
// on a num_participants change, so an INDEX held back may land in the
// middle of its renegotiation (a likely cause of setParameters errors seen
// in the browser demo test under load while small rooms coalesced too).
const (
	indexMinGap       = 100 * time.Millisecond
	indexCoalesceFrom = 24
)

// requestIndex sends every peer its INDEX (num_participants, video
// sources, codec intersection): at once in a small room, else through the
// room's index loop (never blocking).
func (rm *Room) requestIndex() {
	if rm.Peers() < indexCoalesceFrom {
		rm.broadcastIndex()
		return
	}
	select {
	case rm.indexDue <- struct{}{}:
	default: // one is due already; it will carry this change too
	}
}

// indexLoop sends the INDEX broadcasts requestIndex asks for, at most one
// per indexMinGap, until the room closes.
func (rm *Room) indexLoop() {
	defer rm.wg.Done()
	defer rm.recoverLoop("sfu room index loop")
	for {
		select {
		case <-rm.done:
			return
		case <-rm.indexDue:
		}
		rm.broadcastIndex()
		select {
		case <-rm.done:
			return
		case <-rm.clock.After(indexMinGap):
		}
	}
}
