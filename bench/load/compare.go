package load

import (
	"cmp"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"text/tabwriter"
)

// CompareMain runs `confab bench compare`: the reports of the same
// scenario against several servers (e.g. Confab and Janus), side by side
// in one table. Exit code 2 for bad arguments.
func CompareMain(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("bench compare", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), `usage: confab bench compare REPORT...

Prints the reports of one scenario run against several servers side by side:
server CPU and memory, join and mouth-to-ear latency, loss and jitter.

Example:
  confab bench --attendees 50 --talkers 3 --out confab-run
  confab bench --attendees 50 --talkers 3 --janus http://127.0.0.1:8088/janus \
    --server-pid $(pidof janus) --out janus-run
  confab bench compare confab-run janus-run
`)
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() < 2 {
		fs.Usage()
		return 2
	}
	var reports []*Report
	for _, p := range fs.Args() {
		r, err := readReportFile(p)
		if err != nil {
			fmt.Fprintln(stderr, "confab bench compare:", err)
			return 2
		}
		reports = append(reports, r)
	}
	Compare(stdout, reports)
	return 0
}

// Compare writes the reports side by side, one column each.
func Compare(w io.Writer, reports []*Report) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	row := func(name string, f func(r *Report) string) {
		fmt.Fprint(tw, name, "\t")
		for _, r := range reports {
			fmt.Fprint(tw, f(r), "\t")
		}
		fmt.Fprintln(tw)
	}
	row("target", func(r *Report) string { return r.Target })
	row("scenario", func(r *Report) string {
		s := r.Scenario
		v := ""
		if s.VideoPublishers > 0 {
			v = fmt.Sprintf(", video %d→%d (%s, %s)", s.VideoPublishers, s.VideoSubscribers, cmp.Or(s.VideoCodec, "VP8"), s.VideoLayer)
		}
		return fmt.Sprintf("%d×%d, %d talkers%s, %s", s.Meetings, s.AttendeesPerMeeting, s.Talkers, v, s.Duration)
	})
	row("joined", func(r *Report) string { return fmt.Sprintf("%d/%d", r.Joined, r.Attendees) })
	cpu := func(r *Report, f func(ServerReport) float64) string {
		if r.Server.Error != "" && len(r.Server.Samples) == 0 {
			return "n/a"
		}
		return fmt.Sprintf("%.0f %%", f(r.Server))
	}
	row("server CPU mean (of a core)", func(r *Report) string { return cpu(r, func(s ServerReport) float64 { return s.CPUPercentMean }) })
	row("server CPU max", func(r *Report) string { return cpu(r, func(s ServerReport) float64 { return s.CPUPercentMax }) })
	row("server RSS max (MB)", func(r *Report) string { return fmt.Sprintf("%.0f", r.Server.RSSMaxMB) })
	dist := func(d Dist, q func(Dist) float64) string {
		if d.N == 0 {
			return "—"
		}
		return fmt.Sprintf("%.1f", q(d))
	}
	p50 := func(d Dist) float64 { return d.P50 }
	p99 := func(d Dist) float64 { return d.P99 }
	row("join p50 (ms)", func(r *Report) string { return dist(r.JoinLatencyMs, p50) })
	row("join p99 (ms)", func(r *Report) string { return dist(r.JoinLatencyMs, p99) })
	row("mouth-to-ear p50 (ms)", func(r *Report) string { return dist(r.MouthToEarMs, p50) })
	row("mouth-to-ear p99 (ms)", func(r *Report) string { return dist(r.MouthToEarMs, p99) })
	row("mouth-to-ear pairs", func(r *Report) string { return fmt.Sprintf("%d/%d", r.MouthToEarPairs, r.MouthToEarPairsExpected) })
	row("audio loss mean (%)", func(r *Report) string { return dist(r.AudioLossPct, func(d Dist) float64 { return d.Mean }) })
	row("audio loss max (%)", func(r *Report) string { return dist(r.AudioLossPct, func(d Dist) float64 { return d.Max }) })
	row("jitter p50 (ms)", func(r *Report) string { return dist(r.AudioJitterMs, p50) })
	if slices.ContainsFunc(reports, func(r *Report) bool { return r.Video.Streams > 0 }) {
		row("video streams with frames", func(r *Report) string {
			return fmt.Sprintf("%d/%d", r.Video.StreamsWithFrames, r.Video.Streams)
		})
		row("video fps p50", func(r *Report) string { return dist(r.Video.FPS, p50) })
		row("video fps min", func(r *Report) string { return dist(r.Video.FPS, func(d Dist) float64 { return d.Min }) })
		row("video kbps p50 (per stream)", func(r *Report) string { return dist(r.Video.BitrateKbps, p50) })
		row("longest frame gap p99 (ms)", func(r *Report) string { return dist(r.Video.MaxFrameGapMs, p99) })
		row("video freezes > 500 ms", func(r *Report) string { return fmt.Sprint(r.Video.Freezes) })
	}
	row("harness CPU (of a core)", func(r *Report) string { return fmt.Sprintf("%.0f %%", r.HarnessCPUPercentMean) })
	_ = tw.Flush()
}
