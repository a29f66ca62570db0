package store

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/confab-media/confab/internal/redistest"
	"github.com/confab-media/confab/signaling/events"
)

func openRedisStore(t *testing.T, srv *redistest.Redis, group string) (*Redis, *redis.Client) {
	t.Helper()
	opt, err := redis.ParseURL(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	c := redis.NewClient(opt)
	t.Cleanup(func() { _ = c.Close() })
	s, err := OpenRedis(context.Background(), RedisConfig{Client: c, Group: group}, testLog())
	if err != nil {
		t.Fatal(err)
	}
	return s, c
}

// TestRedisStore runs the common exercise on a real redis-server, reopening
// the store on a fresh client each time.
func TestRedisStore(t *testing.T) {
	srv := redistest.StartRedis(t)
	s, _ := openRedisStore(t, srv, "")
	var cur Store = s
	exercise(t, s, func() Store {
		if err := cur.Close(); err != nil {
			t.Fatal(err)
		}
		ns, _ := openRedisStore(t, srv, "")
		cur = ns
		return ns
	})
}

// TestRedisEventsAndGroups checks that a change and its event land together
// (the stream entry carries the meeting's targets), that each node loads only
// its own group, and that what Submit acknowledged survives kill -9 of Redis
// (AOF, appendfsync always).
func TestRedisEventsAndGroups(t *testing.T) {
	ctx := context.Background()
	srv := redistest.StartRedis(t)
	a, c := openRedisStore(t, srv, "node-a")
	defer a.Close()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	n := &NotificationsConfiguration{SqsQueueArn: "arn:aws:sqs:us-east-1:111122223333:q"}
	started := events.New(events.MeetingStarted, t0, "111122223333", "us-east-1")
	started.Detail.MeetingID = "m1"
	wait(t, a.Submit(PutMeeting(MeetingRecord{MeetingID: "m1", MediaGroup: "node-a", Notifications: n, CreatedAt: t0}), Event(started)))
	wait(t, a.Submit(PutMeeting(MeetingRecord{MeetingID: "m2", MediaGroup: "node-b", CreatedAt: t0})))
	wait(t, a.Submit(PutAttendee(AttendeeRecord{MeetingID: "m1", AttendeeID: "a1", CreatedAt: t0})))

	srv.Kill()
	srv.Start()

	ms, as, err := a.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 1 || ms[0].MeetingID != "m1" || len(as) != 1 {
		t.Fatalf("node-a loads %+v %+v", ms, as)
	}
	msB, _, err := a.LoadGroup(ctx, "node-b")
	if err != nil || len(msB) != 1 || msB[0].MeetingID != "m2" {
		t.Fatalf("node-b group = %+v, %v", msB, err)
	}
	entries, err := c.XRange(ctx, a.StreamKey(), "-", "+").Result()
	if err != nil || len(entries) != 1 {
		t.Fatalf("stream = %+v, %v", entries, err)
	}
	var got events.Event
	if err := json.Unmarshal([]byte(entries[0].Values["event"].(string)), &got); err != nil || got.ID != started.ID {
		t.Fatalf("event = %+v, %v", got, err)
	}
	if tg, _ := entries[0].Values["targets"].(string); tg == "" {
		t.Fatalf("stream entry has no targets: %+v", entries[0].Values)
	}

	ended := events.New(events.MeetingEnded, t0, "111122223333", "us-east-1")
	ended.Detail.MeetingID = "m1"
	wait(t, a.Submit(DeleteMeeting("m1"), Event(ended)))
	if ms, _, _ := a.Load(ctx); len(ms) != 0 {
		t.Fatalf("after delete node-a loads %+v", ms)
	}
	if n, _ := c.Exists(ctx, "confab:attendees:m1", "confab:meeting:m1").Result(); n != 0 {
		t.Fatalf("%d keys of m1 left", n)
	}
	if l, _ := c.XLen(ctx, a.StreamKey()).Result(); l != 2 {
		t.Fatalf("stream length %d, want 2", l)
	}
}

// TestRedisUnreachableFailsSubmit: a Redis that is gone fails the
// submission (the API answers an error) instead of acknowledging it.
func TestRedisUnreachableFailsSubmit(t *testing.T) {
	srv := redistest.StartRedis(t)
	s, _ := openRedisStore(t, srv, "g")
	defer s.Close()
	srv.Kill()
	if err := <-s.Submit(PutMeeting(MeetingRecord{MeetingID: "m", MediaGroup: "g"})); err == nil {
		t.Fatal("submit acknowledged with Redis down")
	}
}
