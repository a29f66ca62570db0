package api

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/confab-media/confab/internal/redistest"
	"github.com/confab-media/confab/signaling/store"
)

// BenchmarkCreateAttendeeStores runs CreateAttendee (SigV4 over loopback)
// on the embedded bbolt store and on the cluster's Redis store (a
// redis-server with appendonly yes, appendfsync always) side by side:
//
//	go test -run '^$' -bench CreateAttendeeStores -benchtime 3s ./signaling/api
func BenchmarkCreateAttendeeStores(b *testing.B) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	for _, par := range clientLoads {
		b.Run(fmt.Sprintf("store=bolt/clients=%dxP", par), func(b *testing.B) {
			st, err := store.OpenBolt(b.TempDir(), log)
			if err != nil {
				b.Fatal(err)
			}
			srv, svc, client := benchServerOn(b, st)
			createAttendees(b, par, srv, svc, client)
		})
		b.Run(fmt.Sprintf("store=redis/clients=%dxP", par), func(b *testing.B) {
			rd := redistest.StartRedis(b)
			opt, err := redis.ParseURL(rd.URL())
			if err != nil {
				b.Fatal(err)
			}
			opt.PoolSize = 4
			rdb := redis.NewClient(opt)
			b.Cleanup(func() { _ = rdb.Close() })
			st, err := store.OpenRedis(context.Background(), store.RedisConfig{Client: rdb, Group: "bench"}, log)
			if err != nil {
				b.Fatal(err)
			}
			srv, svc, client := benchServerOn(b, st)
			createAttendees(b, par, srv, svc, client)
		})
	}
}
