package testkit

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/confab-media/confab/signaling/events"
)

// Events records every event published to it (an events.Sink, and a
// Publisher for services that take one).
type Events struct {
	mu  sync.Mutex // guards evs
	evs []events.Event
}

// Deliver records e.
func (r *Events) Deliver(_ context.Context, e events.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.evs = append(r.evs, e)
}

// Publish records e.
func (r *Events) Publish(ctx context.Context, e events.Event) { r.Deliver(ctx, e) }

// All returns the events so far, in order.
func (r *Events) All() []events.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]events.Event(nil), r.evs...)
}

// Of returns the events of type typ about attendeeID ("" any), in order.
func (r *Events) Of(typ events.Type, attendeeID string) []events.Event {
	var out []events.Event
	for _, e := range r.All() {
		if e.Detail.EventType == typ && (attendeeID == "" || e.Detail.AttendeeID == attendeeID) {
			out = append(out, e)
		}
	}
	return out
}

// TypesOf returns the types of attendeeID's events, in order.
func (r *Events) TypesOf(attendeeID string) []events.Type {
	var ts []events.Type
	for _, e := range r.All() {
		if e.Detail.AttendeeID == attendeeID {
			ts = append(ts, e.Detail.EventType)
		}
	}
	return ts
}

// WaitFor waits up to wait until attendeeID's event types are exactly want.
func (r *Events) WaitFor(t testing.TB, wait time.Duration, attendeeID string, want ...events.Type) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for {
		got := r.TypesOf(attendeeID)
		if equal(got, want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("events of %s: %v, want %v", attendeeID, got, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func equal(a, b []events.Type) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
