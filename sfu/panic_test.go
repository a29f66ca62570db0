package sfu

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/confab-media/confab/signaling/meeting"
)

type panicCount struct{ n atomic.Int64 }

func (c *panicCount) Inc() { c.n.Add(1) }

// TestRoomPanicEndsRoom: a panic in a room's mixing goroutine (here a phone
// leg's sink) is counted in Params.Panics and ends that room only: its
// peers are closed, the Server goes on, and a new member of the meeting
// gets a fresh room.
func TestRoomPanicEndsRoom(t *testing.T) {
	checkNoLeaks(t)
	c := &panicCount{}
	f := buildFixtureWith(t, Config{}, nil, Params{Panics: c})
	mid := f.meeting()
	alice := f.join(mid, "alice", 400)
	om, err := f.svc.CreateMeeting(context.Background(), &meeting.CreateMeetingInput{
		ClientRequestToken: "other", MediaRegion: "us-east-1", ExternalMeetingId: "ext-other",
	})
	if err != nil {
		t.Fatal(err)
	}
	other := om.MeetingId
	carol := f.join(other, "carol", 900)
	pl, err := f.sv.JoinPhone(mid, "caller", func([]byte, uint32) { panic("phone sink exploded") })
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "the panic to be contained", func() bool { return c.n.Load() == 1 })
	eventually(t, "alice's room to end", func() bool { return f.sv.peerOf(alice.id) == nil })
	pl.Leave()
	if f.sv.peerOf(carol.id) == nil {
		t.Error("a panic in one meeting's room ended another meeting's peer")
	}
	bob := f.join(mid, "bob", 700)
	if p := f.sv.peerOf(bob.id); p == nil || p.room.mix == nil {
		t.Fatal("no fresh room after the failed one")
	}
	time.Sleep(500 * time.Millisecond)
	if n := bob.RecentPackets(400 * time.Millisecond); n < 10 {
		t.Errorf("bob in the fresh room got %d packets in 400 ms", n)
	}
}

// TestPeerPanicEndsPeer: a contained panic in one of a peer's readers
// (they all end in Peer.failed) closes that peer only; its session stays.
func TestPeerPanicEndsPeer(t *testing.T) {
	checkNoLeaks(t)
	f := newFixture(t)
	mid := f.meeting()
	alice, bob := f.join(mid, "alice", 400), f.join(mid, "bob", 700)
	p := f.sv.peerOf(alice.id)
	p.failed("test")
	eventually(t, "alice's peer to end", func() bool { return f.sv.peerOf(alice.id) == nil })
	if f.sv.peerOf(bob.id) == nil {
		t.Error("bob's peer ended too")
	}
	barrierPing(t, alice.Attendee) // the session still answers
}
