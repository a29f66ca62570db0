package notify

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/confab-media/confab/signaling/events"
	"github.com/confab-media/confab/signaling/store"
)

// attendeeN is the AttendeeId of the n-th test attendee.
func attendeeN(n int) string { return fmt.Sprintf("%08x-0000-4000-8000-000000000001", n) }

// TestOutboxBounded: a target that never answers cannot grow the outbox
// past its caps. Deliver never blocks or fails; what does not fit is
// dead-lettered with reason outbox_full, and the dead-letter store evicts
// its oldest entries past its own cap. Everything is counted.
func TestOutboxBounded(t *testing.T) {
	r := newReceiver(t, testSecret, time.Now)
	r.setFail(func(int) int { return http.StatusServiceUnavailable })
	s := testService(t, Config{Hooks: []Hook{webhookHook("h", r.srv.URL)},
		Limits: Limits{TargetEvents: 5, DeadLetters: 8}}, Params{})
	const n = 20
	start := time.Now()
	for i := range n {
		s.Deliver(context.Background(), mkEvent(events.AttendeeJoined, testMeeting, attendeeN(i)))
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Deliver blocked: %v for %d events", d, n)
	}
	if q := s.queued(); q != 5 {
		t.Errorf("queued = %d, want the cap 5", q)
	}
	if st := s.admin.outboxStatus(); st.DeadLetters != 8 {
		t.Errorf("dead letters = %d, want the cap 8", st.DeadLetters)
	}
	list, _, _ := s.admin.dead.list("", 0, 100)
	for _, d := range list {
		if d.Reason != ReasonOutboxFull || d.Target != "hook:h" {
			t.Errorf("dead letter %+v", d)
		}
	}
	if len(list) > 0 && list[len(list)-1].EventID == "" {
		t.Error("dead letter without its event id")
	}
	if v := counterValue(t, s, "confab_notify_dead_lettered_total", "hook:h"); v != n-5 {
		t.Errorf("dead_lettered = %v, want %d", v, n-5)
	}
	if v := counterValue(t, s, "confab_notify_dead_letters_evicted_total", ""); v != n-5-8 {
		t.Errorf("evicted = %v, want %d", v, n-5-8)
	}
	if v := counterValue(t, s, "confab_notify_enqueue_errors_total", ""); v != 0 {
		t.Errorf("enqueue errors = %v", v)
	}
}

// TestOutboxBoundedInBytes: the byte caps hold as well as the entry caps.
func TestOutboxBoundedInBytes(t *testing.T) {
	r := newReceiver(t, testSecret, time.Now)
	r.setFail(func(int) int { return http.StatusServiceUnavailable })
	const capBytes = 4000
	s := testService(t, Config{Hooks: []Hook{webhookHook("h", r.srv.URL)},
		Limits: Limits{TargetBytes: capBytes, DeadBytes: capBytes}}, Params{})
	for i := range 50 {
		s.Deliver(context.Background(), mkEvent(events.AttendeeJoined, testMeeting, attendeeN(i)))
	}
	s.ob.n.mu.Lock()
	ob, dead, deadN := s.ob.n.bytes["hook:h"], s.ob.n.deadBytes, s.ob.n.deadN
	s.ob.n.mu.Unlock()
	if ob == 0 || ob > capBytes || dead == 0 || dead > capBytes {
		t.Errorf("outbox %d bytes, dead letters %d bytes (%d): want each within (0, %d]", ob, dead, deadN, capBytes)
	}
	if q := s.queued(); q == 0 || q >= 50 {
		t.Errorf("queued = %d", q)
	}
}

// panicSender panics on every send, as a buggy sender would.
type panicSender struct{}

func (panicSender) batchLimit() int                        { return 1 }
func (panicSender) send(context.Context, []*entry) []error { panic("sender bug") }

type countPanics struct{ n atomic.Int64 }

func (c *countPanics) Inc() { c.n.Add(1) }

// TestWorkerPanicContained: a panic while delivering ends neither the
// process nor the target: the event is dead-lettered (reason panic), the
// panic counted, and the next event is delivered.
func TestWorkerPanicContained(t *testing.T) {
	r := newReceiver(t, testSecret, time.Now)
	panics := &countPanics{}
	s := testService(t, Config{Hooks: []Hook{webhookHook("h", r.srv.URL)}}, Params{Panics: panics})
	swap := func(snd sender) sender {
		s.reg.mu.Lock()
		defer s.reg.mu.Unlock()
		st := *s.reg.hook("h")
		old := st.snd
		st.snd = snd
		s.reg.storeLocked("h", &st)
		return old
	}
	good := swap(panicSender{})
	s.Deliver(context.Background(), mkEvent(events.AttendeeJoined, testMeeting, attendeeN(1)))
	waitFor(t, 10*time.Second, "the panic's dead letter", func() bool { return s.admin.outboxStatus().DeadLetters == 1 })
	list, _, _ := s.admin.dead.list("", 0, 10)
	if len(list) != 1 || list[0].Reason != ReasonPanic {
		t.Fatalf("dead letters %+v", list)
	}
	if panics.n.Load() != 1 {
		t.Errorf("panics counted %d, want 1", panics.n.Load())
	}
	swap(good)
	s.Deliver(context.Background(), mkEvent(events.AttendeeJoined, testMeeting, attendeeN(2)))
	waitFor(t, 10*time.Second, "delivery after the panic", func() bool { return r.count() == 1 })

	// A panic in the worker loop ends that worker only; the next event
	// starts a fresh one, which also sends what was left queued.
	swap(limitPanicSender{})
	s.Deliver(context.Background(), mkEvent(events.AttendeeJoined, testMeeting, attendeeN(3)))
	waitFor(t, 10*time.Second, "the worker's panic", func() bool { return panics.n.Load() == 2 })
	waitFor(t, 10*time.Second, "the worker to leave", func() bool {
		s.disp.mu.Lock()
		defer s.disp.mu.Unlock()
		return s.disp.workers["hook:h"] == nil
	})
	swap(good)
	s.Deliver(context.Background(), mkEvent(events.AttendeeJoined, testMeeting, attendeeN(4)))
	waitFor(t, 10*time.Second, "both queued events delivered by a fresh worker", func() bool { return r.count() == 3 })
}

// TestSharedFileOutbox: with Params.DB the outbox lives in the store's file;
// events the store writes in its own transaction (store.Event) are
// delivered once, and Deliver skips them when the bus hands them over too.
// An old notify.db in Dir is imported once and renamed aside.
func TestSharedFileOutbox(t *testing.T) {
	dir := t.TempDir()
	r := newReceiver(t, testSecret, time.Now)

	// A notify.db as the previous version left it: one queued event.
	legacy := mkEvent(events.AttendeeLeft, testMeeting, attendeeN(9))
	writeLegacy(t, filepath.Join(dir, "notify.db"), "hook:h", legacy)

	st, err := store.OpenBolt(t.TempDir(), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() }) // after the Service's cleanup
	s := testService(t, Config{Dir: dir, Hooks: []Hook{webhookHook("h", r.srv.URL)}}, Params{DB: st.DB()})
	st.SetOutbox(s)
	if _, err := os.Stat(filepath.Join(dir, "notify.db.imported")); err != nil {
		t.Errorf("legacy file not renamed aside: %v", err)
	}

	added := mkEvent(events.AttendeeAdded, testMeeting, attendeeN(1))
	rec := store.AttendeeRecord{MeetingID: testMeeting, AttendeeID: attendeeN(1), ExternalUserID: "u1"}
	if err := <-st.Submit(store.PutAttendee(rec), store.Event(added)); err != nil {
		t.Fatal(err)
	}
	added.Outboxed = true
	s.Deliver(context.Background(), added) // the bus's copy: skipped
	joined := mkEvent(events.AttendeeJoined, testMeeting, attendeeN(1))
	s.Deliver(context.Background(), joined) // published later: notify's own write
	waitFor(t, 10*time.Second, "three events", func() bool { return r.count() >= 3 })
	time.Sleep(200 * time.Millisecond) // a duplicate would arrive by now
	bodies, _ := r.got()
	wantExactly(t, "shared file", bodies, []events.Event{legacy, added, joined})
}

// writeLegacy writes a notify.db in the pre-shared layout (unprefixed
// buckets) holding e queued for target.
func writeLegacy(t *testing.T, path, target string, e events.Event) {
	t.Helper()
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.Update(func(tx *bolt.Tx) error {
		ob, err := tx.CreateBucket([]byte("outbox"))
		if err != nil {
			return err
		}
		for _, name := range []string{"dead", "meetings", "hooks"} {
			if _, err := tx.CreateBucket([]byte(name)); err != nil {
				return err
			}
		}
		tb, err := ob.CreateBucket([]byte(target))
		if err != nil {
			return err
		}
		if err := ob.SetSequence(7); err != nil {
			return err
		}
		now := time.Now().UnixNano()
		v := (&entry{meta: meta{EventID: e.ID, EventType: string(e.Detail.EventType), First: now, Enqueued: now}, body: e.JSON()}).encode()
		return tb.Put(seqKey(7), v)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// limitPanicSender panics outside the send, in the worker loop itself.
type limitPanicSender struct{ panicSender }

func (limitPanicSender) batchLimit() int { panic("batch limit bug") }
