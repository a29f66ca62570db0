package load

import (
	"cmp"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// Merge combines the reports of a scenario's shards (`--shard i/n`, each
// with its raw samples) into one: counts add up, distributions are
// recomputed from all the samples, meetings are listed together, and the
// server's figures are those of the shard that sampled it longest (every
// shard samples the same target, so adding them would count it n times;
// a cluster's nodes are merged by URL). Harness CPU is the shards' sum.
func Merge(reports []*Report) (*Report, error) {
	if len(reports) == 0 {
		return nil, errors.New("load: nothing to merge")
	}
	out := &Report{Scenario: reports[0].Scenario, Target: reports[0].Target, Started: reports[0].Started, Raw: &RawSamples{}}
	out.Scenario.Shard = Shard{}
	nodes := map[string]*NodeReport{}
	var nodeOrder []string
	for i, r := range reports {
		if r.Raw == nil {
			return nil, fmt.Errorf("load: report %d has no raw samples: run each part with --shard i/n", i+1)
		}
		if r.Scenario.Name != out.Scenario.Name || r.Target != out.Target {
			return nil, fmt.Errorf("load: report %d is of scenario %q against %s, not %q against %s",
				i+1, r.Scenario.Name, r.Target, out.Scenario.Name, out.Target)
		}
		out.Shards += max(1, r.Shards)
		if r.Started.Before(out.Started) {
			out.Started = r.Started
		}
		out.WallSeconds = max(out.WallSeconds, r.WallSeconds)
		out.Attendees += r.Attendees
		out.Joined += r.Joined
		out.ListenersWithAudio += r.ListenersWithAudio
		out.MouthToEarPairs += r.MouthToEarPairs
		out.MouthToEarPairsExpected += r.MouthToEarPairsExpected
		for _, e := range r.JoinErrors {
			if len(out.JoinErrors) < 20 {
				out.JoinErrors = append(out.JoinErrors, e)
			}
		}
		out.HarnessCPUPercentMean += r.HarnessCPUPercentMean
		raw := out.Raw
		raw.JoinMs = append(raw.JoinMs, r.Raw.JoinMs...)
		raw.MouthToEarMs = append(raw.MouthToEarMs, r.Raw.MouthToEarMs...)
		raw.DataMs = append(raw.DataMs, r.Raw.DataMs...)
		raw.LossPct = append(raw.LossPct, r.Raw.LossPct...)
		raw.JitterMs = append(raw.JitterMs, r.Raw.JitterMs...)
		raw.VideoFPS = append(raw.VideoFPS, r.Raw.VideoFPS...)
		raw.VideoKbps = append(raw.VideoKbps, r.Raw.VideoKbps...)
		raw.VideoMaxGapMs = append(raw.VideoMaxGapMs, r.Raw.VideoMaxGapMs...)
		raw.SIPAnswerMs = append(raw.SIPAnswerMs, r.Raw.SIPAnswerMs...)
		raw.SIPAudioMs = append(raw.SIPAudioMs, r.Raw.SIPAudioMs...)
		raw.SIPLossPct = append(raw.SIPLossPct, r.Raw.SIPLossPct...)
		raw.SIPJitterMs = append(raw.SIPJitterMs, r.Raw.SIPJitterMs...)
		raw.SIPFromPhone = append(raw.SIPFromPhone, r.Raw.SIPFromPhone...)
		raw.SIPToPhone = append(raw.SIPToPhone, r.Raw.SIPToPhone...)
		raw.SIPDigitsToJoin = append(raw.SIPDigitsToJoin, r.Raw.SIPDigitsToJoin...)
		raw.SIPInviteToJoin = append(raw.SIPInviteToJoin, r.Raw.SIPInviteToJoin...)
		raw.SIPCreateAttendee = append(raw.SIPCreateAttendee, r.Raw.SIPCreateAttendee...)
		out.SIP.PIN = out.SIP.PIN || r.SIP.PIN
		out.SIP.JoinedByPIN += r.SIP.JoinedByPIN
		out.SIP.ToPhoneBursts += r.SIP.ToPhoneBursts
		out.SIP.ToPhoneBurstsHeard += r.SIP.ToPhoneBurstsHeard
		out.SIP.FromPhoneBursts += r.SIP.FromPhoneBursts
		out.SIP.FromPhoneBurstsHeard += r.SIP.FromPhoneBurstsHeard
		out.SIP.Callers += r.SIP.Callers
		out.SIP.Answered += r.SIP.Answered
		out.SIP.Codec = cmp.Or(out.SIP.Codec, r.SIP.Codec)
		for _, e := range r.SIP.Errors {
			if len(out.SIP.Errors) < 20 {
				out.SIP.Errors = append(out.SIP.Errors, e)
			}
		}
		for k, v := range r.Network.Paths {
			if out.Network.Paths == nil {
				out.Network.Paths = map[string]int{}
			}
			out.Network.Paths[k] += v
		}
		out.Network.DroppedOut += r.Network.DroppedOut
		out.Network.DroppedIn += r.Network.DroppedIn
		out.Network.QueueDrops += r.Network.QueueDrops
		out.Network.Held += r.Network.Held
		v := &out.Video
		v.Publishers += r.Video.Publishers
		v.Subscribers += r.Video.Subscribers
		v.Streams += r.Video.Streams
		v.StreamsWithFrames += r.Video.StreamsWithFrames
		v.SSRCChanges += r.Video.SSRCChanges
		v.Freezes += r.Video.Freezes
		v.FrozenSeconds += r.Video.FrozenSeconds
		v.LayerSwitches += r.Video.LayerSwitches
		v.mergeKeyframeSizes(r.Video.KeyframeSizes)
		if len(r.Server.Samples) > len(out.Server.Samples) || i == 0 {
			out.Server = r.Server
		}
		out.Meetings = append(out.Meetings, r.Meetings...)
		out.PerAttendee = append(out.PerAttendee, r.PerAttendee...)
		for _, n := range r.Nodes {
			if m, ok := nodes[n.URL]; ok {
				m.Meetings += n.Meetings
				continue
			}
			c := n
			nodes[n.URL] = &c
			nodeOrder = append(nodeOrder, n.URL)
		}
	}
	for _, u := range nodeOrder {
		out.Nodes = append(out.Nodes, *nodes[u])
	}
	slices.SortFunc(out.Meetings, func(a, b MeetingReport) int { return cmp.Compare(meetingOrder(a.MeetingID), meetingOrder(b.MeetingID)) })
	raw := out.Raw
	out.JoinLatencyMs, out.MouthToEarMs, out.DataLatencyMs = newDist(raw.JoinMs), newDist(raw.MouthToEarMs), newDist(raw.DataMs)
	out.AudioLossPct, out.AudioJitterMs, out.Video.FPS = newDist(raw.LossPct), newDist(raw.JitterMs), newDist(raw.VideoFPS)
	out.Video.BitrateKbps, out.Video.MaxFrameGapMs = newDist(raw.VideoKbps), newDist(raw.VideoMaxGapMs)
	p := &out.SIP
	p.InviteToAnswerMs, p.InviteToAudioMs = newDist(raw.SIPAnswerMs), newDist(raw.SIPAudioMs)
	p.LossPct, p.JitterMs = newDist(raw.SIPLossPct), newDist(raw.SIPJitterMs)
	p.FromPhoneMs, p.ToPhoneMs = newDist(raw.SIPFromPhone), newDist(raw.SIPToPhone)
	p.DigitsToJoinMs, p.InviteToJoinMs = newDist(raw.SIPDigitsToJoin), newDist(raw.SIPInviteToJoin)
	p.CreateAttendeeMs = newDist(raw.SIPCreateAttendee)
	return out, nil
}

// meetingOrder is the number in a MeetingReport's "meeting N" label.
func meetingOrder(id string) int {
	n, err := strconv.Atoi(strings.TrimPrefix(id, "meeting "))
	if err != nil {
		return -1
	}
	return n
}

// MergeMain runs `confab bench merge`: it reads shard reports (report.json
// files or the --out directories holding them), merges them, prints the
// summary and writes report.json and report.html. Exit codes as Main's.
func MergeMain(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("bench merge", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("out", "bench-report", "directory for the merged report.json and report.html")
	asserts := fs.String("assert", "", "conditions the merged run must meet (as confab bench --assert; exit code 3 otherwise)")
	junit := fs.String("junit", "", "also write the merged run and its assertions as JUnit XML to `file`")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), `usage: confab bench merge [flags] REPORT...

Merges the reports of one scenario run in parts on several hosts
(confab bench --shard i/n on each) into one report: percentiles from all the
samples, counts added up, the meetings of every part.

Example:
  confab bench merge --out merged host1/bench-report host2/bench-report

Flags:
`)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return 2
	}
	checks, err := ParseAssertions(*asserts)
	if err != nil {
		fmt.Fprintln(stderr, "confab bench merge:", err)
		return 2
	}
	var reports []*Report
	for _, p := range fs.Args() {
		r, err := readReportFile(p)
		if err != nil {
			fmt.Fprintln(stderr, "confab bench merge:", err)
			return 2
		}
		reports = append(reports, r)
	}
	r, err := Merge(reports)
	if err != nil {
		fmt.Fprintln(stderr, "confab bench merge:", err)
		return 2
	}
	return finish("confab bench merge", r, nil, *out, checks, *junit, stdout, stderr)
}

// readReportFile reads a report.json, or the report.json in a directory.
func readReportFile(p string) (*Report, error) {
	if st, err := os.Stat(p); err == nil && st.IsDir() {
		p = filepath.Join(p, "report.json")
	}
	b, err := os.ReadFile(p)
	if err != nil {
		return nil, err
	}
	var r Report
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("%s: %w", p, err)
	}
	return &r, nil
}
