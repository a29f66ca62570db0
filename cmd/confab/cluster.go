package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/confab-media/confab/cluster"
	"github.com/confab-media/confab/cmd/confab/internal/config"
	"github.com/confab-media/confab/internal/guard"
	"github.com/confab-media/confab/signaling/events"
	"github.com/confab-media/confab/signaling/meeting"
	"github.com/confab-media/confab/signaling/notify"
	"github.com/confab-media/confab/signaling/store"
)

// openRedisStore connects to cluster.redis_url and opens the shared store
// for this node's media group (its node id).
func openRedisStore(ctx context.Context, cfg config.Config, log *slog.Logger) (*redis.Client, *store.Redis, error) {
	opt, err := redis.ParseURL(cfg.Cluster.RedisURL)
	if err != nil {
		return nil, nil, fmt.Errorf("cluster.redis_url: %w", err)
	}
	opt.DialTimeout = 2 * time.Second
	opt.ReadTimeout = 3 * time.Second
	opt.WriteTimeout = 3 * time.Second
	rdb := redis.NewClient(opt)
	st, err := store.OpenRedis(ctx, store.RedisConfig{Client: rdb, Group: cfg.Cluster.NodeID}, log)
	if err != nil {
		_ = rdb.Close()
		return nil, nil, err
	}
	return rdb, st, nil
}

// startCluster registers this node; serve starts its heartbeat, reaper and
// event relay (Start) once the SIP gateway's address is known.
func startCluster(ctx context.Context, cfg config.Config, rdb *redis.Client, st *store.Redis, svc *meeting.Service,
	nt *notify.Service, reg prometheus.Registerer, log *slog.Logger, panics guard.Counter) (*cluster.Cluster, error) {
	self := cluster.Node{
		ID: cfg.Cluster.NodeID, URL: cfg.HTTP.PublicURL, Regions: cfg.MediaRegions,
		MaxMeetings: cfg.Quotas.ActiveMeetingsPerMediaGroup,
	}
	c, err := cluster.New(ctx, cluster.Config{Self: self, Heartbeat: cfg.Cluster.Heartbeat.Std()}, cluster.Params{
		Redis: rdb, Store: st, Meetings: svc, Sink: notifySink{nt}, Log: log, Registerer: reg, Panics: panics,
		CPU: newCPUMeter(),
	})
	if err != nil {
		return nil, err
	}
	log.Info("cluster node registered", "node", self.ID, "regions", len(self.Regions), "url", self.URL)
	return c, nil
}

// notifySink hands relayed events to the local delivery service.
type notifySink struct{ nt *notify.Service }

func (s notifySink) Deliver(ctx context.Context, e events.Event) { s.nt.Deliver(ctx, e) }

func (s notifySink) SetTargets(meetingID string, raw []byte) error {
	var n meeting.NotificationsConfiguration
	if err := json.Unmarshal(raw, &n); err != nil {
		return err
	}
	return s.nt.SetMeetingTargets(meetingID, notify.MeetingTargets(n))
}

// newCPUMeter returns a function reporting the cores this process used
// since its previous call (getrusage user + system time over wall time).
func newCPUMeter() func() float64 {
	var mu sync.Mutex
	last, lastAt := cpuTime(), time.Now()
	return func() float64 {
		mu.Lock()
		defer mu.Unlock()
		now, at := cpuTime(), time.Now()
		wall := at.Sub(lastAt).Seconds()
		used := (now - last).Seconds()
		last, lastAt = now, at
		if wall <= 0 {
			return 0
		}
		return used / wall
	}
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
