package cluster

import (
	"context"
	"log/slog"
	"sync"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/confab-media/confab/internal/redistest"
)

func registeredNode(t *testing.T, rdb *redis.Client, id string) *Cluster {
	t.Helper()
	c, err := New(context.Background(), Config{Self: Node{ID: id, URL: "http://" + id + ".test", Regions: []string{"us-east-1"}}},
		Params{Redis: rdb, Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestPlaceConcurrentSpreads: 40 CreateMeeting placements at once, through
// both nodes, between two empty nodes land 20 on each (each pick sees the
// others' placements: the choice and its count are one Redis script). A
// ClientRequestToken raced 10 times places one meeting, counted once.
func TestPlaceConcurrentSpreads(t *testing.T) {
	rd := redistest.StartRedis(t)
	rdb := redis.NewClient(&redis.Options{Addr: rd.Addr()})
	t.Cleanup(func() { _ = rdb.Close() })
	a, b := registeredNode(t, rdb, "node-a"), registeredNode(t, rdb, "node-b")
	ctx := context.Background()

	var mu sync.Mutex
	got := map[string]int{}
	var wg sync.WaitGroup
	for i := range 40 {
		via := a
		if i%2 == 1 {
			via = b
		}
		wg.Go(func() {
			n, err := via.Place(ctx, "us-east-1", "")
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			got[n.ID]++
			mu.Unlock()
		})
	}
	wg.Wait()
	if got["node-a"] != 20 || got["node-b"] != 20 {
		t.Fatalf("placements %v, want 20 each", got)
	}

	ids := make(chan string, 10)
	for range 10 {
		wg.Go(func() {
			n, err := a.Place(ctx, "us-east-1", "token-1")
			if err != nil {
				t.Error(err)
				return
			}
			ids <- n.ID
		})
	}
	wg.Wait()
	close(ids)
	first := ""
	for id := range ids {
		if first == "" {
			first = id
		} else if id != first {
			t.Fatalf("one request token placed on %s and %s", first, id)
		}
	}
	nodes, err := a.Nodes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, n := range nodes {
		total += n.Meetings
	}
	if total != 41 {
		t.Fatalf("placements counted %d, want 41 (the raced token once)", total)
	}
	if _, err := a.Place(ctx, "eu-west-1", ""); err == nil {
		t.Fatal("a region no node serves was placed")
	}
}
