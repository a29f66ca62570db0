package conference

import (
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/confab-media/confab/mixer"
	"github.com/confab-media/confab/signaling/meeting"
)

// presence is a Listener that records phone presence and volume reports.
type presence struct {
	mu      sync.Mutex
	joined  map[string]bool
	reports int
	refuse  error
}

func (p *presence) PhoneJoined(id meeting.Identity) (func(bool), error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.refuse != nil {
		return nil, p.refuse
	}
	if p.joined == nil {
		p.joined = map[string]bool{}
	}
	p.joined[id.AttendeeID] = true
	return func(bool) {
		p.mu.Lock()
		defer p.mu.Unlock()
		p.joined[id.AttendeeID] = false
	}, nil
}

func (p *presence) Volumes(string, []Volume) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.reports++
}

func (p *presence) present(id string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.joined[id]
}

func eventually(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func realRegistry(t *testing.T) (*Registry, *presence, *recordingEnder) {
	t.Helper()
	e := &recordingEnder{}
	r := New(Config{}, Params{Ender: e})
	p := &presence{}
	r.SetListener(p)
	t.Cleanup(r.Close)
	return r, p, e
}

// TestPhoneMember: a caller joins its meeting's Room with a presence,
// follows its attendee's Audio capability (Receive: muted in the mix;
// Send: Opus silence instead of the mix), and is hung up by
// DeleteAttendee; Leave ends its presence.
func TestPhoneMember(t *testing.T) {
	r, p, _ := realRegistry(t)
	id := meeting.Identity{MeetingID: "m1", AttendeeID: "caller", Capabilities: meeting.Capabilities{Audio: "Receive"}}
	var silent, mixed atomic.Int64
	leg, err := r.JoinPhone(id, mixer.CodecOpus, func(opus []byte, _ uint32) {
		if string(opus) == opusSilence {
			silent.Add(1)
		} else {
			mixed.Add(1)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	ph := leg.(*Phone)
	if !p.present("caller") {
		t.Error("no presence for the caller")
	}
	if !ph.audio.Muted() {
		t.Error("an Audio Receive caller is not muted in the mix")
	}
	ph.SetMuted(false) // hold released: still muted
	if !ph.audio.Muted() {
		t.Error("releasing hold unmuted an Audio Receive caller")
	}
	r.SetCapabilities("m1", "caller", meeting.Capabilities{Audio: "Send"})
	if ph.audio.Muted() {
		t.Error("an Audio Send caller is still muted")
	}
	eventually(t, "silence instead of the mix", func() bool { return silent.Load() > 5 })
	r.SetCapabilities("m1", "caller", meeting.Capabilities{Audio: "SendReceive"})
	eventually(t, "the mix again", func() bool { return mixed.Load() > 5 })

	r.RemoveAttendee("m1", "caller")
	select {
	case <-ph.Done():
	case <-time.After(time.Second):
		t.Fatal("DeleteAttendee did not hang up the call")
	}
	ph.Leave()
	if p.present("caller") {
		t.Error("presence outlived Leave")
	}
	if r.Lookup("m1").Members() != 0 {
		t.Error("the leg outlived Leave")
	}
}

// TestPhoneRefusedByPresence: a caller whose presence is refused leaves no
// leg behind.
func TestPhoneRefusedByPresence(t *testing.T) {
	r, p, _ := realRegistry(t)
	p.refuse = meeting.ErrMeetingEnded
	_, err := r.JoinPhone(meeting.Identity{MeetingID: "m1", AttendeeID: "caller"}, mixer.CodecOpus, nopSink)
	if !errors.Is(err, meeting.ErrMeetingEnded) {
		t.Fatalf("JoinPhone = %v", err)
	}
	if n := r.Lookup("m1").Members(); n != 0 {
		t.Errorf("%d legs left behind", n)
	}
}

// TestEndHangsUp: the meeting's end hangs up its calls and stops its Room.
func TestEndHangsUp(t *testing.T) {
	r, _, _ := realRegistry(t)
	leg, err := r.JoinPhone(meeting.Identity{MeetingID: "m1", AttendeeID: "caller"}, mixer.CodecOpus, nopSink)
	if err != nil {
		t.Fatal(err)
	}
	r.End("m1")
	select {
	case <-leg.Done():
	case <-time.After(time.Second):
		t.Fatal("the meeting's end did not hang up the call")
	}
	leg.Leave()
	if r.Lookup("m1") != nil {
		t.Error("the Room outlived End")
	}
}

type panicCount struct{ n atomic.Int64 }

func (c *panicCount) Inc() { c.n.Add(1) }

// TestPanicEndsMeeting: a panic in a Room's mixer (here a member's sink)
// is counted and ends that meeting through the Ender, not the process and
// not another meeting.
func TestPanicEndsMeeting(t *testing.T) {
	c := &panicCount{}
	e := &recordingEnder{}
	r := New(Config{}, Params{Ender: e, Panics: c})
	t.Cleanup(r.Close)
	other, err := r.Room("calm")
	if err != nil {
		t.Fatal(err)
	}
	var calm atomic.Int64
	if _, err := other.AddAudio(Member{AttendeeID: "a", Order: 1}, func([]byte, uint32) { calm.Add(1) }); err != nil {
		t.Fatal(err)
	}
	rm, err := r.Room("m1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rm.AddAudio(Member{AttendeeID: "b", Order: 2}, func([]byte, uint32) { panic("sink exploded") }); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the panic to be contained", func() bool { return c.n.Load() == 1 })
	eventually(t, "the meeting to be ended", func() bool { return e.reason("m1") != "" })
	if !strings.Contains(e.reason("m1"), "internal error") {
		t.Errorf("reason %q", e.reason("m1"))
	}
	n := calm.Load()
	eventually(t, "the other meeting to go on", func() bool { return calm.Load() > n+10 })
	if e.reason("calm") != "" {
		t.Error("the other meeting was ended too")
	}
}
