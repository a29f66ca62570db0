package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/confab-media/confab/bench/load"
	"github.com/confab-media/confab/internal/redistest"
)

// TestBenchSmoke runs `confab bench` (2 meetings × 4 attendees, 2 talkers,
// 10 s) against a real `confab serve` and checks the report is there and
// consistent: everyone joined and heard the mix, every listener measured
// every other talker's mouth-to-ear latency, data messages arrived, loss is
// near 0 on loopback, and the server was sampled. No assertion on speed.
func TestBenchSmoke(t *testing.T) {
	s := startServer(t, "", noThrottle())
	out := t.TempDir()
	cmd := exec.Command(confabBin, "bench", "--quiet", "--target", s.Endpoint,
		"--access-key-id", testKeyID, "--secret-access-key", testSecret,
		"--name", "smoke", "--meetings", "2", "--attendees", "4", "--talkers", "2", "--duration", "10s", "--out", out)
	b, err := cmd.CombinedOutput()
	t.Logf("confab bench:\n%s", b)
	if err != nil {
		t.Fatalf("confab bench: %v", err)
	}
	raw, err := os.ReadFile(filepath.Join(out, "report.json"))
	if err != nil {
		t.Fatal(err)
	}
	var r load.Report
	if err := json.Unmarshal(raw, &r); err != nil {
		t.Fatal(err)
	}
	if r.Attendees != 8 || r.Joined != 8 || r.ListenersWithAudio != 8 || len(r.JoinErrors) != 0 {
		t.Fatalf("joined %d/%d, with audio %d, errors %v", r.Joined, r.Attendees, r.ListenersWithAudio, r.JoinErrors)
	}
	if r.JoinLatencyMs.N != 8 || r.JoinLatencyMs.P50 <= 0 {
		t.Fatalf("join latency %+v", r.JoinLatencyMs)
	}
	// 2 meetings × 2 talkers × 3 listeners each.
	if r.MouthToEarPairsExpected != 12 || r.MouthToEarPairs != 12 || r.MouthToEarMs.N < 12*5 || r.MouthToEarMs.P50 <= 0 {
		t.Fatalf("mouth-to-ear: %d/%d pairs, %+v", r.MouthToEarPairs, r.MouthToEarPairsExpected, r.MouthToEarMs)
	}
	if r.DataLatencyMs.N < 2*3*5 {
		t.Fatalf("data messages measured: %d", r.DataLatencyMs.N)
	}
	if r.AudioLossPct.N != 8 || r.AudioLossPct.Max > 2 {
		t.Fatalf("audio loss %+v", r.AudioLossPct)
	}
	if len(r.Server.Samples) < 5 || r.Server.CPUPercentMean <= 0 || r.Server.RSSMaxMB <= 0 {
		t.Fatalf("server samples %d, %+v", len(r.Server.Samples), r.Server)
	}
	html, err := os.ReadFile(filepath.Join(out, "report.html"))
	if err != nil || strings.Count(string(html), "<svg") != 3 {
		t.Fatalf("report.html: %v, %d plots", err, strings.Count(string(html), "<svg"))
	}
	// The media metrics saw it: 2 meetings × 2 talkers for 10 s in, the
	// mixes out to 8 listeners, the mixers ticking.
	for _, m := range []struct {
		name   string
		labels []string
		min    float64
	}{
		{"confab_sfu_rtp_packets_total", []string{`direction="in"`, `kind="audio"`}, 4 * 50 * 5},
		{"confab_sfu_rtp_packets_total", []string{`direction="out"`, `kind="audio"`}, 8 * 50 * 5},
		{"confab_sfu_rtp_bytes_total", []string{`direction="in"`, `kind="audio"`}, 4 * 50 * 5 * 20},
		{"confab_mixer_ticks_total", nil, 2 * 50 * 5},
		{"confab_mixer_tick_seconds_count", nil, 2 * 50 * 5},
	} {
		if v := scrapeMetric(t, s, m.name, m.labels...); v < m.min {
			t.Errorf("%s%v = %v, want at least %v", m.name, m.labels, v, m.min)
		}
	}
}

// TestBenchCluster runs `confab bench` against node A of a two-node
// cluster serving one region: placement spreads its 4 meetings over both
// nodes, everyone hears the talkers, and the report has each node's
// meetings and CPU.
func TestBenchCluster(t *testing.T) {
	rd := redistest.StartRedis(t)
	hook := newWebhookLog(t)
	a := clusterNode(t, rd, hook, "node-a", "us-east-1", "")
	b := clusterNode(t, rd, hook, "node-b", "us-east-1", "")
	out := t.TempDir()
	cmd := exec.Command(confabBin, "bench", "--quiet", "--target", a.Endpoint,
		"--access-key-id", testKeyID, "--secret-access-key", testSecret,
		"--name", "cluster", "--meetings", "4", "--attendees", "3", "--talkers", "1", "--duration", "6s", "--out", out)
	text, err := cmd.CombinedOutput()
	t.Logf("confab bench:\n%s", text)
	if err != nil {
		t.Fatalf("confab bench: %v", err)
	}
	raw, err := os.ReadFile(filepath.Join(out, "report.json"))
	if err != nil {
		t.Fatal(err)
	}
	var r load.Report
	if err := json.Unmarshal(raw, &r); err != nil {
		t.Fatal(err)
	}
	if r.Joined != 12 || r.ListenersWithAudio != 12 {
		t.Fatalf("joined %d/%d, with audio %d, errors %v", r.Joined, r.Attendees, r.ListenersWithAudio, r.JoinErrors)
	}
	if len(r.Nodes) != 2 {
		t.Fatalf("report nodes %+v, want both", r.Nodes)
	}
	for _, n := range r.Nodes {
		if n.URL != a.Endpoint && n.URL != b.Endpoint {
			t.Errorf("node %s is neither node", n.URL)
		}
		if n.Meetings != 2 || n.Server.CPUPercentMean <= 0 || len(n.Server.Samples) < 3 {
			t.Errorf("node %s: %d meetings, CPU %+v; want 2 meetings each and samples", n.URL, n.Meetings, n.Server.CPUPercentMean)
		}
	}
}
