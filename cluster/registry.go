package cluster

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// Registry keys, under the prefix:
//
//	node:<id>    string with a TTL: the Node JSON of a live node
//	nodes        set: every node id that registered and was not reaped yet
//	placed:<id>  counter: CreateMeeting calls placed on the node and not
//	             answered yet (the placing router takes its count back
//	             once the create is answered, by which time the host has
//	             published its new meeting count), so a burst of creates
//	             spreads instead of all going to the node that looked
//	             emptiest; it expires if a router dies mid-create
const (
	keyNode   = "node:"
	keyNodes  = "nodes"
	keyPlaced = "placed:"
)

// beat publishes this node with its current load.
func (c *Cluster) beat(ctx context.Context) error {
	n := c.cfg.Self
	if c.p.Meetings != nil {
		n.Meetings = c.p.Meetings.ActiveMeetings()
		n.Attendees = c.p.Meetings.AttendeeCount()
	}
	if c.p.CPU != nil {
		n.CPU = c.p.CPU()
	}
	n.Draining = c.draining.Load()
	n.Beat = c.p.Clock.Now().UTC()
	_, err := c.p.Redis.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Set(ctx, c.key(keyNode+n.ID), n.encode(), c.cfg.TTL)
		p.SAdd(ctx, c.key(keyNodes), n.ID)
		return nil
	})
	if err == nil {
		c.m.hosted.Set(float64(n.Meetings))
	}
	return err
}

// beatAndWatch is the heartbeat loop's step: publish, then record how old
// every other node's last heartbeat is.
func (c *Cluster) beatAndWatch(ctx context.Context) error {
	err := c.beat(ctx)
	c.healthyMu.Lock()
	switch {
	case err != nil:
		c.healthySince = time.Time{}
	case c.healthySince.IsZero():
		c.healthySince = c.p.Clock.Now()
	}
	c.healthyMu.Unlock()
	if err != nil {
		return err
	}
	nodes, err := c.Nodes(ctx)
	if err != nil {
		return err
	}
	now := c.p.Clock.Now()
	for _, n := range nodes {
		c.m.heartbeatAge.WithLabelValues(n.ID).Set(now.Sub(n.Beat).Seconds())
	}
	return nil
}

// Nodes returns the live nodes (heartbeat not expired).
func (c *Cluster) Nodes(ctx context.Context) ([]Node, error) {
	live, _, err := c.members(ctx)
	return live, err
}

// Node returns one live node (ok false: unknown or expired).
func (c *Cluster) Node(ctx context.Context, id string) (Node, bool, error) {
	b, err := c.p.Redis.Get(ctx, c.key(keyNode+id)).Bytes()
	if errors.Is(err, redis.Nil) {
		return Node{}, false, nil
	}
	if err != nil {
		return Node{}, false, err
	}
	n, err := decodeNode(b)
	return n, err == nil, err
}

// members splits the registered nodes into live ones and the ids of those
// whose heartbeat expired.
func (c *Cluster) members(ctx context.Context) (live []Node, dead []string, err error) {
	ids, err := c.p.Redis.SMembers(ctx, c.key(keyNodes)).Result()
	if err != nil || len(ids) == 0 {
		return nil, nil, err
	}
	keys := make([]string, 2*len(ids))
	for i, id := range ids {
		keys[i] = c.key(keyNode + id)
		keys[len(ids)+i] = c.key(keyPlaced + id)
	}
	all, err := c.p.Redis.MGet(ctx, keys...).Result()
	if err != nil {
		return nil, nil, err
	}
	vals, placed := all[:len(ids)], all[len(ids):]
	for i, v := range vals {
		s, ok := v.(string)
		if !ok {
			dead = append(dead, ids[i])
			continue
		}
		n, err := decodeNode([]byte(s))
		if err != nil {
			c.p.Log.Warn("cluster: unreadable node entry", "node", ids[i], "err", err)
			continue
		}
		if p, ok := placed[i].(string); ok {
			n.placed, _ = strconv.Atoi(p)
			n.Meetings += n.placed
		}
		live = append(live, n)
	}
	return live, dead, nil
}

// heartbeatTimeout bounds one registry round trip.
const heartbeatTimeout = 2 * time.Second

// mayReap reports whether this node's own heartbeats have succeeded for a
// TTL without a break, so that a peer's missing heartbeat means the peer
// is gone rather than that Redis was.
func (c *Cluster) mayReap() bool {
	c.healthyMu.Lock()
	defer c.healthyMu.Unlock()
	return !c.healthySince.IsZero() && c.p.Clock.Now().Sub(c.healthySince) >= c.cfg.TTL+c.cfg.Heartbeat
}
