package conference

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/confab-media/confab/internal/fakeclock"
)

var t0 = time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC)

// recordingEnder records the meetings it was asked to end.
type recordingEnder struct {
	mu    sync.Mutex
	ended map[string]string // meeting → reason
}

func (e *recordingEnder) EndMeeting(_ context.Context, id, reason string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.ended == nil {
		e.ended = map[string]string{}
	}
	e.ended[id] = reason
	return nil
}

func (e *recordingEnder) reason(id string) string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.ended[id]
}

func newTestRegistry(t *testing.T, a AutoEnd) (*Registry, *fakeclock.Clock, *recordingEnder) {
	t.Helper()
	clock := fakeclock.New(t0)
	e := &recordingEnder{}
	r := New(Config{AutoEnd: a}, Params{Clock: clock, Ender: e})
	t.Cleanup(r.Close)
	return r, clock, e
}

func nopSink([]byte, uint32) {}

// TestAutoEndRules walks each of the Chime guide's four rules in virtual
// time, calling the rule check at chosen instants: each ends the meeting
// exactly when its condition has held for its period, and not before.
func TestAutoEndRules(t *testing.T) {
	type step struct {
		at   time.Duration  // since t0
		do   func(rm *Room) // before the check
		want string         // "" keeps the meeting
	}
	var alice, bob, share *AudioLeg
	join := func(m Member, dst **AudioLeg) func(*Room) {
		return func(rm *Room) {
			a, err := rm.AddAudio(m, nopSink)
			if err != nil {
				t.Fatal(err)
			}
			*dst = a
		}
	}
	leave := func(dst **AudioLeg) func(*Room) { return func(*Room) { (*dst).Leave() } }
	cases := []struct {
		name  string
		steps []step
	}{
		{"no audio connection for 5 min", []step{
			{at: 0},
			{at: 4*time.Minute + 59*time.Second},
			{at: 5 * time.Minute, want: "no audio connection"},
		}},
		{"an audio connection resets the 5 min", []step{
			{at: 0},
			{at: 4 * time.Minute, do: join(Member{AttendeeID: "alice", Order: 1}, &alice)},
			{at: 6 * time.Minute, do: leave(&alice)},
			{at: 10 * time.Minute},
			{at: 11 * time.Minute, want: "no audio connection"},
		}},
		{"a phone leg and a session of one attendee are one connection", []step{
			{at: 0, do: join(Member{AttendeeID: "alice", Order: 1}, &alice)},
			{at: time.Second, do: join(Member{AttendeeID: "alice", Order: phoneOrderBase + 1}, &bob)},
			{at: 29 * time.Minute},
			{at: 30 * time.Minute, want: "fewer than two audio connections"},
		}},
		{"fewer than two audio connections for 30 min", []step{
			{at: 0, do: join(Member{AttendeeID: "alice", Order: 1}, &alice)},
			{at: 10 * time.Minute, do: join(Member{AttendeeID: "bob", Order: 2}, &bob)},
			{at: 20 * time.Minute, do: leave(&bob)}, // alone again from here
			{at: 49 * time.Minute},
			{at: 50 * time.Minute, want: "fewer than two audio connections"},
		}},
		{"a content share nobody views for 30 min", []step{
			{at: 0, do: join(Member{AttendeeID: "alice#content", Order: 1, Content: true}, &share)},
			{at: time.Second, do: join(Member{AttendeeID: "bob", Order: 2}, &bob)},
			{at: time.Minute, do: leave(&bob)},
			{at: 30*time.Minute + 59*time.Second},
			{at: 31 * time.Minute, want: "screen share viewers inactive"},
		}},
		{"24 hours", []step{
			{at: 0, do: func(rm *Room) {
				join(Member{AttendeeID: "alice", Order: 1}, &alice)(rm)
				join(Member{AttendeeID: "bob", Order: 2}, &bob)(rm)
			}},
			{at: 23*time.Hour + 59*time.Minute},
			{at: 24 * time.Hour, want: "maximum duration reached"},
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := AutoEnd{}
			if tc.name != "no audio connection for 5 min" && tc.name != "an audio connection resets the 5 min" {
				a.NoAudio = -1 // isolate the rule under test
			}
			if tc.name == "a content share nobody views for 30 min" {
				a.Alone = -1
			}
			r, _, _ := newTestRegistry(t, a)
			rm, err := r.Room("m1")
			if err != nil {
				t.Fatal(err)
			}
			seen := map[string]struct{}{}
			for _, s := range tc.steps {
				if s.do != nil {
					s.do(rm)
				}
				if got := rm.checkRules(t0.Add(s.at), seen); got != s.want {
					t.Fatalf("at +%v: rules say %q, want %q", s.at, got, s.want)
				}
			}
		})
	}
}

// TestAutoEndAsksTheEnder: the Room's own ticker applies the rules and asks
// the Ender, once, to end the meeting.
func TestAutoEndAsksTheEnder(t *testing.T) {
	r, clock, e := newTestRegistry(t, AutoEnd{NoAudio: time.Minute})
	if _, err := r.Room("m1"); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for e.reason("m1") == "" {
		if time.Now().After(deadline) {
			t.Fatal("the Room never asked to end its meeting")
		}
		clock.Advance(time.Second)
		time.Sleep(time.Millisecond)
	}
	if got := e.reason("m1"); got != "no audio connection" {
		t.Errorf("reason %q", got)
	}
	if elapsed := clock.Now().Sub(t0); elapsed < time.Minute {
		t.Errorf("ended after %v of virtual time, before the rule's minute", elapsed)
	}
}
