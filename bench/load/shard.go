package load

import (
	"fmt"
	"strconv"
	"strings"
)

// Shard is one part of a scenario split across several bench processes
// (`--shard i/n`), for instance on several hosts when one generator
// cannot load a cluster alone. Shard i of n runs the scenario's meetings
// m with m mod n = i−1, whole: a meeting's attendees stay in one process,
// whose clock times both ends of every mouth-to-ear measurement. Each
// shard's report carries its raw samples, which `confab bench merge`
// combines into one report. The zero Shard is the whole scenario.
type Shard struct {
	Index int `json:"index"` // 1-based
	Count int `json:"count"`
}

// ParseShard reads "i/n" (1 ≤ i ≤ n); "" is the whole scenario.
func ParseShard(s string) (Shard, error) {
	if s == "" {
		return Shard{}, nil
	}
	a, b, ok := strings.Cut(s, "/")
	i, err1 := strconv.Atoi(a)
	n, err2 := strconv.Atoi(b)
	if !ok || err1 != nil || err2 != nil || n < 1 || i < 1 || i > n {
		return Shard{}, fmt.Errorf("--shard %q: want i/n with 1 ≤ i ≤ n, e.g. 2/3", s)
	}
	return Shard{Index: i, Count: n}, nil
}

// On reports whether the scenario is split.
func (sh Shard) On() bool { return sh.Count > 1 }

// Has reports whether meeting m (0-based) is this shard's.
func (sh Shard) Has(m int) bool {
	return !sh.On() || m%sh.Count == sh.Index-1
}

// meetings is how many of n meetings are this shard's.
func (sh Shard) meetings(n int) int {
	k := 0
	for m := range n {
		if sh.Has(m) {
			k++
		}
	}
	return k
}

func (sh Shard) String() string {
	if !sh.On() {
		return ""
	}
	return fmt.Sprintf("%d/%d", sh.Index, sh.Count)
}

// RawSamples are the measurements a report's distributions summarise,
// kept in a shard's report so that a merge computes its percentiles from
// all of them rather than averaging percentiles.
type RawSamples struct {
	JoinMs        []float64 `json:"joinMs"`
	MouthToEarMs  []float64 `json:"mouthToEarMs"`
	DataMs        []float64 `json:"dataMs"`
	LossPct       []float64 `json:"lossPct"`
	JitterMs      []float64 `json:"jitterMs"`
	VideoFPS      []float64 `json:"videoFps"`
	VideoKbps     []float64 `json:"videoKbps,omitempty"`
	VideoMaxGapMs []float64 `json:"videoMaxGapMs,omitempty"`
	// The phone callers' (SIPReport).
	SIPAnswerMs  []float64 `json:"sipAnswerMs,omitempty"`
	SIPAudioMs   []float64 `json:"sipAudioMs,omitempty"`
	SIPLossPct   []float64 `json:"sipLossPct,omitempty"`
	SIPJitterMs  []float64 `json:"sipJitterMs,omitempty"`
	SIPFromPhone []float64 `json:"sipFromPhoneMs,omitempty"`
	SIPToPhone   []float64 `json:"sipToPhoneMs,omitempty"`
	// The PIN flow's (SIPReport).
	SIPDigitsToJoin   []float64 `json:"sipDigitsToJoinMs,omitempty"`
	SIPInviteToJoin   []float64 `json:"sipInviteToJoinMs,omitempty"`
	SIPCreateAttendee []float64 `json:"sipCreateAttendeeMs,omitempty"`
}
