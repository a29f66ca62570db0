package conference

import (
	"sync"
	"testing"

	"github.com/confab-media/confab/signaling/meeting"
)

func ident(att string) meeting.Identity {
	return meeting.Identity{MeetingID: "m1", AttendeeID: att, ExternalUserID: "ext-" + att}
}

// TestRoster: stream ids grow and are never reused; a second arrival of
// the same attendee and kind supersedes the first; a phone and a browser
// of one attendee are two entries; departures of superseded entries are
// no-ops.
func TestRoster(t *testing.T) {
	var r Roster
	a1, sup := r.Arrive(ident("a"), false, false)
	if a1.StreamID != 1 || sup != 0 {
		t.Fatalf("first arrival = %+v, superseded %d", a1, sup)
	}
	b, _ := r.Arrive(ident("b"), false, true)
	phone, sup := r.Arrive(ident("a"), true, false)
	if b.StreamID != 2 || phone.StreamID != 3 || sup != 0 || !b.Muted || !phone.Phone {
		t.Fatalf("b = %+v, a's phone = %+v (superseded %d)", b, phone, sup)
	}
	if got := r.StreamOf("a"); got != a1.StreamID {
		t.Fatalf("StreamOf(a) = %d, want its WebRTC entry %d", got, a1.StreamID)
	}
	a2, sup := r.Arrive(ident("a"), false, false)
	if a2.StreamID != 4 || sup != a1.StreamID {
		t.Fatalf("rejoin = %+v, superseded %d (want %d)", a2, sup, a1.StreamID)
	}
	if r.Depart(a1.StreamID) {
		t.Fatal("the superseded entry departed again")
	}
	if !r.SetMuted(a2.StreamID, true) || r.SetMuted(a2.StreamID, true) || r.SetMuted(a1.StreamID, true) {
		t.Fatal("SetMuted: want a change once, and none for an absent entry")
	}
	list := r.List()
	if len(list) != 3 || list[0].StreamID != 2 || list[1].StreamID != 3 || list[2].StreamID != 4 || !list[2].Muted {
		t.Fatalf("List = %+v", list)
	}
	if !r.Depart(a2.StreamID) || r.StreamOf("a") != phone.StreamID {
		t.Fatalf("after a's browser left, StreamOf(a) = %d, want the phone's %d", r.StreamOf("a"), phone.StreamID)
	}
	if !r.Depart(phone.StreamID) || r.StreamOf("a") != 0 || r.Len() != 1 {
		t.Fatalf("after a left: StreamOf %d, Len %d", r.StreamOf("a"), r.Len())
	}
	if c, _ := r.Arrive(ident("c"), false, false); c.StreamID != 5 {
		t.Fatalf("stream ids reused: %d", c.StreamID)
	}
	if p, ok := r.Get(b.StreamID); !ok || p.Identity.ExternalUserID != "ext-b" {
		t.Fatalf("Get(b) = %+v, %v", p, ok)
	}
}

// TestRosterConcurrent gives out distinct stream ids under contention.
func TestRosterConcurrent(t *testing.T) {
	var r Roster
	var wg sync.WaitGroup
	ids := make([]uint32, 64)
	for i := range ids {
		wg.Go(func() {
			p, _ := r.Arrive(ident(string(rune('A'+i))), i%2 == 0, false)
			ids[i] = p.StreamID
		})
	}
	wg.Wait()
	seen := map[uint32]bool{}
	for _, id := range ids {
		if id == 0 || seen[id] {
			t.Fatalf("stream id %d given twice or zero: %v", id, ids)
		}
		seen[id] = true
	}
}

// volumeRecorder is a Listener that keeps the last volume report.
type volumeRecorder struct {
	presence
	mu   sync.Mutex
	last []Volume
}

func (v *volumeRecorder) Volumes(_ string, vols []Volume) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.last = append(v.last[:0], vols...)
}

// TestVolumesNameRosterStreams: a level report names each attendee by its
// roster stream id, and 0 for an attendee with a leg but no entry.
func TestVolumesNameRosterStreams(t *testing.T) {
	r, clock, _ := newTestRegistry(t, AutoEnd{})
	rec := &volumeRecorder{}
	r.SetListener(rec)
	rm, err := r.Room("m1")
	if err != nil {
		t.Fatal(err)
	}
	for i, att := range []string{"alice", "bob"} {
		if _, err := rm.AddAudio(Member{AttendeeID: att, Order: uint64(i + 1)}, nopSink); err != nil {
			t.Fatal(err)
		}
	}
	rm.Roster().Arrive(ident("carol"), false, false)
	bob, _ := rm.Roster().Arrive(ident("bob"), false, false)
	rm.reportLevels(newLevelState(clock.Now()), clock.Now())
	rec.mu.Lock()
	defer rec.mu.Unlock()
	got := map[string]uint32{}
	for _, v := range rec.last {
		got[v.AttendeeID] = v.StreamID
	}
	if len(got) != 2 || got["bob"] != bob.StreamID || got["alice"] != 0 {
		t.Fatalf("report streams = %v, want bob=%d alice=0", got, bob.StreamID)
	}
}
