package sfu

import "testing"

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
