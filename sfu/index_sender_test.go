package sfu

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/confab-media/confab/internal/fakeclock"
	"github.com/confab-media/confab/signaling/meeting"
	"github.com/confab-media/confab/signaling/protocol"
)

// indexSession is a media.Session that keeps the INDEX frames it is sent.
type indexSession struct {
	id uint64
	mu sync.Mutex
	ix []*protocol.SdkIndexFrame
}

func (s *indexSession) ID() uint64                 { return s.id }
func (s *indexSession) Identity() meeting.Identity { return meeting.Identity{} }
func (s *indexSession) Send(f *protocol.SdkSignalFrame) error {
	if f.GetType() == protocol.SdkSignalFrame_INDEX {
		s.mu.Lock()
		s.ix = append(s.ix, f.GetIndex())
		s.mu.Unlock()
	}
	return nil
}

func (s *indexSession) indexes() []*protocol.SdkIndexFrame {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*protocol.SdkIndexFrame(nil), s.ix...)
}

// TestIndexBroadcastsCoalesce: in a room of 25, a join is announced at
// once; the 49 joins that follow within indexMinGap are announced together
// by one INDEX per peer at its end, not by one broadcast each (2,525 frames
// for those 50 joins).
func TestIndexBroadcastsCoalesce(t *testing.T) {
	clk := fakeclock.New(time.Unix(1_700_000_000, 0))
	rm := newRoom("m", nil, Config{StatsInterval: time.Hour}, Params{Clock: clk, Log: testLog()}, &counters{}, nil, nil)
	defer rm.close()
	var sessions []*indexSession
	add := func() {
		s := &indexSession{id: uint64(len(sessions) + 1)}
		sessions = append(sessions, s)
		rm.add(&Peer{sessionID: s.id, attendeeID: fmt.Sprint("attendee-", s.id), sess: s, room: rm})
	}
	join := func() {
		add()
		rm.requestIndex()
	}
	for range indexCoalesceFrom + 1 {
		add() // joined earlier; their INDEX is not counted here
	}
	gapRunning := func() { // the stats ticker and the index loop's gap
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for clk.Tickers() != 2 {
			if time.Now().After(deadline) {
				t.Fatal("the index loop did not wait for its gap")
			}
			time.Sleep(time.Millisecond)
		}
	}

	join()
	gapRunning()
	first := indexCoalesceFrom + 2
	if ix := sessions[0].indexes(); len(ix) != 1 || ix[0].GetNumParticipants() != uint32(first) {
		t.Fatalf("first join: INDEX frames %v, want one with %d participants", ix, first)
	}
	for range 49 {
		join()
	}
	time.Sleep(20 * time.Millisecond) // a broadcast sent now would be seen
	if n := len(sessions[len(sessions)-1].indexes()); n != 0 {
		t.Fatalf("joins within the gap: %d INDEX sent before its end", n)
	}
	clk.Advance(indexMinGap)
	gapRunning()
	total := 0
	for i, s := range sessions {
		ix := s.indexes()
		total += len(ix)
		if len(ix) == 0 || ix[len(ix)-1].GetNumParticipants() != uint32(len(sessions)) {
			t.Fatalf("peer %d: INDEX %v, want the last with %d participants", i+1, ix, len(sessions))
		}
	}
	if want := first + len(sessions); total != want {
		t.Errorf("INDEX frames for 50 joins: %d, want %d (one broadcast at once, one at the gap's end)", total, want)
	}
}
