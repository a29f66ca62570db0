package meeting

import (
	"context"
	"net/url"
	"strings"
	"sync"
)

// MediaGroup is a node that hosts meetings' media. Its public base URL is
// where clients reach its signaling (ws/wss) and HTTP endpoints.
type MediaGroup struct {
	ID        string
	PublicURL *url.URL // http(s)://host[:port][/base]
}

// Placer decides which media group hosts a new meeting. The single-node
// default is LocalPlacer; a Redis-backed placer can balance several nodes
// later without the API layer noticing.
type Placer interface {
	// Place picks a group for a new meeting in region, or fails with
	// ErrLimitExceeded when no group can take another meeting.
	Place(ctx context.Context, meetingID, region string) (MediaGroup, error)
	// Restore re-registers a meeting loaded from the store on its group.
	Restore(meetingID, groupID string) (MediaGroup, error)
	// Release frees the meeting's slot when it ends.
	Release(meetingID string)
}

// LocalPlacer places every meeting on this node's one media group, up to a
// quota of active meetings (Chime's default: 250).
type LocalPlacer struct {
	group MediaGroup
	max   int

	mu     sync.Mutex // guards active
	active map[string]struct{}
}

var _ Placer = (*LocalPlacer)(nil)

// NewLocalPlacer returns a placer for one group with room for max meetings.
func NewLocalPlacer(group MediaGroup, max int) *LocalPlacer {
	return &LocalPlacer{group: group, max: max, active: map[string]struct{}{}}
}

// Place takes a slot on the local group.
func (p *LocalPlacer) Place(_ context.Context, meetingID, _ string) (MediaGroup, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.active) >= p.max {
		return MediaGroup{}, errorf(ErrLimitExceeded, "The media group has reached its limit of %d active meetings", p.max)
	}
	p.active[meetingID] = struct{}{}
	return p.group, nil
}

// Restore takes a slot for a stored meeting, even past the quota (the
// meeting exists already).
func (p *LocalPlacer) Restore(meetingID, _ string) (MediaGroup, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.active[meetingID] = struct{}{}
	return p.group, nil
}

// Release frees the slot.
func (p *LocalPlacer) Release(meetingID string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.active, meetingID)
}

// placement builds the MediaPlacement URLs of a meeting hosted on g, in the
// shapes Chime uses. SignalingUrl has no query string (the SDK appends one).
func (g MediaGroup) placement(meetingID string) MediaPlacement {
	u := g.PublicURL
	wsScheme := "ws"
	if u.Scheme == "https" {
		wsScheme = "wss"
	}
	base := strings.TrimSuffix(u.Path, "/")
	ws := wsScheme + "://" + u.Host + base
	web := u.Scheme + "://" + u.Host + base
	return MediaPlacement{
		AudioHostUrl:     u.Host,
		AudioFallbackUrl: ws + "/calls/" + meetingID,
		SignalingUrl:     ws + "/control/" + meetingID,
		TurnControlUrl:   web + "/v2/turn_sessions",
		ScreenDataUrl:    ws + "/v2/screen/" + meetingID,
		ScreenSharingUrl: ws + "/v2/screen/" + meetingID,
		ScreenViewingUrl: ws + "/ws/connect?passcode=null&viewer_uuid=null&X-BitHub-Call-Id=" + meetingID,
	}
}
