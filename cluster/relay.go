package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/confab-media/confab/internal/guard"
	"github.com/confab-media/confab/signaling/events"
)

// consumerGroup is the one consumer group on the events stream: each entry
// goes to one node, which hands it to its local delivery outbox.
const consumerGroup = "confab-delivery"

// relay consumes the events stream until ctx ends: new entries, and every
// ClaimIdle/2 the entries another consumer took and never acknowledged.
func (c *Cluster) relay(ctx context.Context) {
	stream := c.p.Store.StreamKey()
	for ctx.Err() == nil {
		err := c.p.Redis.XGroupCreateMkStream(ctx, stream, consumerGroup, "0").Err()
		if err == nil || strings.Contains(err.Error(), "BUSYGROUP") {
			break
		}
		c.p.Log.Warn("cluster: create the delivery consumer group", "err", err)
		c.sleep(ctx, time.Second)
	}
	lastClaim := c.p.Clock.Now()
	for ctx.Err() == nil {
		if now := c.p.Clock.Now(); now.Sub(lastClaim) >= c.cfg.ClaimIdle/2 {
			lastClaim = now
			c.claim(ctx, stream)
		}
		res, err := c.p.Redis.XReadGroup(ctx, &redis.XReadGroupArgs{
			Group: consumerGroup, Consumer: c.Self(), Streams: []string{stream, ">"},
			Count: 128, Block: time.Second,
		}).Result()
		if errors.Is(err, redis.Nil) || ctx.Err() != nil {
			continue
		}
		if err != nil {
			if strings.Contains(err.Error(), "NOGROUP") { // Redis lost the group (restarted empty)
				_ = c.p.Redis.XGroupCreateMkStream(ctx, stream, consumerGroup, "0").Err()
			} else {
				c.p.Log.Warn("cluster: read the events stream", "err", err)
			}
			c.sleep(ctx, time.Second)
			continue
		}
		for _, s := range res {
			c.handOn(ctx, stream, s.Messages)
		}
	}
}

// claim takes over the entries other consumers left unacknowledged for
// ClaimIdle (their node died between reading and acknowledging).
func (c *Cluster) claim(ctx context.Context, stream string) {
	start := "0-0"
	for ctx.Err() == nil {
		msgs, next, err := c.p.Redis.XAutoClaim(ctx, &redis.XAutoClaimArgs{
			Stream: stream, Group: consumerGroup, Consumer: c.Self(),
			MinIdle: c.cfg.ClaimIdle, Start: start, Count: 128,
		}).Result()
		if err != nil {
			return
		}
		c.handOn(ctx, stream, msgs)
		if next == "0-0" || next == "" || len(msgs) == 0 {
			return
		}
		start = next
	}
}

// handOn queues each entry's event in the local outbox, then acknowledges
// and deletes the entries. An entry that does not decode is logged and
// dropped (it can never be delivered).
func (c *Cluster) handOn(ctx context.Context, stream string, msgs []redis.XMessage) {
	if len(msgs) == 0 {
		return
	}
	ids := make([]string, 0, len(msgs))
	for _, m := range msgs {
		func() {
			defer guard.Recover(c.p.Log, c.p.Panics, "cluster relay", nil)
			c.deliver(ctx, m)
		}()
		ids = append(ids, m.ID)
	}
	p := c.p.Redis.TxPipeline()
	p.XAck(ctx, stream, consumerGroup, ids...)
	p.XDel(ctx, stream, ids...)
	if _, err := p.Exec(ctx); err != nil {
		c.p.Log.Warn("cluster: acknowledge relayed events (they will be relayed again)", "err", err)
	}
	c.m.relayed.Add(float64(len(ids)))
}

func (c *Cluster) deliver(ctx context.Context, m redis.XMessage) {
	raw, _ := m.Values["event"].(string)
	var e events.Event
	if err := json.Unmarshal([]byte(raw), &e); err != nil || e.ID == "" {
		c.p.Log.Error("cluster: undecodable event in the stream, dropped", "entry", m.ID, "err", err)
		return
	}
	if t, _ := m.Values["targets"].(string); t != "" {
		if err := c.p.Sink.SetTargets(e.Detail.MeetingID, []byte(t)); err != nil {
			c.p.Log.Warn("cluster: meeting targets not registered", "meeting", e.Detail.MeetingID, "err", err)
		}
	}
	c.p.Sink.Deliver(ctx, e)
}

// sleep waits d or until ctx ends.
func (c *Cluster) sleep(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-c.p.Clock.After(d):
	}
}
