package cluster

import (
	"context"
	"errors"
	"fmt"
	"strconv"
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

// candidates are the nodes that may take a new meeting in region: live,
// serving the region, not draining, under their meeting limit.
func candidates(nodes []Node, region string) []Node {
	var out []Node
	for _, n := range nodes {
		if n.Serves(region) && !n.Draining && (n.MaxMeetings <= 0 || n.Meetings < n.MaxMeetings) {
			out = append(out, n)
		}
	}
	return out
}

// pick chooses the least loaded of the candidates for region: fewest
// meetings, then fewest attendees, then least CPU.
func pick(nodes []Node, region string) (Node, bool) {
	var best Node
	found := false
	for _, n := range candidates(nodes, region) {
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

// pickAndCount is pick done inside Redis, atomically with counting the
// placement: it reads every candidate's placed:<id> counter afresh, so
// concurrent CreateMeeting calls (on any node) see each other's
// placements and spread instead of all choosing the node that looked
// emptiest when they read the registry. KEYS are the candidates' counters;
// ARGV holds, per candidate, its meetings at its last heartbeat, its
// attendees and its CPU. It returns the chosen candidate's 1-based index.
var pickAndCount = redis.NewScript(`
local best, bestLoad, bestAtt, bestCPU = 0, 0, 0, 0
for i = 1, #KEYS do
  local load = tonumber(ARGV[3*i-2]) + tonumber(redis.call('GET', KEYS[i]) or '0')
  local att, cpu = tonumber(ARGV[3*i-1]), tonumber(ARGV[3*i])
  if best == 0 or load < bestLoad or (load == bestLoad and (att < bestAtt or (att == bestAtt and cpu < bestCPU))) then
    best, bestLoad, bestAtt, bestCPU = i, load, att, cpu
  end
end
redis.call('INCR', KEYS[best])
redis.call('EXPIRE', KEYS[best], 30)
return best
`)

// Place picks the node for a new meeting in region and counts the
// placement as in flight until Placed. With a ClientRequestToken, the
// first placement of that token wins across the cluster and later ones
// return the same node (not counted: Placed is then a no-op).
func (c *Cluster) Place(ctx context.Context, region, requestToken string) (Node, error) {
	n, _, err := c.place(ctx, region, requestToken)
	return n, err
}

// Placed takes back the in-flight count of a placement on node id once its
// create has been answered (the host has published its meeting count by
// then: see Router).
func (c *Cluster) Placed(ctx context.Context, id string) {
	if err := c.p.Redis.Decr(ctx, c.key(keyPlaced+id)).Err(); err != nil {
		c.p.Log.Warn("cluster: uncount a placement", "err", err)
	}
}

// place is Place, also reporting whether the placement was counted.
func (c *Cluster) place(ctx context.Context, region, requestToken string) (Node, bool, error) {
	if requestToken != "" {
		if n, ok, err := c.placedFor(ctx, requestToken); err != nil || ok {
			return n, false, err
		}
	}
	nodes, err := c.Nodes(ctx)
	if err != nil {
		return Node{}, false, err
	}
	cands := candidates(nodes, region)
	if len(cands) == 0 {
		c.m.placements.WithLabelValues("none").Inc()
		return Node{}, false, fmt.Errorf("%w: no live node serves media region %s with room for a meeting", ErrNoNode, region)
	}
	keys := make([]string, len(cands))
	args := make([]any, 0, 3*len(cands))
	for i, n := range cands {
		keys[i] = c.key(keyPlaced + n.ID)
		args = append(args, n.Meetings-n.placed, n.Attendees, strconv.FormatFloat(n.CPU, 'f', 3, 64))
	}
	idx, err := pickAndCount.Run(ctx, c.p.Redis, keys, args...).Int()
	if err != nil {
		return Node{}, false, err
	}
	if idx < 1 || idx > len(cands) {
		return Node{}, false, fmt.Errorf("cluster: placement script chose %d of %d nodes", idx, len(cands))
	}
	n := cands[idx-1]
	if requestToken != "" {
		won, err := c.p.Redis.SetNX(ctx, c.key(keyRequestToken+requestToken), n.ID, requestTokenTTL).Result()
		if err != nil {
			c.p.Redis.Decr(ctx, keys[idx-1])
			return Node{}, false, err
		}
		if !won { // a concurrent create with the token placed it first
			if w, ok, err := c.placedFor(ctx, requestToken); err != nil || ok {
				c.p.Redis.Decr(ctx, keys[idx-1]) // our pick is not used
				return w, false, err
			}
			// It was placed on a node that has died since: take it over.
			if err := c.p.Redis.Set(ctx, c.key(keyRequestToken+requestToken), n.ID, requestTokenTTL).Err(); err != nil {
				c.p.Redis.Decr(ctx, keys[idx-1])
				return Node{}, false, err
			}
		}
	}
	c.m.placements.WithLabelValues(n.ID).Inc()
	return n, true, nil
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
