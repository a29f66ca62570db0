package cluster

import (
	"context"
	"net/http"
	"time"
)

// drainPoll is how often Drain looks whether the node's meetings are over.
const drainPoll = 200 * time.Millisecond

// Drain stops placements on this node (at once: the registry entry is
// rewritten), lets its meetings go on for up to deadline, stops relaying
// the events stream, then ends the meetings left. It returns how many it
// ended. The caller then waits for its delivery outbox to empty before
// exiting (a drained node hands on what it already took).
func (c *Cluster) Drain(ctx context.Context, deadline time.Duration) int {
	c.draining.Store(true)
	if err := c.beat(ctx); err != nil {
		c.p.Log.Warn("cluster: publish draining", "err", err)
	}
	c.p.Log.Info("cluster: draining", "deadline", deadline.String(), "meetings", c.p.Meetings.ActiveMeetings())
	end := c.p.Clock.Now().Add(deadline)
	for c.p.Meetings.ActiveMeetings() > 0 && c.p.Clock.Now().Before(end) && ctx.Err() == nil {
		c.sleep(ctx, drainPoll)
	}
	// Stop taking events from the stream first: the MeetingEnded events
	// of the meetings ended now are then relayed by the nodes that stay,
	// not queued in this node's outbox as it goes away.
	if c.stopRelay != nil {
		c.stopRelay()
		<-c.relayDone
	}
	n := c.p.Meetings.EndAll(ctx, "node drained")
	c.p.Log.Info("cluster: drained", "ended", n)
	return n
}

// Draining reports whether Drain has begun.
func (c *Cluster) Draining() bool { return c.draining.Load() }

// DrainHandler serves the admin endpoint that starts a drain (POST): it
// answers 202 at once and drains in the background with deadline, owned by
// the Cluster (Close waits for it). Mount it behind the API's
// authentication.
func (c *Cluster) DrainHandler(deadline time.Duration) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			http.Error(w, "POST only", http.StatusMethodNotAllowed)
			return
		}
		if c.draining.Swap(true) {
			w.WriteHeader(http.StatusAccepted)
			return
		}
		c.wg.Add(1)
		go func() {
			defer c.wg.Done()
			c.Drain(context.Background(), deadline)
		}()
		w.WriteHeader(http.StatusAccepted)
	})
}
