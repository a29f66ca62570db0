package load

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"text/tabwriter"
	"time"
)

// Report is what a run measured.
type Report struct {
	Scenario    Scenario  `json:"scenario"`
	Target      string    `json:"target"`
	Started     time.Time `json:"started"`
	WallSeconds float64   `json:"wallSeconds"`

	Attendees  int      `json:"attendees"`
	Joined     int      `json:"joined"`
	JoinErrors []string `json:"joinErrors,omitempty"`
	// ListenersWithAudio counts joined attendees that received mixed audio.
	ListenersWithAudio int `json:"listenersWithAudio"`

	JoinLatencyMs Dist `json:"joinLatencyMs"`
	MouthToEarMs  Dist `json:"mouthToEarMs"`
	// MouthToEarPairs counts (listener, talker) pairs with a measurement,
	// of MouthToEarPairsExpected.
	MouthToEarPairs         int  `json:"mouthToEarPairs"`
	MouthToEarPairsExpected int  `json:"mouthToEarPairsExpected"`
	DataLatencyMs           Dist `json:"dataLatencyMs"`
	AudioLossPct            Dist `json:"audioLossPct"`
	AudioJitterMs           Dist `json:"audioJitterMs"`

	// HarnessCPUPercentMean is this bench process's own CPU over the run
	// (% of one core): when harness and target share a machine, a busy
	// harness inflates every latency.
	HarnessCPUPercentMean float64 `json:"harnessCpuPercentMean"`

	Network  NetworkReport   `json:"network"`
	SIP      SIPReport       `json:"sip,omitzero"`
	Video    VideoReport     `json:"video"`
	Server   ServerReport    `json:"server"`
	Meetings []MeetingReport `json:"meetings"`
	// Nodes, when placement spread the meetings over several nodes of a
	// cluster: each node's share and its process, from its /metrics.
	Nodes []NodeReport `json:"nodes,omitempty"`
	// PerAttendee has one row per joined attendee that heard the mix.
	PerAttendee []AttendeeRow `json:"perAttendee,omitempty"`
	// Shards is how many shard reports a merged report combines (0: not
	// a merge).
	Shards int `json:"shards,omitempty"`
	// Raw holds the samples behind the distributions, in a shard's report
	// (for `confab bench merge`) and in a merged one.
	Raw *RawSamples `json:"raw,omitempty"`
}

// AttendeeRow is one attendee's share of a run.
type AttendeeRow struct {
	Name    string  `json:"name"`
	Meeting int     `json:"meeting"`
	Path    string  `json:"path,omitempty"` // the ICE candidate type it used
	JoinMs  float64 `json:"joinMs"`
	Packets uint64  `json:"packets"`
	LossPct float64 `json:"lossPct"`
	// JitterMs is the RFC 3550 jitter of what it received.
	JitterMs float64 `json:"jitterMs"`
}

// NodeReport is one cluster node: the meetings placed on it and its CPU.
type NodeReport struct {
	URL      string       `json:"url"`
	Meetings int          `json:"meetings"`
	Server   ServerReport `json:"server"`
}

// VideoReport covers the video subscribers.
type VideoReport struct {
	Publishers        int  `json:"publishers"`
	Subscribers       int  `json:"subscribers"`
	Streams           int  `json:"streams"`           // subscribed streams
	StreamsWithFrames int  `json:"streamsWithFrames"` // of which received frames
	SSRCChanges       int  `json:"ssrcChanges"`       // tracks that saw more than one SSRC
	FPS               Dist `json:"fps"`
	// BitrateKbps is each stream's received payload rate; Freezes the
	// times a stream had no frame for more than 500 ms (FrozenSeconds in
	// all); MaxFrameGapMs each stream's longest time between frames;
	// LayerSwitches the keyframes whose size differed from the stream's
	// previous one (the SFU forwarded another layer).
	BitrateKbps   Dist    `json:"bitrateKbps"`
	Freezes       int     `json:"freezes"`
	FrozenSeconds float64 `json:"frozenSeconds"`
	MaxFrameGapMs Dist    `json:"maxFrameGapMs"`
	LayerSwitches int     `json:"layerSwitches"`
	// KeyframeSizes counts the streams by their last keyframe's frame
	// size, "1280x720" (from the VP8 keyframe header or the H.264 SPS);
	// streams without a keyframe are left out.
	KeyframeSizes map[string]int `json:"keyframeSizes,omitempty"`
}

// ServerReport is the target's process, from its /metrics.
type ServerReport struct {
	CPUPercentMean float64  `json:"cpuPercentMean"` // of one core, over the run
	CPUPercentMax  float64  `json:"cpuPercentMax"`
	RSSMaxMB       float64  `json:"rssMaxMB"`
	Samples        []Sample `json:"samples"`
	// Counters is how much each watched counter series (watchedCounters)
	// grew over the run; the series that did not change are left out.
	Counters map[string]float64 `json:"counters,omitempty"`
	Error    string             `json:"error,omitempty"`
}

// MeetingReport is one meeting's share.
type MeetingReport struct {
	MeetingID       string  `json:"meetingId"`
	Attendees       int     `json:"attendees"`
	Joined          int     `json:"joined"`
	LossPctMean     float64 `json:"lossPctMean"`
	MouthToEarP50Ms float64 `json:"mouthToEarP50Ms"`
}

// WriteFiles writes report.json and report.html into dir.
func (r *Report) WriteFiles(dir string) (jsonPath, htmlPath string, err error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", "", err
	}
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return "", "", err
	}
	jsonPath, htmlPath = filepath.Join(dir, "report.json"), filepath.Join(dir, "report.html")
	if err := os.WriteFile(jsonPath, b, 0o644); err != nil {
		return "", "", err
	}
	f, err := os.Create(htmlPath)
	if err != nil {
		return "", "", err
	}
	defer f.Close()
	return jsonPath, htmlPath, writeHTML(f, r)
}

// Summary writes the terminal table.
func (r *Report) Summary(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	s := r.Scenario
	fmt.Fprintf(tw, "scenario\t%s: %d meeting(s) × %d attendees, %d talkers, %d video publishers / %d subscribers, %s\n",
		s.Name, s.Meetings, s.AttendeesPerMeeting, s.Talkers, s.VideoPublishers, s.VideoSubscribers, s.Duration)
	if s.Shard.On() {
		fmt.Fprintf(tw, "shard\t%s: %d of the meetings\n", s.Shard, s.Shard.meetings(s.Meetings))
	}
	if r.Shards > 0 {
		fmt.Fprintf(tw, "merged\t%d shard reports\n", r.Shards)
	}
	fmt.Fprintf(tw, "joined\t%d / %d (listeners with audio: %d)\n", r.Joined, r.Attendees, r.ListenersWithAudio)
	fmt.Fprintf(tw, "\tn\tp50\tp90\tp99\tmax\n")
	row := func(name string, d Dist) {
		fmt.Fprintf(tw, "%s\t%d\t%.1f\t%.1f\t%.1f\t%.1f\n", name, d.N, d.P50, d.P90, d.P99, d.Max)
	}
	row("join latency (ms)", r.JoinLatencyMs)
	row("mouth-to-ear (ms)", r.MouthToEarMs)
	row("data message (ms)", r.DataLatencyMs)
	row("audio loss (%)", r.AudioLossPct)
	row("audio jitter (ms)", r.AudioJitterMs)
	if r.Video.Streams > 0 {
		row("video fps per stream", r.Video.FPS)
		row("video kbps per stream", r.Video.BitrateKbps)
		row("longest frame gap (ms)", r.Video.MaxFrameGapMs)
		fmt.Fprintf(tw, "video streams\t%d subscribed (%s, %s layer), %d with frames, %d SSRC changes, %d layer switches, %d freezes > 500 ms (%.1f s)\n",
			r.Video.Streams, cmp.Or(r.Scenario.VideoCodec, "VP8"), r.Scenario.VideoLayer, r.Video.StreamsWithFrames, r.Video.SSRCChanges, r.Video.LayerSwitches, r.Video.Freezes, r.Video.FrozenSeconds)
		if len(r.Video.KeyframeSizes) > 0 {
			fmt.Fprintf(tw, "video keyframe sizes\t%s\n", sizesLine(r.Video.KeyframeSizes))
		}
	}
	if p := r.SIP; p.Callers > 0 {
		fmt.Fprintf(tw, "phone callers\t%d / %d answered (%s)\n", p.Answered, p.Callers, p.Codec)
		if p.PIN {
			fmt.Fprintf(tw, "PIN flow\t%d / %d joined by the SIP media application (%s)\n", p.JoinedByPIN, p.Callers, p.Number)
			row("keyed PIN → joined (ms)", p.DigitsToJoinMs)
			row("INVITE → joined (ms)", p.InviteToJoinMs)
			row("handler's CreateAttendee (ms)", p.CreateAttendeeMs)
		}
		row("INVITE → 200 OK (ms)", p.InviteToAnswerMs)
		row("INVITE → mixed audio (ms)", p.InviteToAudioMs)
		row("phone → WebRTC (ms)", p.FromPhoneMs)
		row("WebRTC → phone (ms)", p.ToPhoneMs)
		fmt.Fprintf(tw, "bursts heard\tphones heard %s of the WebRTC talkers' bursts, WebRTC listeners %s of the phones'\n",
			heardLine(p.ToPhoneBurstsHeard, p.ToPhoneBursts), heardLine(p.FromPhoneBurstsHeard, p.FromPhoneBursts))
		row("phone audio loss (%)", p.LossPct)
		row("phone jitter (ms)", p.JitterMs)
	}
	if n := r.Network; len(n.Paths) > 0 && (r.Scenario.Relay != "" || n.Paths["relay"] > 0) {
		fmt.Fprintf(tw, "network path\t%s\n", n.pathLine())
	}
	if n := r.Network; n.Impaired() {
		fmt.Fprintf(tw, "impairment\tdropped %d sent / %d received datagrams, %d by the bandwidth cap; %d held\n",
			n.DroppedOut, n.DroppedIn, n.QueueDrops, n.Held)
	}
	if len(r.Server.Counters) > 0 {
		fmt.Fprintf(tw, "server did\t%s\n", counterLine(r.Server.Counters))
	}
	if r.Server.Error != "" {
		fmt.Fprintf(tw, "server\tno metrics: %s\n", r.Server.Error)
	} else {
		fmt.Fprintf(tw, "server CPU\tmean %.0f%%, max %.0f%% of one core; RSS max %.0f MB\n", r.Server.CPUPercentMean, r.Server.CPUPercentMax, r.Server.RSSMaxMB)
	}
	for _, n := range r.Nodes {
		if n.Server.Error != "" {
			fmt.Fprintf(tw, "node %s\t%d meeting(s); no metrics: %s\n", n.URL, n.Meetings, n.Server.Error)
			continue
		}
		fmt.Fprintf(tw, "node %s\t%d meeting(s); CPU mean %.0f%%, max %.0f%% of one core; RSS max %.0f MB\n",
			n.URL, n.Meetings, n.Server.CPUPercentMean, n.Server.CPUPercentMax, n.Server.RSSMaxMB)
	}
	fmt.Fprintf(tw, "harness CPU\tmean %.0f%% of one core (%d cores here)\n", r.HarnessCPUPercentMean, runtime.NumCPU())
	tw.Flush()
}

// heardLine is "heard of sent (percent)".
func heardLine(heard, sent int) string {
	if sent == 0 {
		return "0 of 0"
	}
	return fmt.Sprintf("%d of %d (%.0f %%)", heard, sent, 100*float64(heard)/float64(sent))
}
