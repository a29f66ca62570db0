package load

import (
	"fmt"
	"html/template"
	"io"
	"math"
	"strings"
)

// writeHTML renders the report with three inline SVG plots: latency CDFs
// (join, mouth-to-ear, data), server CPU over time, and loss per meeting.
func writeHTML(w io.Writer, r *Report) error {
	return reportPage.Execute(w, map[string]any{
		"R":       r,
		"CDF":     template.HTML(cdfSVG(map[string]Dist{"join": r.JoinLatencyMs, "mouth-to-ear": r.MouthToEarMs, "data message": r.DataLatencyMs})),
		"CPU":     template.HTML(cpuSVG(r.Server.Samples)),
		"Loss":    template.HTML(lossSVG(r.Meetings)),
		"Summary": summaryText(r),
	})
}

func summaryText(r *Report) string {
	var b strings.Builder
	r.Summary(&b)
	return b.String()
}

const plotW, plotH, pad = 640.0, 260.0, 40.0

var palette = []string{"#1f77b4", "#d62728", "#2ca02c", "#9467bd"}

// axes draws the frame and labels of a plot with x in [0,xmax], y in [0,ymax].
func axes(b *strings.Builder, xlabel, ylabel string, xmax, ymax float64) {
	fmt.Fprintf(b, `<svg xmlns="http://www.w3.org/2000/svg" width="%.0f" height="%.0f" font-family="sans-serif" font-size="11">`, plotW, plotH)
	fmt.Fprintf(b, `<rect x="%.0f" y="10" width="%.0f" height="%.0f" fill="none" stroke="#888"/>`, pad, plotW-pad-10, plotH-pad-10)
	for i := 0; i <= 4; i++ {
		x := pad + float64(i)/4*(plotW-pad-10)
		y := plotH - pad - float64(i)/4*(plotH-pad-10)
		fmt.Fprintf(b, `<text x="%.0f" y="%.0f" text-anchor="middle">%.4g</text>`, x, plotH-pad+14, xmax*float64(i)/4)
		fmt.Fprintf(b, `<text x="%.0f" y="%.0f" text-anchor="end">%.3g</text>`, pad-4, y+4, ymax*float64(i)/4)
	}
	fmt.Fprintf(b, `<text x="%.0f" y="%.0f" text-anchor="middle">%s</text>`, plotW/2, plotH-6, template.HTMLEscapeString(xlabel))
	fmt.Fprintf(b, `<text x="12" y="%.0f" transform="rotate(-90 12 %.0f)" text-anchor="middle">%s</text>`, plotH/2, plotH/2, template.HTMLEscapeString(ylabel))
}

func px(x, xmax float64) float64 { return pad + x/xmax*(plotW-pad-10) }
func py(y, ymax float64) float64 { return plotH - pad - y/ymax*(plotH-pad-10) }

func cdfSVG(ds map[string]Dist) string {
	var b strings.Builder
	xmax := 1.0
	for _, d := range ds {
		xmax = math.Max(xmax, d.P99*1.2)
	}
	axes(&b, "milliseconds (x clipped at 1.2 × the largest p99)", "fraction ≤ x", xmax, 1)
	i := 0
	for _, name := range []string{"join", "mouth-to-ear", "data message"} {
		d := ds[name]
		c := palette[i%len(palette)]
		var pts []string
		for _, p := range d.CDF {
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", px(math.Min(p[0], xmax), xmax), py(p[1], 1)))
		}
		if len(pts) > 0 {
			fmt.Fprintf(&b, `<polyline fill="none" stroke="%s" stroke-width="2" points="%s"/>`, c, strings.Join(pts, " "))
		}
		fmt.Fprintf(&b, `<text x="%.0f" y="%d" fill="%s">%s (n=%d, p50 %.0f ms)</text>`, pad+10, 26+14*i, c, name, d.N, d.P50)
		i++
	}
	b.WriteString(`</svg>`)
	return b.String()
}

func cpuSVG(samples []Sample) string {
	var b strings.Builder
	xmax, ymax := 1.0, 100.0
	for _, s := range samples {
		xmax = math.Max(xmax, s.At)
		ymax = math.Max(ymax, s.CPUPercent*1.1)
	}
	axes(&b, "seconds since start", "server CPU, % of one core", xmax, ymax)
	var pts []string
	for _, s := range samples {
		pts = append(pts, fmt.Sprintf("%.1f,%.1f", px(s.At, xmax), py(s.CPUPercent, ymax)))
	}
	if len(pts) > 0 {
		fmt.Fprintf(&b, `<polyline fill="none" stroke="%s" stroke-width="2" points="%s"/>`, palette[0], strings.Join(pts, " "))
	}
	b.WriteString(`</svg>`)
	return b.String()
}

func lossSVG(ms []MeetingReport) string {
	var b strings.Builder
	ymax := 1.0
	for _, m := range ms {
		ymax = math.Max(ymax, m.LossPctMean*1.2)
	}
	axes(&b, "meeting", "mean audio loss, %", float64(max(1, len(ms))), ymax)
	bw := (plotW - pad - 10) / float64(max(1, len(ms)))
	for i, m := range ms {
		h := m.LossPctMean / ymax * (plotH - pad - 10)
		fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"><title>%s: %.2f%%</title></rect>`,
			pad+float64(i)*bw+1, plotH-pad-h, math.Max(1, bw-2), h, palette[2], template.HTMLEscapeString(m.MeetingID), m.LossPctMean)
	}
	b.WriteString(`</svg>`)
	return b.String()
}

var reportPage = template.Must(template.New("report").Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>Confab bench: {{.R.Scenario.Name}}</title>
<style>body{font-family:sans-serif;margin:2em;max-width:60em} pre{background:#f6f6f6;padding:1em} h2{margin-top:1.5em}</style>
</head><body>
<h1>Confab bench: {{.R.Scenario.Name}}</h1>
<p>Target {{.R.Target}}, started {{.R.Started.Format "2006-01-02 15:04:05 MST"}}, {{printf "%.0f" .R.WallSeconds}} s wall.</p>
<pre>{{.Summary}}</pre>
<h2>Latency</h2>{{.CDF}}
<h2>Server CPU</h2>{{.CPU}}
<h2>Audio loss per meeting</h2>{{.Loss}}
{{if .R.JoinErrors}}<h2>Join errors</h2><ul>{{range .R.JoinErrors}}<li>{{.}}</li>{{end}}</ul>{{end}}
</body></html>
`))
