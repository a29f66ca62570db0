package load

import (
	"encoding/xml"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// Assertions: `--assert 'mouth_to_ear.p99<150ms,loss.max<1%'` — each
// condition is <metric>.<stat><op><value>[unit]:
//
//	metric  join (join latency, ms), mouth_to_ear (ms), data_latency (ms),
//	        loss (audio loss, %), jitter (audio jitter, ms), server_cpu
//	        (server CPU, % of a core; stats mean and max), joined (share of
//	        the attendees that joined, %; stat value)
//	stat    n, min, p50, p90, p99, max, mean (value for joined)
//	op      <, <=, >, >=
//	value   a number; ms, s or % after it (s is turned into ms)
//
// A run whose assertions do not all hold exits with code 3.

// Assertion is one parsed condition.
type Assertion struct {
	Text   string
	Metric string
	Stat   string
	Op     string
	Value  float64
}

// AssertionResult is an assertion with what the run measured.
type AssertionResult struct {
	Assertion
	Got    float64
	Passed bool
	// Missing: the run has no such measurement (counts as failed).
	Missing bool
}

// ParseAssertions parses a comma-separated list of conditions.
func ParseAssertions(s string) ([]Assertion, error) {
	var out []Assertion
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		a, err := parseAssertion(part)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, nil
}

func parseAssertion(s string) (Assertion, error) {
	a := Assertion{Text: s}
	i := strings.IndexAny(s, "<>")
	if i < 0 {
		return a, fmt.Errorf("assertion %q: no < or > in it", s)
	}
	lhs, rest := s[:i], s[i:]
	a.Op = rest[:1]
	if len(rest) > 1 && rest[1] == '=' {
		a.Op = rest[:2]
	}
	val := strings.TrimSpace(rest[len(a.Op):])
	metric, stat, ok := strings.Cut(strings.TrimSpace(lhs), ".")
	if !ok {
		return a, fmt.Errorf("assertion %q: want <metric>.<stat>, e.g. mouth_to_ear.p99", s)
	}
	a.Metric, a.Stat = metric, stat
	if _, ok := metricUnit[metric]; !ok {
		return a, fmt.Errorf("assertion %q: unknown metric %q (join, mouth_to_ear, data_latency, loss, jitter, server_cpu, joined)", s, metric)
	}
	if !validStat(metric, stat) {
		return a, fmt.Errorf("assertion %q: %s has no stat %q", s, metric, stat)
	}
	scale := 1.0
	switch {
	case strings.HasSuffix(val, "ms"):
		val = strings.TrimSuffix(val, "ms")
	case strings.HasSuffix(val, "s"):
		val, scale = strings.TrimSuffix(val, "s"), 1000
	case strings.HasSuffix(val, "%"):
		val = strings.TrimSuffix(val, "%")
	}
	v, err := strconv.ParseFloat(strings.TrimSpace(val), 64)
	if err != nil {
		return a, fmt.Errorf("assertion %q: %q is not a number", s, val)
	}
	a.Value = v * scale
	return a, nil
}

// metricUnit is each metric's unit, for messages.
var metricUnit = map[string]string{
	"join": "ms", "mouth_to_ear": "ms", "data_latency": "ms", "loss": "%", "jitter": "ms", "server_cpu": "%", "joined": "%",
	"sip_answer": "ms", "sip_audio": "ms", "phone_to_webrtc": "ms", "webrtc_to_phone": "ms", "sip_loss": "%",
	"pin_to_join": "ms", "sip_invite_to_join": "ms",
}

func validStat(metric, stat string) bool {
	switch metric {
	case "joined":
		return stat == "value"
	case "server_cpu":
		return stat == "mean" || stat == "max"
	}
	switch stat {
	case "n", "min", "p50", "p90", "p99", "max", "mean":
		return true
	}
	return false
}

// Check evaluates assertions against the report.
func (r *Report) Check(as []Assertion) []AssertionResult {
	out := make([]AssertionResult, 0, len(as))
	for _, a := range as {
		got, ok := r.measure(a.Metric, a.Stat)
		res := AssertionResult{Assertion: a, Got: got, Missing: !ok}
		if ok {
			switch a.Op {
			case "<":
				res.Passed = got < a.Value
			case "<=":
				res.Passed = got <= a.Value
			case ">":
				res.Passed = got > a.Value
			case ">=":
				res.Passed = got >= a.Value
			}
		}
		out = append(out, res)
	}
	return out
}

// measure returns a metric's stat, and whether the run measured it.
func (r *Report) measure(metric, stat string) (float64, bool) {
	switch metric {
	case "joined":
		if r.Attendees == 0 {
			return 0, false
		}
		return 100 * float64(r.Joined) / float64(r.Attendees), true
	case "server_cpu":
		if len(r.Server.Samples) == 0 {
			return 0, false
		}
		if stat == "max" {
			return r.Server.CPUPercentMax, true
		}
		return r.Server.CPUPercentMean, true
	}
	d := map[string]Dist{"join": r.JoinLatencyMs, "mouth_to_ear": r.MouthToEarMs, "data_latency": r.DataLatencyMs,
		"loss": r.AudioLossPct, "jitter": r.AudioJitterMs, "sip_answer": r.SIP.InviteToAnswerMs, "sip_audio": r.SIP.InviteToAudioMs,
		"phone_to_webrtc": r.SIP.FromPhoneMs, "webrtc_to_phone": r.SIP.ToPhoneMs, "sip_loss": r.SIP.LossPct,
		"pin_to_join": r.SIP.DigitsToJoinMs, "sip_invite_to_join": r.SIP.InviteToJoinMs}[metric]
	if stat == "n" {
		return float64(d.N), true
	}
	if d.N == 0 {
		return 0, false
	}
	return map[string]float64{"min": d.Min, "p50": d.P50, "p90": d.P90, "p99": d.P99, "max": d.Max, "mean": d.Mean}[stat], true
}

// PrintAssertions writes one line per assertion; it returns whether all
// held.
func PrintAssertions(w io.Writer, results []AssertionResult) bool {
	all := true
	for _, res := range results {
		verdict := "PASS"
		if !res.Passed {
			verdict, all = "FAIL", false
		}
		unit := metricUnit[res.Metric]
		if res.Stat == "n" {
			unit = "" // a count
		}
		got := fmt.Sprintf("%.3g%s", res.Got, unit)
		if res.Missing {
			got = "not measured"
		}
		fmt.Fprintf(w, "assert %s %s (got %s)\n", verdict, res.Text, got)
	}
	return all
}

// junit is the JUnit XML document (the de-facto format CI systems read).
type junitSuite struct {
	XMLName  xml.Name    `xml:"testsuite"`
	Name     string      `xml:"name,attr"`
	Tests    int         `xml:"tests,attr"`
	Failures int         `xml:"failures,attr"`
	Time     float64     `xml:"time,attr"`
	Cases    []junitCase `xml:"testcase"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	ClassName string        `xml:"classname,attr"`
	Failure   *junitFailure `xml:"failure,omitempty"`
}

type junitFailure struct {
	Message string `xml:"message,attr"`
	Text    string `xml:",chardata"`
}

// WriteJUnit writes the run as a JUnit test suite: one test case for the
// run itself (every attendee joined, the run ended without error) and one
// per assertion.
func WriteJUnit(path string, r *Report, runErr error, results []AssertionResult) error {
	name := r.Scenario.Name
	if name == "" {
		name = "confab-bench"
	}
	suite := junitSuite{Name: name, Time: r.WallSeconds}
	run := junitCase{Name: "run", ClassName: name}
	switch {
	case runErr != nil:
		run.Failure = &junitFailure{Message: runErr.Error()}
	case r.Joined < r.Attendees:
		run.Failure = &junitFailure{Message: fmt.Sprintf("%d of %d attendees joined", r.Joined, r.Attendees), Text: strings.Join(r.JoinErrors, "\n")}
	}
	suite.Cases = append(suite.Cases, run)
	for _, res := range results {
		c := junitCase{Name: res.Text, ClassName: name + ".assert"}
		if !res.Passed {
			msg := fmt.Sprintf("got %.3g%s", res.Got, metricUnit[res.Metric])
			if res.Missing {
				msg = "not measured"
			}
			c.Failure = &junitFailure{Message: msg}
		}
		suite.Cases = append(suite.Cases, c)
	}
	suite.Tests = len(suite.Cases)
	for _, c := range suite.Cases {
		if c.Failure != nil {
			suite.Failures++
		}
	}
	b, err := xml.MarshalIndent(suite, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append([]byte(xml.Header), append(b, '\n')...), 0o644)
}
