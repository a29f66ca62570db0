package store

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/confab-media/confab/internal/redistest"
)

// RedisOptions keeps the URL's address and database and sets the store's
// timeouts; a malformed URL is an error.
func TestRedisOptions(t *testing.T) {
	opt, err := RedisOptions("redis://:pw@10.0.0.7:6380/2")
	if err != nil {
		t.Fatal(err)
	}
	if opt.Addr != "10.0.0.7:6380" || opt.DB != 2 || opt.Password != "pw" ||
		opt.DialTimeout != 2*time.Second || opt.ReadTimeout != 3*time.Second || opt.WriteTimeout != 3*time.Second {
		t.Errorf("options %+v", opt)
	}
	if _, err := RedisOptions("redis://127.0.0.1:6379/notadb"); err == nil {
		t.Error("a malformed URL was accepted")
	}
}

// A dialed store owns its client: others use it through Client, and Close
// closes it. A Redis that does not answer fails the dial.
func TestDialRedis(t *testing.T) {
	ctx := context.Background()
	srv := redistest.StartRedis(t)
	opt, err := RedisOptions(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	s, err := DialRedis(ctx, opt, "g", testLog())
	if err != nil {
		t.Fatal(err)
	}
	wait(t, s.Submit(PutMeeting(MeetingRecord{MeetingID: "m1", MediaGroup: "g"})))
	if n, err := s.Client().SCard(ctx, "confab:group:g").Result(); err != nil || n != 1 {
		t.Errorf("group through Client: %d, %v", n, err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Client().Ping(ctx).Err(); !errors.Is(err, redis.ErrClosed) {
		t.Errorf("client after Close: %v, want redis.ErrClosed", err)
	}
	srv.Kill()
	if _, err := DialRedis(ctx, opt, "g", testLog()); err == nil {
		t.Error("dialed a Redis that is not running")
	}
}
