package meeting

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/confab-media/confab/signaling/store"
)

// gatedStore holds every commit until the test releases it with a result.
type gatedStore struct {
	*store.Memory
	mu    sync.Mutex
	gates []chan error
}

func (g *gatedStore) Submit(ops ...store.Op) <-chan error {
	inner := g.Memory.Submit(ops...)
	out := make(chan error, 1)
	gate := make(chan error, 1)
	g.mu.Lock()
	g.gates = append(g.gates, gate)
	g.mu.Unlock()
	go func() {
		err := <-gate
		if err == nil {
			err = <-inner
		}
		out <- err
	}()
	return out
}

// release settles every commit held so far with err.
func (g *gatedStore) release(err error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, c := range g.gates {
		c <- err
	}
	g.gates = nil
}

func (g *gatedStore) held() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.gates)
}

// TestTwinWaitsForPendingCreate: a retried CreateAttendee (same
// ExternalUserId) and a BatchCreateAttendee naming it, arriving while the
// first create is committing, answer only after that commit, with the same
// attendee, or with the store error when the commit fails.
func TestTwinWaitsForPendingCreate(t *testing.T) {
	for _, fail := range []bool{false, true} {
		g := &gatedStore{Memory: store.NewMemory()}
		f := newFixture(t, testConfig(), g, 250)
		made := make(chan Meeting, 1)
		go func() { made <- f.meeting(t, "twin", nil) }()
		for g.held() == 0 {
			time.Sleep(time.Millisecond)
		}
		g.release(nil) // the meeting itself
		m := <-made
		ctx := context.Background()
		type result struct {
			a   Attendee
			err error
		}
		first, twin, batch := make(chan result, 1), make(chan result, 1), make(chan result, 1)
		go func() {
			a, err := f.svc.CreateAttendee(ctx, m.MeetingId, &CreateAttendeeInput{ExternalUserId: "racer"})
			first <- result{a, err}
		}()
		for g.held() == 0 {
			time.Sleep(time.Millisecond)
		}
		go func() {
			a, err := f.svc.CreateAttendee(ctx, m.MeetingId, &CreateAttendeeInput{ExternalUserId: "racer"})
			twin <- result{a, err}
		}()
		go func() {
			as, _, err := f.svc.BatchCreateAttendee(ctx, m.MeetingId, []CreateAttendeeInput{{ExternalUserId: "racer"}})
			var a Attendee
			if len(as) == 1 {
				a = as[0]
			}
			batch <- result{a, err}
		}()
		select {
		case r := <-twin:
			t.Fatalf("fail=%v: twin answered before the first create was durable: %+v", fail, r)
		case r := <-batch:
			t.Fatalf("fail=%v: batch answered before the first create was durable: %+v", fail, r)
		case <-time.After(100 * time.Millisecond):
		}
		if as, _, _ := f.svc.ListAttendees(ctx, m.MeetingId, "", 10); len(as) != 0 {
			t.Fatalf("ListAttendees shows an attendee that is not durable: %+v", as)
		}
		var storeErr error
		if fail {
			storeErr = errors.New("disk full")
		}
		g.release(storeErr)
		r1, r2, r3 := <-first, <-twin, <-batch
		if fail {
			for _, r := range []result{r1, r2, r3} {
				wantKind(t, r.err, ErrStore)
			}
			continue
		}
		if r1.err != nil || r2.err != nil || r3.err != nil {
			t.Fatalf("errors: %v %v %v", r1.err, r2.err, r3.err)
		}
		if r1.a.JoinToken != r2.a.JoinToken || r1.a.JoinToken != r3.a.JoinToken || r1.a.AttendeeId == "" {
			t.Fatalf("twins differ: %+v / %+v / %+v", r1.a, r2.a, r3.a)
		}
	}
}

// TestTwinCreateMeetingWaits: CreateMeeting with the ClientRequestToken of a
// meeting still committing answers only after that commit, with the same
// meeting.
func TestTwinCreateMeetingWaits(t *testing.T) {
	g := &gatedStore{Memory: store.NewMemory()}
	f := newFixture(t, testConfig(), g, 250)
	in := func() *CreateMeetingInput {
		return &CreateMeetingInput{ClientRequestToken: "same", MediaRegion: "us-east-1", ExternalMeetingId: "ext-same"}
	}
	type result struct {
		m   Meeting
		err error
	}
	first, twin := make(chan result, 1), make(chan result, 1)
	go func() { m, err := f.svc.CreateMeeting(context.Background(), in()); first <- result{m, err} }()
	for g.held() == 0 {
		time.Sleep(time.Millisecond)
	}
	go func() { m, err := f.svc.CreateMeeting(context.Background(), in()); twin <- result{m, err} }()
	select {
	case r := <-twin:
		t.Fatalf("twin answered before the first meeting was durable: %+v", r)
	case <-time.After(100 * time.Millisecond):
	}
	g.release(nil)
	r1, r2 := <-first, <-twin
	if r1.err != nil || r2.err != nil || r1.m.MeetingId != r2.m.MeetingId {
		t.Fatalf("first %+v, twin %+v", r1, r2)
	}
	if g.held() != 0 {
		t.Errorf("the twin submitted a write of its own")
	}
}
