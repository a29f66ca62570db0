package cluster

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// ErrNoNode: no live, non-draining node with room serves the region.
var ErrNoNode = errors.New("cluster: no node available")

// keyRequestToken maps a ClientRequestToken to the node its meeting was
// placed on, so that concurrent CreateMeeting calls with one token on
// different nodes all reach the node whose meeting service deduplicates
// them. It lives as long as Chime's idempotency window is useful.
const (
	keyRequestToken = "crt:"
	requestTokenTTL = 24 * time.Hour
)

// pick chooses the node for a new meeting in region: live, serving the
// region, not draining, under its meeting limit, least loaded (fewest
// meetings, then fewest attendees, then least CPU).
func pick(nodes []Node, region string) (Node, bool) {
	var best Node
	found := false
	for _, n := range nodes {
		if !n.Serves(region) || n.Draining || (n.MaxMeetings > 0 && n.Meetings >= n.MaxMeetings) {
			continue
		}
		if !found || less(n, best) {
			best, found = n, true
		}
	}
	return best, found
}

func less(a, b Node) bool {
	if a.Meetings != b.Meetings {
		return a.Meetings < b.Meetings
	}
	if a.Attendees != b.Attendees {
		return a.Attendees < b.Attendees
	}
	return a.CPU < b.CPU
}

// Place picks the node for a new meeting in region. With a
// ClientRequestToken, the first placement of that token wins across the
// cluster and later ones return the same node.
func (c *Cluster) Place(ctx context.Context, region, requestToken string) (Node, error) {
	if requestToken != "" {
		if n, ok, err := c.placedFor(ctx, requestToken); err != nil || ok {
			return n, err
		}
	}
	nodes, err := c.Nodes(ctx)
	if err != nil {
		return Node{}, err
	}
	n, ok := pick(nodes, region)
	if !ok {
		c.m.placements.WithLabelValues("none").Inc()
		return Node{}, fmt.Errorf("%w: no live node serves media region %s with room for a meeting", ErrNoNode, region)
	}
	if requestToken != "" {
		won, err := c.p.Redis.SetNX(ctx, c.key(keyRequestToken+requestToken), n.ID, requestTokenTTL).Result()
		if err != nil {
			return Node{}, err
		}
		if !won { // a concurrent create with the token placed it first
			if w, ok, err := c.placedFor(ctx, requestToken); err != nil || ok {
				return w, err
			}
			// It was placed on a node that has died since: take it over.
			if err := c.p.Redis.Set(ctx, c.key(keyRequestToken+requestToken), n.ID, requestTokenTTL).Err(); err != nil {
				return Node{}, err
			}
		}
	}
	if err := c.p.Redis.Incr(ctx, c.key(keyPlaced+n.ID)).Err(); err != nil {
		c.p.Log.Warn("cluster: count a placement", "err", err)
	}
	c.m.placements.WithLabelValues(n.ID).Inc()
	return n, nil
}

// placedFor returns the live node a request token was placed on.
func (c *Cluster) placedFor(ctx context.Context, token string) (Node, bool, error) {
	id, err := c.p.Redis.Get(ctx, c.key(keyRequestToken+token)).Result()
	if errors.Is(err, redis.Nil) {
		return Node{}, false, nil
	}
	if err != nil {
		return Node{}, false, err
	}
	n, ok, err := c.Node(ctx, id)
	if err != nil || !ok {
		return Node{}, false, err
	}
	return n, true, nil
}
