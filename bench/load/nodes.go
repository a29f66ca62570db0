package load

import (
	"net/url"
	"sort"
)

// nodePlacements counts meetings per node: the HTTP base URL of their
// SignalingUrl (ws → http, wss → https), where a cluster node serves its
// /metrics too.
type nodePlacements map[string]int

func (p nodePlacements) add(signalingURL string) {
	u, err := url.Parse(signalingURL)
	if err != nil || u.Host == "" {
		return
	}
	scheme := "http"
	if u.Scheme == "wss" || u.Scheme == "https" {
		scheme = "https"
	}
	p[scheme+"://"+u.Host]++
}

// urls returns the nodes in a stable order.
func (p nodePlacements) urls() []string {
	out := make([]string, 0, len(p))
	for u := range p {
		out = append(out, u)
	}
	sort.Strings(out)
	return out
}
