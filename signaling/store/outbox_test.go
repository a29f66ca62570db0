package store

import (
	"context"
	"errors"
	"sync"
	"testing"

	bolt "go.etcd.io/bbolt"

	"github.com/confab-media/confab/signaling/events"
)

// fakeOutbox writes each event's ID into a bucket of the store's own
// transaction, or fails when told to.
type fakeOutbox struct {
	mu        sync.Mutex // guards the fields below
	fail      error
	committed int
}

var bucketFake = []byte("notify.fake")

func (o *fakeOutbox) WriteEvents(tx *bolt.Tx, evs []events.Event) (func(), error) {
	o.mu.Lock()
	fail := o.fail
	o.mu.Unlock()
	if fail != nil {
		return nil, fail
	}
	b, err := tx.CreateBucketIfNotExists(bucketFake)
	if err != nil {
		return nil, err
	}
	for _, e := range evs {
		if err := b.Put([]byte(e.ID), []byte(e.Detail.EventType)); err != nil {
			return nil, err
		}
	}
	return func() { o.mu.Lock(); o.committed += len(evs); o.mu.Unlock() }, nil
}

// TestEventOpsShareTheTransaction: Event ops reach the outbox inside the
// transaction of the ops they ride with; when the outbox fails, the state
// change is not stored either (and the caller hears of it).
func TestEventOpsShareTheTransaction(t *testing.T) {
	b, err := OpenBolt(t.TempDir(), testLog())
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if HasOutbox(b) || HasOutbox(NewMemory()) {
		t.Fatal("HasOutbox before SetOutbox")
	}
	o := &fakeOutbox{}
	b.SetOutbox(o)
	if !HasOutbox(b) {
		t.Fatal("HasOutbox after SetOutbox is false")
	}
	m := MeetingRecord{MeetingID: "m1", ClientRequestToken: "t1"}
	ev := events.Event{ID: "ev-1", Detail: events.Detail{EventType: events.MeetingStarted}}
	wait(t, b.Submit(PutMeeting(m), Event(ev)))
	o.mu.Lock()
	if o.committed != 1 {
		t.Errorf("committed hook ran for %d events, want 1", o.committed)
	}
	o.fail = errors.New("outbox full of bugs")
	o.mu.Unlock()
	if err := <-b.Submit(PutAttendee(AttendeeRecord{MeetingID: "m1", AttendeeID: "a1"}), Event(ev)); err == nil {
		t.Fatal("a failing outbox did not fail the submission")
	}
	_, as, err := b.Load(context.Background())
	if err != nil || len(as) != 0 {
		t.Fatalf("attendee stored without its event: %v %v", as, err)
	}
	err = b.DB().View(func(tx *bolt.Tx) error {
		if v := tx.Bucket(bucketFake).Get([]byte("ev-1")); string(v) != string(events.MeetingStarted) {
			t.Errorf("event in the outbox bucket = %q", v)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
