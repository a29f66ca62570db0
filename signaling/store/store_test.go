package store

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"
)

func testLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func wait(t *testing.T, ch <-chan error) {
	t.Helper()
	if err := <-ch; err != nil {
		t.Fatal(err)
	}
}

// stores runs f against each implementation; Bolt is reopened by reopen.
func TestStores(t *testing.T) {
	t.Run("memory", func(t *testing.T) {
		m := NewMemory()
		exercise(t, m, func() Store { return m })
	})
	t.Run("bolt", func(t *testing.T) {
		dir := t.TempDir()
		b, err := OpenBolt(dir, testLog())
		if err != nil {
			t.Fatal(err)
		}
		var cur Store = b
		exercise(t, b, func() Store {
			if err := cur.Close(); err != nil {
				t.Fatal(err)
			}
			nb, err := OpenBolt(dir, testLog())
			if err != nil {
				t.Fatal(err)
			}
			cur = nb
			return nb
		})
		t.Cleanup(func() { _ = cur.Close() })
	})
}

func exercise(t *testing.T, s Store, reopen func() Store) {
	ctx := context.Background()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	mc := 7
	wait(t, s.Submit(
		PutMeeting(MeetingRecord{MeetingID: "m1", MediaRegion: "us-east-1", ClientRequestToken: "tok", CreatedAt: t0,
			Features: &MeetingFeatures{Attendee: &AttendeeFeatures{MaxCount: &mc}}, Tags: []Tag{{"k", "v"}}}),
		PutMeeting(MeetingRecord{MeetingID: "m2", MediaRegion: "eu-west-1", CreatedAt: t0.Add(time.Second)}),
		PutAttendee(AttendeeRecord{MeetingID: "m1", AttendeeID: "a1", ExternalUserID: "u1", TokenNonce: []byte{1, 2}, CreatedAt: t0}),
		PutAttendee(AttendeeRecord{MeetingID: "m1", AttendeeID: "a2", ExternalUserID: "u2", CreatedAt: t0.Add(time.Second)}),
		PutAttendee(AttendeeRecord{MeetingID: "m2", AttendeeID: "a3", ExternalUserID: "u3", CreatedAt: t0.Add(2 * time.Second)}),
	))
	wait(t, s.Submit(DeleteAttendee("m1", "a2")))
	wait(t, s.Submit(DeleteMeeting("m2")))
	wait(t, s.Submit(PutObject(Object{Kind: "sma", ID: "x", Data: []byte(`{"a":1}`)}),
		PutObject(Object{Kind: "sma", ID: "y", Data: []byte(`{"b":2}`)}),
		PutObject(Object{Kind: "rule", ID: "x", Data: []byte(`{"r":1}`)})))
	wait(t, s.Submit(DeleteObject("sma", "x"), PutObject(Object{Kind: "sma", ID: "y", Data: []byte(`{"b":3}`)})))

	s = reopen()
	ms, as, err := s.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 1 || ms[0].MeetingID != "m1" || ms[0].ClientRequestToken != "tok" ||
		*ms[0].Features.Attendee.MaxCount != 7 || ms[0].Tags[0].Value != "v" || !ms[0].CreatedAt.Equal(t0) {
		t.Fatalf("meetings = %+v", ms)
	}
	if len(as) != 1 || as[0].AttendeeID != "a1" || string(as[0].TokenNonce) != "\x01\x02" {
		t.Fatalf("attendees = %+v", as)
	}
	objs, err := s.(Objects).LoadObjects(ctx, "sma")
	if err != nil || len(objs) != 1 || objs[0].ID != "y" || string(objs[0].Data) != `{"b":3}` {
		t.Fatalf("objects = %+v, %v", objs, err)
	}
	if objs, _ := s.(Objects).LoadObjects(ctx, "rule"); len(objs) != 1 || objs[0].ID != "x" {
		t.Fatalf("objects of another kind = %+v", objs)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-s.Submit(DeleteMeeting("m1")); err != ErrClosed {
		t.Fatalf("submit after close = %v, want ErrClosed", err)
	}
}

// TestBoltConcurrentSubmitOrder checks that many concurrent writers all get
// durable acknowledgements and that per-caller order holds across batches.
func TestBoltConcurrentSubmitOrder(t *testing.T) {
	dir := t.TempDir()
	s, err := OpenBolt(dir, testLog())
	if err != nil {
		t.Fatal(err)
	}
	wait(t, s.Submit(PutMeeting(MeetingRecord{MeetingID: "m"})))
	var wg sync.WaitGroup
	for w := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id := string(rune('a' + w))
			for i := range 20 {
				ch1 := s.Submit(PutAttendee(AttendeeRecord{MeetingID: "m", AttendeeID: id, ExternalUserID: "x"}))
				ch2 := s.Submit(DeleteAttendee("m", id))
				if err := <-ch1; err != nil {
					t.Error(err)
				}
				if err := <-ch2; err != nil {
					t.Error(err)
				}
				if i == 19 { // last put stays
					if err := <-s.Submit(PutAttendee(AttendeeRecord{MeetingID: "m", AttendeeID: id})); err != nil {
						t.Error(err)
					}
				}
			}
		}()
	}
	wg.Wait()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = OpenBolt(dir, testLog())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	_, as, err := s.Load(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(as) != 16 {
		t.Fatalf("got %d attendees, want 16", len(as))
	}
}

func BenchmarkBoltPutAttendeeParallel(b *testing.B) {
	s, err := OpenBolt(b.TempDir(), testLog())
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	<-s.Submit(PutMeeting(MeetingRecord{MeetingID: "m"}))
	b.SetParallelism(32)
	var mu sync.Mutex
	n := 0
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			mu.Lock()
			n++
			id := n
			mu.Unlock()
			if err := <-s.Submit(PutAttendee(AttendeeRecord{MeetingID: "m", AttendeeID: string(rune(id)), TokenNonce: make([]byte, 16)})); err != nil {
				b.Error(err)
			}
		}
	})
}
