package cluster

import (
	"context"
	"time"
)

// keyReap is the lock one surviving node takes to end a dead node's
// meetings; it expires so a reaper that dies midway is replaced.
const (
	keyReap = "reap:"
	reapTTL = time.Minute
)

// reap ends the meetings of every node whose heartbeat expired: the reaper
// step, run every heartbeat on every node. Each dead node is reaped by the
// one node that takes its lock; a meeting is ended by deleting its record
// with its MeetingEnded in one transaction, so it is announced once.
func (c *Cluster) reap(ctx context.Context) error {
	if !c.mayReap() {
		return nil
	}
	_, dead, err := c.members(ctx)
	if err != nil {
		return err
	}
	now := c.p.Clock.Now()
	missing := make(map[string]time.Time, len(dead))
	for _, id := range dead {
		since, seen := c.missingSince[id]
		if !seen {
			since = now
		}
		missing[id] = since
	}
	c.missingSince = missing // a node seen alive again starts over
	for _, id := range dead {
		if id == c.Self() {
			continue // this node's own key lapsed (Redis was away): the next beat restores it
		}
		// Dead for this node for a whole TTL: a node whose heartbeat was
		// only delayed (its connection to a restarted Redis still timing
		// out) has had time to beat again.
		if now.Sub(missing[id]) < c.cfg.TTL {
			continue
		}
		won, err := c.p.Redis.SetNX(ctx, c.key(keyReap+id), c.Self(), reapTTL).Result()
		if err != nil || !won {
			continue
		}
		if err := c.reapNode(ctx, id); err != nil {
			c.p.Log.Warn("cluster: reaping a dead node failed; retried later", "node", id, "err", err)
			continue
		}
		_ = c.p.Redis.SRem(ctx, c.key(keyNodes), id).Err()
		_ = c.p.Redis.Del(ctx, c.key(keyReap+id)).Err()
	}
	return nil
}

// reapNode ends the stored meetings of the dead node id.
func (c *Cluster) reapNode(ctx context.Context, id string) error {
	ms, _, err := c.p.Store.LoadGroup(ctx, id)
	if err != nil {
		return err
	}
	if len(ms) > 0 {
		c.p.Log.Warn("cluster: node heartbeat expired; ending its meetings", "node", id, "meetings", len(ms))
	}
	for _, rec := range ms {
		// A node that came back under the same id has its meetings again.
		if n, live, err := c.Node(ctx, id); err == nil && live && n.ID == id {
			return nil
		}
		if err := c.p.Meetings.EndStored(ctx, rec, "node failed"); err != nil {
			return err
		}
		c.m.reaped.Inc()
	}
	return nil
}
