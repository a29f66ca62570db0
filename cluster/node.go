package cluster

import (
	"encoding/json"
	"slices"
	"time"
)

// Node is what a node publishes about itself in the registry.
type Node struct {
	ID string `json:"id"`
	// URL is the node's public HTTP base URL (API, WebSocket signaling).
	URL string `json:"url"`
	// SIP is the node's SIP gateway address (host:port, UDP), "" without one.
	SIP string `json:"sip,omitempty"`
	// Regions are the media regions the node serves.
	Regions []string `json:"regions"`
	// MaxMeetings is the most meetings placement gives it.
	MaxMeetings int `json:"maxMeetings"`
	// Load, as of the last heartbeat.
	Meetings  int     `json:"meetings"`
	Attendees int     `json:"attendees"`
	CPU       float64 `json:"cpu"` // cores busy (process CPU time per second)
	Draining  bool    `json:"draining"`
	// Beat is when the heartbeat was sent.
	Beat time.Time `json:"beat"`

	// placed is how many of Meetings were placed since the heartbeat (the
	// placed:<id> counter when read); never encoded.
	placed int
}

// Serves reports whether n serves region.
func (n Node) Serves(region string) bool { return slices.Contains(n.Regions, region) }

func (n Node) encode() []byte {
	b, _ := json.Marshal(n)
	return b
}

func decodeNode(b []byte) (Node, error) {
	var n Node
	err := json.Unmarshal(b, &n)
	return n, err
}
