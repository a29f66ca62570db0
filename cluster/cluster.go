package cluster

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/confab-media/confab/internal/clock"
	"github.com/confab-media/confab/internal/guard"
	"github.com/confab-media/confab/signaling/events"
	"github.com/confab-media/confab/signaling/store"
)

// Config is one node's part in the cluster.
type Config struct {
	// Self is this node as the registry shows it (ID, URL, SIP, Regions,
	// MaxMeetings); its load fields are filled at each heartbeat.
	Self Node
	// Prefix starts every Redis key (default "confab:"); it must match the
	// store's.
	Prefix string
	// Heartbeat is how often the node publishes itself (default 2 s); TTL
	// is how long an entry outlives its last heartbeat (default 3 × Heartbeat).
	Heartbeat time.Duration
	TTL       time.Duration
	// ClaimIdle is how long an event a consumer took may stay unacknowledged
	// before another node relays it (default 30 s).
	ClaimIdle time.Duration
}

// Meetings is what the cluster needs of the node's meeting service.
type Meetings interface {
	Hosts(meetingID string) bool
	ActiveMeetings() int
	AttendeeCount() int
	EndAll(ctx context.Context, reason string) int
	EndStored(ctx context.Context, rec store.MeetingRecord, reason string) error
}

// Sink takes a relayed event into this node's durable delivery outbox
// (*notify.Service satisfies it): Deliver returns once it is queued on
// disk. SetTargets registers a meeting's NotificationsConfiguration (JSON)
// first, when the event carries it.
type Sink interface {
	Deliver(ctx context.Context, e events.Event)
	SetTargets(meetingID string, notificationsJSON []byte) error
}

// Params are the node's dependencies.
type Params struct {
	Redis    *redis.Client
	Store    *store.Redis
	Meetings Meetings
	Sink     Sink
	Clock    clock.Clock
	Log      *slog.Logger
	// Registerer gets the cluster metrics (nil: none).
	Registerer prometheus.Registerer
	// Panics counts a contained panic in a cluster goroutine.
	Panics guard.Counter
	// CPU reports the cores the process used since the last call (nil: 0);
	// ProcessCPU measures this process.
	CPU func() float64
}

// Cluster is this node's membership: heartbeat, reaper, relay and router.
type Cluster struct {
	cfg Config
	p   Params
	m   *metrics

	draining atomic.Bool
	// healthySince is when this node's heartbeats last started succeeding
	// without a failure since (zero: the last one failed). The reaper
	// trusts a peer's expired heartbeat only after a TTL of its own good
	// ones: after Redis was away, every peer's key may have lapsed, and
	// they all beat again within a period.
	healthyMu    sync.Mutex
	healthySince time.Time
	// missingSince is when the reaper first saw each registered node
	// without a heartbeat (reaper goroutine only).
	missingSince map[string]time.Time

	cancel context.CancelFunc
	wg     sync.WaitGroup // heartbeat, reaper and relay loops
	// stopRelay ends the relay loop alone (a draining node leaves its
	// last events to the others); relayDone closes when it has.
	stopRelay context.CancelFunc
	relayDone chan struct{}
}

// New checks the configuration and Redis, and registers the node. Start
// begins its loops.
func New(ctx context.Context, cfg Config, p Params) (*Cluster, error) {
	if cfg.Self.ID == "" {
		return nil, errors.New("cluster: node id is empty")
	}
	if _, err := url.Parse(cfg.Self.URL); err != nil || cfg.Self.URL == "" {
		return nil, fmt.Errorf("cluster: node url %q: %v", cfg.Self.URL, err)
	}
	if len(cfg.Self.Regions) == 0 {
		return nil, errors.New("cluster: the node serves no media region")
	}
	if cfg.Prefix == "" {
		cfg.Prefix = "confab:"
	}
	if cfg.Heartbeat <= 0 {
		cfg.Heartbeat = 2 * time.Second
	}
	if cfg.TTL <= 0 {
		cfg.TTL = 3 * cfg.Heartbeat
	}
	if cfg.ClaimIdle <= 0 {
		cfg.ClaimIdle = 30 * time.Second
	}
	if p.Clock == nil {
		p.Clock = clock.System{}
	}
	c := &Cluster{cfg: cfg, p: p, m: newMetrics(p.Registerer, cfg.Self.ID)}
	if err := c.beat(ctx); err != nil {
		return nil, fmt.Errorf("cluster: register node: %w", err)
	}
	p.Log.Info("cluster node registered", "node", cfg.Self.ID, "regions", len(cfg.Self.Regions), "url", cfg.Self.URL)
	return c, nil
}

// Self is this node's id.
func (c *Cluster) Self() string { return c.cfg.Self.ID }

// Region is the first media region this node serves (GET
// /nearest-media-region).
func (c *Cluster) Region() string { return c.cfg.Self.Regions[0] }

// Start runs the heartbeat, the reaper and the relay until Close.
func (c *Cluster) Start() {
	ctx, cancel := context.WithCancel(context.Background())
	c.cancel = cancel
	// Publish at once what changed since New (the SIP address).
	if err := c.beat(ctx); err != nil {
		c.p.Log.Warn("cluster heartbeat failed", "err", err)
	}
	relayCtx, stopRelay := context.WithCancel(ctx)
	c.stopRelay, c.relayDone = stopRelay, make(chan struct{})
	c.wg.Add(3)
	go c.loop(ctx, "cluster heartbeat", c.cfg.Heartbeat, c.beatAndWatch)
	go c.loop(ctx, "cluster reaper", c.cfg.Heartbeat, c.reap)
	go func() {
		defer c.wg.Done()
		defer close(c.relayDone)
		c.relay(relayCtx)
	}()
}

// loop runs fn every period until ctx ends; a panic in fn is contained and
// counted, and the loop goes on.
func (c *Cluster) loop(ctx context.Context, name string, period time.Duration, fn func(context.Context) error) {
	defer c.wg.Done()
	tick, stop := c.p.Clock.Tick(period)
	defer stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick:
		}
		func() {
			defer guard.Recover(c.p.Log, c.p.Panics, name, nil)
			if err := fn(ctx); err != nil && ctx.Err() == nil {
				c.p.Log.Warn(name+" failed", "err", err)
			}
		}()
	}
}

// Ready reports whether Redis answers (GET /readyz).
func (c *Cluster) Ready(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	return c.p.Redis.Ping(ctx).Err()
}

// Close stops the loops and removes the node from the registry (a node that
// stops cleanly is not reaped; its meetings stay in Redis for its restart).
func (c *Cluster) Close() {
	if c.cancel != nil {
		c.cancel()
	}
	c.wg.Wait()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = c.p.Redis.Del(ctx, c.key(keyNode+c.cfg.Self.ID)).Err()
}

func (c *Cluster) key(k string) string { return c.cfg.Prefix + k }
