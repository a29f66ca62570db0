package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go/service/chimesdkvoice"

	"github.com/confab-media/confab/bench/janus/janustest"
	"github.com/confab-media/confab/bench/load"
	"github.com/confab-media/confab/internal/redistest"
)

// TestBenchSmoke runs `confab bench` (2 meetings × 4 attendees, 2 talkers,
// 10 s) against a real `confab serve` and checks the report is there and
// consistent: everyone joined and heard the mix, every listener measured
// every other talker's mouth-to-ear latency, data messages arrived, loss is
// near 0 on loopback, and the server was sampled. No assertion on speed:
// the run's --assert has one condition that holds (everyone joined) and
// one that cannot (mouth-to-ear under a microsecond), so it must exit 3,
// print both verdicts and write them as JUnit XML.
func TestBenchSmoke(t *testing.T) {
	s := startServer(t, "", noThrottle())
	out := t.TempDir()
	junit := filepath.Join(out, "junit.xml")
	cmd := exec.Command(confabBin, "bench", "--quiet", "--target", s.Endpoint,
		"--access-key-id", testKeyID, "--secret-access-key", testSecret,
		"--name", "smoke", "--meetings", "2", "--attendees", "4", "--talkers", "2", "--duration", "10s", "--out", out,
		"--assert", "joined.value>=100%,mouth_to_ear.p50<0.001ms", "--junit", junit)
	b, err := cmd.CombinedOutput()
	t.Logf("confab bench:\n%s", b)
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 3 {
		t.Fatalf("confab bench: %v, want exit code 3 (an assertion failed)", err)
	}
	for _, want := range []string{"assert PASS joined.value>=100%", "assert FAIL mouth_to_ear.p50<0.001ms"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("output lacks %q", want)
		}
	}
	x, err := os.ReadFile(junit)
	if err != nil || !strings.Contains(string(x), `<testsuite name="smoke" tests="3" failures="1"`) ||
		!strings.Contains(string(x), `<testcase name="mouth_to_ear.p50&lt;0.001ms" classname="smoke.assert">`) {
		t.Errorf("JUnit XML (%v):\n%s", err, x)
	}
	r := readReport(t, out)
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
	// report.html: the summary table, four gonum plots (latency CDFs, CPU,
	// memory, loss per meeting) and a row per attendee.
	html, err := os.ReadFile(filepath.Join(out, "report.html"))
	if err != nil || strings.Count(string(html), "<svg") != 4 || !strings.Contains(string(html), "<td>mouth-to-ear (ms)</td>") ||
		len(attendeeRow.FindAllString(string(html), -1)) != 8 || len(r.PerAttendee) != 8 {
		t.Fatalf("report.html: %v, %d plots, %d attendee rows (%d in the JSON)", err, strings.Count(string(html), "<svg"),
			len(attendeeRow.FindAllString(string(html), -1)), len(r.PerAttendee))
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
	r := readReport(t, out)
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

// TestBenchUntilInterrupted: `--duration 0` runs until SIGINT (Ctrl-C),
// then measures and writes the report as usual, exiting 0.
func TestBenchUntilInterrupted(t *testing.T) {
	s := startServer(t, "", noThrottle())
	out := t.TempDir()
	cmd := exec.Command(confabBin, "bench", "--quiet", "--target", s.Endpoint,
		"--access-key-id", testKeyID, "--secret-access-key", testSecret,
		"--meetings", "1", "--attendees", "2", "--talkers", "1", "--duration", "0", "--out", out)
	var buf syncBuffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(12 * time.Second) // past the 10 s a run without --duration stays
	_ = cmd.Process.Signal(os.Interrupt)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("confab bench after SIGINT: %v\n%s", err, buf.String())
		}
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatalf("confab bench did not end after SIGINT:\n%s", buf.String())
	}
	r := readReport(t, out)
	if r.Joined != 2 || r.WallSeconds < 11 || !r.Scenario.UntilInterrupted { // it outlived the 10 s default
		t.Fatalf("report after SIGINT: joined %d, %.1f s, until interrupted %v", r.Joined, r.WallSeconds, r.Scenario.UntilInterrupted)
	}
}

// TestBenchCredentialsAndScenarioFlags: with no key in flags or the
// environment, `confab bench` reads the key pair `confab serve` generated
// in its data directory (--credentials), and flags given with --scenario
// override the file's values (meetings 3 in the file, --meetings 1 wins).
func TestBenchCredentialsAndScenarioFlags(t *testing.T) {
	s := startServer(t, "", noThrottle(), "BENCH_TEST_NO_TEST_KEY=1") // no test key: the server generates one
	creds := filepath.Join(s.DataDir, "credentials.json")
	if _, err := os.Stat(creds); err != nil {
		t.Fatalf("the server generated no key pair: %v", err)
	}
	dir := t.TempDir()
	scenario := filepath.Join(dir, "scenario.yaml")
	if err := os.WriteFile(scenario, []byte("name: from-file\nmeetings: 3\nattendees: 2\ntalkers: 1\nduration: 2s\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "CONFAB_") && !strings.HasPrefix(kv, "AWS_") {
			env = append(env, kv)
		}
	}
	out := filepath.Join(dir, "out")
	cmd := exec.Command(confabBin, "bench", "--quiet", "--target", s.Endpoint, "--credentials", creds,
		"--scenario", scenario, "--meetings", "1", "--out", out)
	cmd.Env = env
	b, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("confab bench: %v\n%s", err, b)
	}
	r := readReport(t, out)
	if r.Scenario.Name != "from-file" || r.Scenario.Meetings != 1 || r.Scenario.AttendeesPerMeeting != 2 || r.Joined != 2 {
		t.Fatalf("scenario %+v, joined %d: want the file's values with --meetings 1", r.Scenario, r.Joined)
	}

	// Without any key: a clear message and exit code 2.
	cmd = exec.Command(confabBin, "bench", "--quiet", "--target", s.Endpoint, "--credentials", filepath.Join(dir, "none.json"))
	cmd.Env = env
	b, err = cmd.CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 2 || !strings.Contains(string(b), "no API key") {
		t.Fatalf("without a key: %v\n%s", err, b)
	}

	// A wrong secret: the API's own error in one line, exit code 2.
	cmd = exec.Command(confabBin, "bench", "--quiet", "--target", s.Endpoint, "--access-key-id", testKeyID, "--secret-access-key", "wrong")
	cmd.Env = env
	b, err = cmd.CombinedOutput()
	if !errors.As(err, &exit) || exit.ExitCode() != 2 || !strings.Contains(string(b), "CreateMeeting: ") ||
		!strings.Contains(string(b), "(HTTP 40") || strings.Count(strings.TrimSpace(string(b)), "\n") != 0 {
		t.Fatalf("with a wrong secret: %v\n%s", err, b)
	}
}

// attendeeRow is a row of report.html's attendee table.
var attendeeRow = regexp.MustCompile(`<tr><td>m\d+-a\d+</td>`)

// readReport reads the report.json a bench run wrote into dir.
// benchAgainst runs `confab bench --quiet` against s with the test's API
// key, writing its report to out, logs what it prints and fails the test
// if it fails; it returns what it printed and the report.
func benchAgainst(t *testing.T, s *server, out string, args ...string) (string, load.Report) {
	t.Helper()
	cmd := exec.Command(confabBin, append([]string{"bench", "--quiet", "--target", s.Endpoint,
		"--access-key-id", testKeyID, "--secret-access-key", testSecret, "--out", out}, args...)...)
	b, err := cmd.CombinedOutput()
	t.Logf("confab bench %s:\n%s", strings.Join(args, " "), b)
	if err != nil {
		t.Fatalf("confab bench: %v", err)
	}
	return string(b), readReport(t, out)
}

func readReport(t *testing.T, dir string) load.Report {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(dir, "report.json"))
	if err != nil {
		t.Fatal(err)
	}
	var r load.Report
	if err := json.Unmarshal(raw, &r); err != nil {
		t.Fatal(err)
	}
	return r
}

// TestBenchRelayAndImpairment: `confab bench --relay udp --loss 5` against
// a real `confab serve`. Every attendee connects through the server's TURN
// relay with the credentials JOIN_ACK gave it (ICE picks a relay
// candidate, the TURN server counts what it relayed), and 5 % of each
// attendee's datagrams are dropped each way (seeded): the report shows the
// loss the listeners saw and the server's concealment, and mouth-to-ear is
// still measured for every pair. The same run over TURN/TCP joins too.
func TestBenchRelayAndImpairment(t *testing.T) {
	s := startServer(t, "", noThrottle())
	out := t.TempDir()
	cmd := exec.Command(confabBin, "bench", "--quiet", "--target", s.Endpoint,
		"--access-key-id", testKeyID, "--secret-access-key", testSecret,
		"--name", "relay-loss", "--meetings", "1", "--attendees", "3", "--talkers", "2", "--duration", "8s",
		"--relay", "udp", "--loss", "5", "--seed", "7", "--out", out)
	b, err := cmd.CombinedOutput()
	t.Logf("confab bench:\n%s", b)
	if err != nil {
		t.Fatalf("confab bench: %v", err)
	}
	r := readReport(t, out)
	if r.Joined != 3 || r.Network.Paths["relay"] != 3 {
		t.Fatalf("joined %d, paths %v: want all 3 through the relay (errors %v)", r.Joined, r.Network.Paths, r.JoinErrors)
	}
	if r.Server.Counters["confab_turn_relayed_packets_total"] < 3*50*5 {
		t.Errorf("the TURN server relayed %v", r.Server.Counters)
	}
	if r.Network.DroppedOut == 0 || r.Network.DroppedIn == 0 {
		t.Errorf("the impairment dropped nothing: %+v", r.Network)
	}
	// 5 % each way: listeners lose about 5 % of the mix (at least 2 % here).
	if r.AudioLossPct.N != 3 || r.AudioLossPct.P50 < 2 || r.AudioLossPct.Max > 15 {
		t.Errorf("audio loss %+v, want about 5 %%", r.AudioLossPct)
	}
	// 2 talkers × 2 listeners each, measured despite the loss.
	if r.MouthToEarPairs != 4 || r.MouthToEarMs.N < 4*3 {
		t.Errorf("mouth-to-ear: %d/%d pairs, %+v", r.MouthToEarPairs, r.MouthToEarPairsExpected, r.MouthToEarMs)
	}
	// The mixer concealed the uplink's losses (FEC or PLC decodes).
	if r.Server.Counters[`confab_mixer_decodes_total{kind="fec"}`]+r.Server.Counters[`confab_mixer_decodes_total{kind="plc"}`] == 0 {
		t.Errorf("no FEC/PLC decodes counted: %v", r.Server.Counters)
	}
	if !strings.Contains(string(b), "network path") || !strings.Contains(string(b), "3 relay") || !strings.Contains(string(b), "server did") {
		t.Errorf("the summary lacks the network path or the server's counters")
	}

	// TURN over TCP.
	out = t.TempDir()
	cmd = exec.Command(confabBin, "bench", "--quiet", "--target", s.Endpoint,
		"--access-key-id", testKeyID, "--secret-access-key", testSecret,
		"--meetings", "1", "--attendees", "2", "--talkers", "1", "--duration", "3s", "--relay", "tcp", "--out", out)
	b, err = cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("confab bench --relay tcp: %v\n%s", err, b)
	}
	if r = readReport(t, out); r.Joined != 2 || r.Network.Paths["relay"] != 2 || r.ListenersWithAudio != 2 {
		t.Fatalf("over TURN/TCP: joined %d, paths %v, with audio %d (errors %v)", r.Joined, r.Network.Paths, r.ListenersWithAudio, r.JoinErrors)
	}
}

// TestBenchShardsMerged: one scenario (2 meetings × 3 attendees) run as
// two `confab bench --shard i/2` processes at once against one `confab
// serve`, each running one meeting, then `confab bench merge` of their
// report directories: one report with both meetings, every attendee, the
// percentiles over both shards' samples, and its --assert checked.
func TestBenchShardsMerged(t *testing.T) {
	s := startServer(t, "", noThrottle())
	dirs := []string{t.TempDir(), t.TempDir()}
	outs := make([][]byte, 2)
	errs := make([]error, 2)
	var wg sync.WaitGroup
	for i := range dirs {
		wg.Go(func() {
			cmd := exec.Command(confabBin, "bench", "--quiet", "--target", s.Endpoint,
				"--access-key-id", testKeyID, "--secret-access-key", testSecret,
				"--name", "sharded", "--meetings", "2", "--attendees", "3", "--talkers", "2", "--duration", "4s",
				"--shard", fmt.Sprintf("%d/2", i+1), "--out", dirs[i])
			outs[i], errs[i] = cmd.CombinedOutput()
		})
	}
	wg.Wait()
	var parts []load.Report
	for i := range dirs {
		if errs[i] != nil {
			t.Fatalf("shard %d/2: %v\n%s", i+1, errs[i], outs[i])
		}
		r := readReport(t, dirs[i])
		if r.Attendees != 3 || len(r.Meetings) != 1 || r.Meetings[0].MeetingID != fmt.Sprintf("meeting %d", i) || r.Raw == nil {
			t.Fatalf("shard %d/2 ran %d attendees in %+v (raw samples: %v)", i+1, r.Attendees, r.Meetings, r.Raw != nil)
		}
		parts = append(parts, r)
	}
	merged := t.TempDir()
	b, err := exec.Command(confabBin, "bench", "merge", "--out", merged, "--assert", "joined.value>=100%", dirs[0], dirs[1]).CombinedOutput()
	t.Logf("confab bench merge:\n%s", b)
	if err != nil {
		t.Fatalf("confab bench merge: %v", err)
	}
	r := readReport(t, merged)
	if r.Shards != 2 || r.Attendees != 6 || r.Joined != 6 || len(r.Meetings) != 2 ||
		r.Meetings[0].MeetingID != "meeting 0" || r.Meetings[1].MeetingID != "meeting 1" {
		t.Fatalf("merged: %d shards, joined %d/%d, meetings %+v", r.Shards, r.Joined, r.Attendees, r.Meetings)
	}
	if r.MouthToEarMs.N != parts[0].MouthToEarMs.N+parts[1].MouthToEarMs.N || r.MouthToEarPairs != 8 ||
		r.JoinLatencyMs.N != 6 || r.MouthToEarMs.Max != max(parts[0].MouthToEarMs.Max, parts[1].MouthToEarMs.Max) {
		t.Fatalf("merged mouth-to-ear %+v (%d pairs), join %+v", r.MouthToEarMs, r.MouthToEarPairs, r.JoinLatencyMs)
	}
	if !strings.Contains(string(b), "assert PASS joined.value>=100%") || !strings.Contains(string(b), "2 shard reports") {
		t.Errorf("the merge's output lacks the assertion or the merged line")
	}
	// A whole-scenario report has no raw samples: merging it is refused.
	whole := t.TempDir()
	if b, err := exec.Command(confabBin, "bench", "--quiet", "--target", s.Endpoint, "--access-key-id", testKeyID,
		"--secret-access-key", testSecret, "--name", "sharded", "--attendees", "2", "--duration", "1s", "--out", whole).CombinedOutput(); err != nil {
		t.Fatalf("confab bench: %v\n%s", err, b)
	}
	b, err = exec.Command(confabBin, "bench", "merge", "--out", t.TempDir(), dirs[0], whole).CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 2 || !strings.Contains(string(b), "no raw samples") {
		t.Fatalf("merging an unsharded report: %v\n%s", err, b)
	}
}

// TestBenchSIPCallers: `confab bench --sip-callers 2` against a real
// `confab serve`: one meeting of 2 WebRTC attendees (1 talking) and 2
// phone callers (1 talking; PCMA over RTP, then Opus over SRTP keyed by
// SDES) dialling the gateway with their join tokens. Every call is answered and hears the mix; mouth-to-ear is
// measured both ways (the talking phone heard by the WebRTC listeners,
// the WebRTC talker heard by the phones), and the WebRTC attendees hear
// the phone too.
func TestBenchSIPCallers(t *testing.T) {
	s := startServer(t, "", noThrottle())
	for _, tc := range []struct {
		name  string
		flags []string
		codec string
	}{
		{"PCMA", []string{"--sip-codec", "PCMA"}, "PCMA"},
		{"Opus over SRTP", []string{"--sip-codec", "opus", "--sip-srtp"}, "OPUS, SRTP"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, r := benchAgainst(t, s, t.TempDir(), append([]string{"--sip", sipListener(t, s),
				"--name", "phones", "--meetings", "1", "--attendees", "2", "--talkers", "1", "--sip-callers", "2",
				"--duration", "6s", "--assert", "phone_to_webrtc.n>=1,webrtc_to_phone.n>=1,sip_answer.p99<5s"},
				tc.flags...)...)
			p := r.SIP
			if r.Joined != 2 || p.Callers != 2 || p.Answered != 2 || p.Codec != tc.codec || len(p.Errors) != 0 {
				t.Fatalf("joined %d, callers %d answered %d (%s), errors %v", r.Joined, p.Callers, p.Answered, p.Codec, p.Errors)
			}
			if p.InviteToAnswerMs.N != 2 || p.InviteToAudioMs.N != 2 || p.InviteToAudioMs.P50 < p.InviteToAnswerMs.P50 {
				t.Errorf("INVITE → 200 %+v, INVITE → audio %+v", p.InviteToAnswerMs, p.InviteToAudioMs)
			}
			// The talking phone is heard by both WebRTC listeners, the WebRTC
			// talker by both phones: ~5 bursts each in 6 s.
			if p.FromPhoneMs.N < 2*3 || p.ToPhoneMs.N < 2*3 || p.FromPhoneMs.P50 <= 0 || p.ToPhoneMs.P50 <= 0 {
				t.Errorf("phone → WebRTC %+v, WebRTC → phone %+v", p.FromPhoneMs, p.ToPhoneMs)
			}
			if p.LossPct.N != 2 || p.LossPct.Max > 2 {
				t.Errorf("phone audio loss %+v", p.LossPct)
			}
			if !strings.Contains(b, "phone callers") || !strings.Contains(b, "WebRTC → phone") {
				t.Errorf("the summary lacks the phone rows")
			}
		})
	}
}

// TestBenchSIPPINFlow: the callers dial a SIP media application that the
// bench serves and registers through the Voice API (a signed HTTP
// handler), key their PINs as RFC 4733 events, and are joined to their
// meetings by the handler (CreateAttendee, JoinChimeMeeting); they hear
// and are heard by the WebRTC attendees, and the bench deletes its rule
// and application when it is done.
func TestBenchSIPPINFlow(t *testing.T) {
	const secret = "bench-sma-secret-0123456789"
	s := startServer(t, "", noThrottle()+"sip:\n  application_secret: "+secret+"\n")
	b, r := benchAgainst(t, s, t.TempDir(), "--sip", sipListener(t, s),
		"--name", "pins", "--meetings", "2", "--attendees", "2", "--talkers", "1", "--sip-callers", "2",
		"--sip-pin", "--sip-app-secret", secret, "--duration", "6s",
		"--assert", "pin_to_join.n>=4,phone_to_webrtc.n>=1,webrtc_to_phone.n>=1")
	p := r.SIP
	if r.Joined != 4 || p.Callers != 4 || p.Answered != 4 || !p.PIN || p.JoinedByPIN != 4 || len(p.Errors) != 0 {
		t.Fatalf("joined %d, callers %d answered %d, PIN %v joined by PIN %d, errors %v", r.Joined, p.Callers, p.Answered, p.PIN, p.JoinedByPIN, p.Errors)
	}
	if p.DigitsToJoinMs.N != 4 || p.DigitsToJoinMs.Min <= 0 || p.DigitsToJoinMs.Max > 2000 ||
		p.InviteToJoinMs.P50 <= p.DigitsToJoinMs.P50 || p.CreateAttendeeMs.N != 4 {
		t.Errorf("keyed PIN → joined %+v, INVITE → joined %+v, CreateAttendee %+v", p.DigitsToJoinMs, p.InviteToJoinMs, p.CreateAttendeeMs)
	}
	// Joined about a second in: the talking phone of each meeting is heard
	// by both WebRTC listeners, the WebRTC talker by both phones.
	if p.FromPhoneMs.N < 2*2*2 || p.ToPhoneMs.N < 2*2*2 {
		t.Errorf("phone → WebRTC %+v, WebRTC → phone %+v", p.FromPhoneMs, p.ToPhoneMs)
	}
	if !strings.Contains(b, "PIN flow") || !strings.Contains(b, "keyed PIN → joined") {
		t.Errorf("the summary lacks the PIN rows")
	}
	vc := voiceClient(s)
	rules, err := vc.ListSipRules(&chimesdkvoice.ListSipRulesInput{})
	if err != nil {
		t.Fatal(err)
	}
	apps, err := vc.ListSipMediaApplications(&chimesdkvoice.ListSipMediaApplicationsInput{})
	if err != nil {
		t.Fatal(err)
	}
	if len(rules.SipRules) != 0 || len(apps.SipMediaApplications) != 0 {
		t.Errorf("after the run: %d rules and %d applications left", len(rules.SipRules), len(apps.SipMediaApplications))
	}
}

// TestBenchVideoLayers: 1 meeting × 3 attendees, 2 simulcast publishers
// and 1 subscriber of both, once asking for the low layer and once for the
// high one: the subscriber receives every stream, at the rate of the layer
// it asked for (the synthetic publisher's 150 kbps low and 1,200 kbps high
// layers), and the report has each stream's bitrate and longest frame gap.
func TestBenchVideoLayers(t *testing.T) {
	s := startServer(t, "", noThrottle())
	kbps := map[string]float64{}
	for _, layer := range []string{"low", "high"} {
		out := t.TempDir()
		cmd := exec.Command(confabBin, "bench", "--quiet", "--target", s.Endpoint,
			"--access-key-id", testKeyID, "--secret-access-key", testSecret,
			"--meetings", "1", "--attendees", "3", "--talkers", "1", "--video-publishers", "2", "--video-subscribers", "1",
			"--video-layer", layer, "--duration", "6s", "--out", out)
		b, err := cmd.CombinedOutput()
		t.Logf("confab bench --video-layer %s:\n%s", layer, b)
		if err != nil {
			t.Fatalf("confab bench: %v", err)
		}
		v := readReport(t, out).Video
		if v.Streams != 2 || v.StreamsWithFrames != 2 || v.BitrateKbps.N != 2 || v.MaxFrameGapMs.N != 2 || v.MaxFrameGapMs.P50 <= 0 {
			t.Fatalf("--video-layer %s: %+v", layer, v)
		}
		kbps[layer] = v.BitrateKbps.P50
	}
	if kbps["low"] > 400 || kbps["high"] < 2*kbps["low"] {
		t.Fatalf("received kbps per stream: low %.0f, high %.0f", kbps["low"], kbps["high"])
	}
}

// TestBenchJanusAudioBridge: the same scenario (1 × 4, 2 talkers, 2 video
// publishers and 2 subscribers) against a real Janus — AudioBridge for the
// audio, VideoRoom for the video (Debian's janus, in a network namespace
// of its own: janus gathers no loopback candidates) — and against `confab
// serve`, then `confab bench compare` puts both in one table. Against
// Janus every peer joins and hears the mix, mouth-to-ear is measured for
// every pair, each subscriber gets both cameras at the camera's rate, and
// Janus's CPU comes from /proc.
func TestBenchJanusAudioBridge(t *testing.T) {
	jn := janustest.StartForTest(t)
	janusOut := t.TempDir()
	scenario := []string{"--meetings", "1", "--attendees", "4", "--talkers", "2", "--video-publishers", "2", "--video-subscribers", "2",
		"--duration", "6s"}
	b, err := exec.Command(confabBin, append([]string{"bench", "--quiet", "--name", "av-4", "--janus", jn.URL, "--allow-remote",
		"--local-ip", jn.PeerIP, "--server-pid", strconv.Itoa(jn.PID), "--out", janusOut}, scenario...)...).CombinedOutput()
	t.Logf("confab bench --janus:\n%s", b)
	if err != nil {
		t.Fatalf("confab bench --janus: %v", err)
	}
	r := readReport(t, janusOut)
	if r.Joined != 4 || r.ListenersWithAudio != 4 || r.MouthToEarPairs != 6 || r.MouthToEarMs.N < 6*3 ||
		len(r.Server.Samples) < 3 || r.Server.RSSMaxMB <= 0 {
		t.Fatalf("against Janus: joined %d, with audio %d, pairs %d/%d, m2e %+v, server %+v",
			r.Joined, r.ListenersWithAudio, r.MouthToEarPairs, r.MouthToEarPairsExpected, r.MouthToEarMs, r.Server)
	}
	// Subscribers 2 and 3 each receive publishers 0 and 1.
	if v := r.Video; v.Streams != 4 || v.StreamsWithFrames != 4 || v.FPS.Min < 10 || v.BitrateKbps.Min < 600 {
		t.Fatalf("video against Janus: %+v", v)
	}

	s := startServer(t, "", noThrottle())
	confabOut := t.TempDir()
	if b, err := exec.Command(confabBin, append([]string{"bench", "--quiet", "--name", "av-4", "--target", s.Endpoint,
		"--access-key-id", testKeyID, "--secret-access-key", testSecret, "--out", confabOut}, scenario...)...).CombinedOutput(); err != nil {
		t.Fatalf("confab bench: %v\n%s", err, b)
	}
	b, err = exec.Command(confabBin, "bench", "compare", confabOut, janusOut).CombinedOutput()
	t.Logf("confab bench compare:\n%s", b)
	if err != nil || !strings.Contains(string(b), "janus "+jn.URL) || !strings.Contains(string(b), s.Endpoint) ||
		!strings.Contains(string(b), "mouth-to-ear p99 (ms)") || !regexp.MustCompile(`video streams with frames +4/4 +4/4`).Match(b) {
		t.Fatalf("confab bench compare: %v", err)
	}
}
