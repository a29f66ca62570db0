package load

import (
	"strings"
	"testing"
	"time"
)

func TestParseShard(t *testing.T) {
	for in, want := range map[string]Shard{"": {}, "1/1": {1, 1}, "2/3": {2, 3}} {
		if got, err := ParseShard(in); err != nil || got != want {
			t.Errorf("ParseShard(%q) = %v, %v", in, got, err)
		}
	}
	for _, in := range []string{"0/2", "3/2", "1", "a/b", "1/0", "-1/2"} {
		if _, err := ParseShard(in); err == nil {
			t.Errorf("ParseShard(%q) accepted", in)
		}
	}
	sh := Shard{Index: 2, Count: 3}
	var mine []int
	for m := range 7 {
		if sh.Has(m) {
			mine = append(mine, m)
		}
	}
	if len(mine) != 2 || mine[0] != 1 || mine[1] != 4 || sh.meetings(7) != 2 {
		t.Fatalf("shard 2/3 of 7 meetings: %v", mine)
	}
}

// TestMerge: percentiles come from the union of the samples, counts add
// up, the server is the longest-sampled shard's, meetings are in order.
func TestMerge(t *testing.T) {
	t0 := time.Unix(1000, 0)
	a := &Report{Scenario: Scenario{Name: "s", Meetings: 2, Shard: Shard{1, 2}}, Target: "x", Started: t0.Add(time.Second),
		Attendees: 2, Joined: 2, MouthToEarPairs: 2, Meetings: []MeetingReport{{MeetingID: "meeting 10"}},
		Server: ServerReport{Samples: []Sample{{}, {}}, CPUPercentMean: 10},
		Raw:    &RawSamples{MouthToEarMs: []float64{1, 2, 3}, JoinMs: []float64{5, 6}}}
	b := &Report{Scenario: Scenario{Name: "s", Meetings: 2, Shard: Shard{2, 2}}, Target: "x", Started: t0,
		Attendees: 3, Joined: 2, MouthToEarPairs: 1, Meetings: []MeetingReport{{MeetingID: "meeting 9"}},
		Server: ServerReport{Samples: []Sample{{}, {}, {}}, CPUPercentMean: 20},
		Raw:    &RawSamples{MouthToEarMs: []float64{100}, JoinMs: []float64{7}}}
	r, err := Merge([]*Report{a, b})
	if err != nil {
		t.Fatal(err)
	}
	if r.Shards != 2 || r.Attendees != 5 || r.Joined != 4 || r.MouthToEarPairs != 3 || !r.Started.Equal(t0) || r.Scenario.Shard.On() {
		t.Fatalf("merged %+v", r)
	}
	if r.MouthToEarMs.N != 4 || r.MouthToEarMs.Max != 100 || r.MouthToEarMs.P50 != 2 || r.JoinLatencyMs.N != 3 {
		t.Fatalf("mouth-to-ear %+v, join %+v", r.MouthToEarMs, r.JoinLatencyMs)
	}
	if r.Server.CPUPercentMean != 20 || r.Meetings[0].MeetingID != "meeting 9" {
		t.Fatalf("server %+v, meetings %+v", r.Server, r.Meetings)
	}
	// Merging a merge counts its shards.
	c := &Report{Scenario: Scenario{Name: "s"}, Target: "x", Raw: &RawSamples{}}
	if r2, err := Merge([]*Report{r, c}); err != nil || r2.Shards != 3 {
		t.Fatalf("merge of a merge: %v, %v", r2, err)
	}
	// Refused: no raw samples, another scenario.
	if _, err := Merge([]*Report{a, {Scenario: Scenario{Name: "s"}, Target: "x"}}); err == nil || !strings.Contains(err.Error(), "no raw samples") {
		t.Fatalf("a report without raw samples: %v", err)
	}
	if _, err := Merge([]*Report{a, {Scenario: Scenario{Name: "t"}, Target: "x", Raw: &RawSamples{}}}); err == nil {
		t.Fatal("reports of two scenarios merged")
	}
}
