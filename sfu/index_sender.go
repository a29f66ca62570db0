package sfu

import "time"

// indexMinGap is the least time between two INDEX broadcasts of one room.
// A change is announced at once when the room has been quiet that long;
// changes that come faster (a class of 250 joining, a meeting emptying)
// are announced together at the end of the gap. Without it every join or
// leave sent INDEX to every peer: N² frames for N peers arriving or going,
// on the CPU the mixer tick needs.
const indexMinGap = 100 * time.Millisecond

// requestIndex asks the room's index loop to send every peer its INDEX
// (num_participants, video sources, codec intersection). It never blocks.
func (rm *Room) requestIndex() {
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
