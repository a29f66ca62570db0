package load

import (
	"bytes"
	"fmt"
	"html/template"
	"image/color"
	"io"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
)

// writeHTML renders the report: the summary as a table, then SVG plots
// drawn with gonum/plot — latency CDFs, the server's CPU and memory over
// time, audio loss per meeting, video fps and bitrate CDFs — and a table
// per attendee.
func writeHTML(w io.Writer, r *Report) error {
	var plots []figure
	add := func(f figure, err error) error {
		if err != nil {
			return err
		}
		plots = append(plots, f)
		return nil
	}
	latency := []namedDist{{"join", r.JoinLatencyMs}, {"mouth-to-ear", r.MouthToEarMs}, {"data message", r.DataLatencyMs}}
	if r.SIP.Callers > 0 {
		latency = append(latency, namedDist{"phone → WebRTC", r.SIP.FromPhoneMs}, namedDist{"WebRTC → phone", r.SIP.ToPhoneMs},
			namedDist{"INVITE → mixed audio", r.SIP.InviteToAudioMs})
		if r.SIP.PIN {
			latency = append(latency, namedDist{"keyed PIN → joined", r.SIP.DigitsToJoinMs})
		}
	}
	if err := add(cdfPlot("Latency", "milliseconds", latency)); err != nil {
		return err
	}
	if err := add(serverPlot("Server CPU", "% of one core", r.Server.Samples, func(s Sample) float64 { return s.CPUPercent })); err != nil {
		return err
	}
	if err := add(serverPlot("Server memory", "resident MB", r.Server.Samples, func(s Sample) float64 { return s.RSSMB })); err != nil {
		return err
	}
	if err := add(lossPlot(r.Meetings)); err != nil {
		return err
	}
	if r.Video.Streams > 0 {
		if err := add(cdfPlot("Video frame rate per stream", "frames per second", []namedDist{{"fps", r.Video.FPS}})); err != nil {
			return err
		}
		if err := add(cdfPlot("Video bitrate per stream", "kbit/s", []namedDist{{"kbps", r.Video.BitrateKbps}})); err != nil {
			return err
		}
	}
	return reportPage.Execute(w, map[string]any{"R": r, "Plots": plots, "Rows": summaryRows(r)})
}

// figure is one plot: gonum's SVG and its legend, which the page draws
// in HTML below the plot (the browser's fonts are wider than the ones
// gonum measures with, so a legend inside the SVG gets clipped).
type figure struct {
	SVG    template.HTML
	Legend []legendEntry
}

// legendEntry names one line of a figure, in its colour.
type legendEntry struct {
	Name  string
	Color template.CSS
}

func cssColor(c color.Color) template.CSS {
	r, g, b, _ := c.RGBA()
	return template.CSS(fmt.Sprintf("#%02x%02x%02x", r>>8, g>>8, b>>8))
}

type namedDist struct {
	name string
	d    Dist
}

// summaryRow is one line of the HTML summary table.
type summaryRow struct {
	Name                     string
	N                        int
	P50, P90, P99, Max, Mean string
}

func summaryRows(r *Report) []summaryRow {
	ds := []namedDist{{"join latency (ms)", r.JoinLatencyMs}, {"mouth-to-ear (ms)", r.MouthToEarMs},
		{"data message (ms)", r.DataLatencyMs}, {"audio loss (%)", r.AudioLossPct}, {"audio jitter (ms)", r.AudioJitterMs}}
	if r.SIP.Callers > 0 {
		ds = append(ds, namedDist{"INVITE → 200 OK (ms)", r.SIP.InviteToAnswerMs}, namedDist{"INVITE → mixed audio (ms)", r.SIP.InviteToAudioMs},
			namedDist{"phone → WebRTC (ms)", r.SIP.FromPhoneMs}, namedDist{"WebRTC → phone (ms)", r.SIP.ToPhoneMs},
			namedDist{"phone audio loss (%)", r.SIP.LossPct})
		if r.SIP.PIN {
			ds = append(ds, namedDist{"keyed PIN → joined (ms)", r.SIP.DigitsToJoinMs}, namedDist{"INVITE → joined (ms)", r.SIP.InviteToJoinMs},
				namedDist{"handler's CreateAttendee (ms)", r.SIP.CreateAttendeeMs})
		}
	}
	if r.Video.Streams > 0 {
		ds = append(ds, namedDist{"video fps per stream", r.Video.FPS}, namedDist{"video kbps per stream", r.Video.BitrateKbps},
			namedDist{"longest frame gap (ms)", r.Video.MaxFrameGapMs})
	}
	var rows []summaryRow
	f := func(v float64) string { return fmt.Sprintf("%.1f", v) }
	for _, nd := range ds {
		rows = append(rows, summaryRow{nd.name, nd.d.N, f(nd.d.P50), f(nd.d.P90), f(nd.d.P99), f(nd.d.Max), f(nd.d.Mean)})
	}
	return rows
}

// svgOf renders p as inline SVG (without the XML declaration).
func svgOf(p *plot.Plot, legend []legendEntry) (figure, error) {
	p.Add(plotter.NewGrid())
	wt, err := p.WriterTo(7*vg.Inch, 3*vg.Inch, "svg")
	if err != nil {
		return figure{}, err
	}
	var b bytes.Buffer
	if _, err := wt.WriteTo(&b); err != nil {
		return figure{}, err
	}
	s := b.String()
	if i := strings.Index(s, "<svg"); i > 0 {
		s = s[i:]
	}
	return figure{SVG: template.HTML(s), Legend: legend}, nil //nolint:gosec // gonum's SVG, its text escaped by it
}

// cdfPlot draws the CDF of each distribution that has samples.
// The x axis starts at 0: every measure here is a non-negative quantity,
// and a zero-based axis keeps ticks readable when all samples are close.
func cdfPlot(title, xlabel string, ds []namedDist) (figure, error) {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = xlabel
	p.X.Min = 0
	p.Y.Label.Text = "fraction ≤ x"
	p.Y.Min, p.Y.Max = 0, 1
	var legend []legendEntry
	for i, nd := range ds {
		if len(nd.d.CDF) == 0 {
			continue
		}
		pts := make(plotter.XYs, 0, len(nd.d.CDF)+1)
		pts = append(pts, plotter.XY{X: nd.d.CDF[0][0], Y: 0})
		for _, c := range nd.d.CDF {
			pts = append(pts, plotter.XY{X: c[0], Y: c[1]})
		}
		l, err := plotter.NewLine(pts)
		if err != nil {
			return figure{}, err
		}
		l.Color = plotutil.Color(i)
		l.Width = vg.Points(1.5)
		p.Add(l)
		legend = append(legend, legendEntry{fmt.Sprintf("%s (n=%d, p50 %.1f, p99 %.1f)", nd.name, nd.d.N, nd.d.P50, nd.d.P99), cssColor(l.Color)})
	}
	p.X.Max = max(1, p.X.Max*1.05) // room to the right of the last sample
	return svgOf(p, legend)
}

// serverPlot draws one of the server's readings over the run.
func serverPlot(title, ylabel string, samples []Sample, value func(Sample) float64) (figure, error) {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = "seconds since the start"
	p.Y.Label.Text = ylabel
	p.Y.Min = 0
	if len(samples) > 0 {
		pts := make(plotter.XYs, len(samples))
		for i, s := range samples {
			pts[i] = plotter.XY{X: s.At, Y: value(s)}
		}
		l, err := plotter.NewLine(pts)
		if err != nil {
			return figure{}, err
		}
		l.Color = plotutil.Color(0)
		l.Width = vg.Points(1.5)
		p.Add(l)
	}
	return svgOf(p, nil)
}

// lossPlot draws each meeting's mean audio loss, labelled by meeting.
func lossPlot(ms []MeetingReport) (figure, error) {
	p := plot.New()
	p.Title.Text = "Audio loss per meeting"
	p.Y.Label.Text = "mean loss, %"
	p.Y.Min = 0
	if len(ms) == 0 {
		return svgOf(p, nil)
	}
	vals := make(plotter.Values, len(ms))
	names := make([]string, len(ms))
	for i, m := range ms {
		vals[i] = m.LossPctMean
		names[i] = strings.TrimPrefix(m.MeetingID, "meeting ")
		if len(ms) > 40 && i%(len(ms)/20) != 0 {
			names[i] = "" // too many to label each
		}
	}
	bars, err := plotter.NewBarChart(vals, vg.Points(min(30, max(1, 400/float64(len(ms))))))
	if err != nil {
		return figure{}, err
	}
	bars.Color = color.RGBA{R: 44, G: 160, B: 44, A: 255}
	bars.LineStyle.Width = 0
	p.Add(bars)
	p.NominalX(names...)
	p.X.Label.Text = "meeting"
	if p.Y.Max < 1 {
		p.Y.Max = 1
	}
	return svgOf(p, nil)
}

var reportPage = template.Must(template.New("report").Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>Confab bench: {{.R.Scenario.Name}}</title>
<style>body{font-family:sans-serif;margin:2em;max-width:64em} table{border-collapse:collapse;margin:1em 0}
td,th{border:1px solid #ccc;padding:.2em .6em;text-align:right} th:first-child,td:first-child{text-align:left} h2{margin-top:1.5em}
figure{margin:1.5em 0} figcaption{font-size:.9em} .key{margin-right:1.2em;white-space:nowrap} .swatch{display:inline-block;width:1.5em;height:.3em;margin-right:.4em;vertical-align:middle}</style>
</head><body>
<h1>Confab bench: {{.R.Scenario.Name}}</h1>
<p>Target {{.R.Target}}, started {{.R.Started.Format "2006-01-02 15:04:05 MST"}}, {{printf "%.0f" .R.WallSeconds}} s wall.
{{.R.Joined}} of {{.R.Attendees}} attendees joined ({{.R.ListenersWithAudio}} heard the mix){{if .R.SIP.Callers}}; {{.R.SIP.Answered}} of {{.R.SIP.Callers}} phone calls answered{{end}}.
Server CPU mean {{printf "%.0f" .R.Server.CPUPercentMean}} %, max {{printf "%.0f" .R.Server.CPUPercentMax}} % of one core; RSS max {{printf "%.0f" .R.Server.RSSMaxMB}} MB; harness CPU {{printf "%.0f" .R.HarnessCPUPercentMean}} %.</p>
<table><tr><th>measure</th><th>n</th><th>p50</th><th>p90</th><th>p99</th><th>max</th><th>mean</th></tr>
{{range .Rows}}<tr><td>{{.Name}}</td><td>{{.N}}</td><td>{{.P50}}</td><td>{{.P90}}</td><td>{{.P99}}</td><td>{{.Max}}</td><td>{{.Mean}}</td></tr>
{{end}}</table>
{{range .Plots}}<figure>{{.SVG}}{{if .Legend}}<figcaption>{{range .Legend}}<span class="key"><span class="swatch" style="background:{{.Color}}"></span>{{.Name}}</span> {{end}}</figcaption>{{end}}</figure>
{{end}}
{{if .R.PerAttendee}}<h2>Attendees</h2>
<table><tr><th>attendee</th><th>meeting</th><th>path</th><th>join (ms)</th><th>packets</th><th>loss (%)</th><th>jitter (ms)</th></tr>
{{range .R.PerAttendee}}<tr><td>{{.Name}}</td><td>{{.Meeting}}</td><td>{{.Path}}</td><td>{{printf "%.1f" .JoinMs}}</td><td>{{.Packets}}</td><td>{{printf "%.2f" .LossPct}}</td><td>{{printf "%.1f" .JitterMs}}</td></tr>
{{end}}</table>{{end}}
{{if .R.JoinErrors}}<h2>Join errors</h2><ul>{{range .R.JoinErrors}}<li>{{.}}</li>{{end}}</ul>{{end}}
</body></html>
`))
