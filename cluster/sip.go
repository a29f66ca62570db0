package cluster

import (
	"context"
	"errors"
	"strings"
)

// ErrHostGone: the node hosting a meeting is not live (its meetings are
// about to be ended by the reaper).
var ErrHostGone = errors.New("cluster: the node hosting the meeting is not live")

// SetSIP sets the SIP UDP address this node's gateway is reached at, for
// the other nodes' gateways to hand calls over to (sipgw.Locator). Call it
// before Start.
func (c *Cluster) SetSIP(addr string) { c.cfg.Self.SIP = addr }

// MeetingSIP returns the SIP address of the node hosting meetingID: ""
// when it is this node, or when no meeting has that id (the local gateway
// answers either), ErrHostGone when its node is dead or runs no gateway.
func (c *Cluster) MeetingSIP(ctx context.Context, meetingID string) (string, error) {
	rec, ok, err := c.p.Store.GetMeeting(ctx, strings.ToLower(meetingID))
	if err != nil || !ok || rec.MediaGroup == c.Self() {
		return "", err
	}
	n, live, err := c.Node(ctx, rec.MediaGroup)
	if err != nil {
		return "", err
	}
	if !live || n.SIP == "" {
		return "", ErrHostGone
	}
	return n.SIP, nil
}
