package load

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/confab-media/confab/bench/attendee"
)

// NetworkReport is how the attendees reached the server: the ICE path
// each one uses, and what their impairment dropped and held.
type NetworkReport struct {
	// Paths counts joined attendees by the local candidate type of the
	// pair ICE selected: host, srflx or relay.
	Paths map[string]int `json:"paths,omitempty"`
	attendee.ImpairStats
}

func (n *NetworkReport) add(a *attendee.Attendee) {
	if n.Paths == nil {
		n.Paths = map[string]int{}
	}
	p := a.Path()
	if p == "" {
		p = "none"
	}
	n.Paths[p]++
	st := a.ImpairStats()
	n.DroppedOut += st.DroppedOut
	n.DroppedIn += st.DroppedIn
	n.QueueDrops += st.QueueDrops
	n.Held += st.Held
}

// Impaired reports whether an impairment acted on any datagram.
func (n NetworkReport) Impaired() bool {
	return n.DroppedOut+n.DroppedIn+n.QueueDrops+n.Held > 0
}

func (n NetworkReport) pathLine() string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(n.Paths)) {
		parts = append(parts, fmt.Sprintf("%d %s", n.Paths[k], k))
	}
	return strings.Join(parts, ", ")
}

// counterLine lists counter series and their growth, sorted.
func counterLine(c map[string]float64) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(c)) {
		parts = append(parts, fmt.Sprintf("%s +%.0f", strings.TrimPrefix(k, "confab_"), c[k]))
	}
	return strings.Join(parts, ", ")
}
