package load

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
)

// Main runs `confab bench` with its command-line arguments: the load
// harness against a running Confab (or any Chime-SDK-compatible
// deployment). It returns the exit code: 0 done, 1 the run or the report
// failed, 2 bad arguments or a scenario that could not start, 3 the run's
// --assert conditions did not all hold.
func Main(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "merge" {
		return MergeMain(args[1:], stdout, stderr)
	}
	if len(args) > 0 && args[0] == "compare" {
		return CompareMain(args[1:], stdout, stderr)
	}
	if len(args) > 0 && args[0] == "turn" {
		return turnMain(args[1:], stdout, stderr)
	}
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		t        Target
		s        Scenario
		scenario = fs.String("scenario", "", "YAML scenario file; its keys are these flags' names (flags given as well override its values)")
		creds    = fs.String("credentials", filepath.Join("confab-data", "credentials.json"),
			"the key pair `confab serve` generated in its data directory, used when no key comes from flags or the environment")
		out     = fs.String("out", "bench-report", "directory for report.json and report.html")
		quiet   = fs.Bool("quiet", false, "no progress line")
		asserts = fs.String("assert", "", "conditions the run must meet, e.g. 'mouth_to_ear.p99<150ms,loss.max<1%' (exit code 3 otherwise)")
		junit   = fs.String("junit", "", "also write the run and its assertions as JUnit XML to `file`")
		shard   = fs.String("shard", "", "run part i of n of the meetings (`i/n`), one part per bench process or host; combine the reports with `confab bench merge`")
	)
	fs.StringVar(&t.URL, "target", "http://127.0.0.1:8080", "control-plane URL of the deployment")
	fs.StringVar(&t.AccessKeyID, "access-key-id", firstEnv("CONFAB_ACCESS_KEY_ID", "AWS_ACCESS_KEY_ID"), "API key id (default $CONFAB_ACCESS_KEY_ID, else $AWS_ACCESS_KEY_ID, else --credentials)")
	fs.StringVar(&t.SecretAccessKey, "secret-access-key", firstEnv("CONFAB_SECRET_ACCESS_KEY", "AWS_SECRET_ACCESS_KEY"), "API secret (default $CONFAB_SECRET_ACCESS_KEY, else $AWS_SECRET_ACCESS_KEY, else --credentials)")
	fs.StringVar(&t.Region, "region", "us-east-1", "MediaRegion of the meetings")
	fs.StringVar(&t.MetricsURL, "metrics", "", `Prometheus endpoint for server CPU/memory (default <target>/metrics; "-" for none)`)
	fs.BoolVar(&t.AllowRemote, "allow-remote", false, "allow a target outside loopback")
	fs.StringVar(&t.Janus, "janus", "", "run the audio scenario against this Janus server's AudioBridge instead (its HTTP API root, e.g. http://127.0.0.1:8088/janus)")
	fs.IntVar(&t.ServerPID, "server-pid", 0, "with --janus: the server's process id, for its CPU and memory from /proc")
	fs.StringVar(&t.LocalIP, "local-ip", "", "with --janus: the only local address the peers' ICE uses")
	fs.StringVar(&t.SIP, "sip", "", "the SIP gateway's UDP address the phone callers dial (default the target's host, port 5060)")
	fs.StringVar(&t.SIPNumber, "sip-number", "+17035550122", "the dial-in number the phone callers dial")
	fs.StringVar(&s.Name, "name", "", "scenario name")
	fs.IntVar(&s.Meetings, "meetings", 1, "meetings")
	fs.IntVar(&s.AttendeesPerMeeting, "attendees", 4, "attendees per meeting")
	fs.IntVar(&s.Talkers, "talkers", 2, "talkers per meeting (tone bursts)")
	fs.IntVar(&s.VideoPublishers, "video-publishers", 0, "simulcast video publishers per meeting")
	fs.IntVar(&s.VideoSubscribers, "video-subscribers", 0, "attendees per meeting subscribing to every publisher (the --video-layer layer)")
	fs.StringVar(&s.VideoLayer, "video-layer", "", "the layer video subscribers ask for: low, mid, high (default) or auto")
	fs.StringVar(&s.VideoCodec, "video-codec", "", "every attendee's video codec, sent and received: vp8 (default) or h264 (constrained baseline)")
	fs.IntVar(&s.Measuring, "measuring", 0, "attendees per meeting that decode the mix and measure mouth-to-ear (default all)")
	fs.Float64Var(&s.JoinRate, "join-rate", 10, "attendees joined per second")
	fs.DurationVar(&s.Duration, "duration", 0, "how long to stay after the last join (default 10s; 0: until Ctrl-C, then report)")
	fs.DurationVar(&s.BurstPeriod, "burst-period", 0, "time between a talker's tone bursts (default 1s)")
	fs.DurationVar(&s.BurstLength, "burst-length", 0, "length of a tone burst (default 200ms)")
	fs.IntVar(&s.SIPCallers, "sip-callers", 0, "phone callers per meeting: SIP with the join token, G.711 over RTP")
	fs.IntVar(&s.SIPTalkers, "sip-talkers", 0, "phone callers per meeting that talk in tone bursts (default 1 with callers)")
	fs.StringVar(&s.SIPCodec, "sip-codec", "", "the callers' codec: PCMU (default), PCMA or OPUS")
	fs.BoolVar(&s.SIPSRTP, "sip-srtp", false, "the callers offer SRTP keyed by SDES (AES_CM_128_HMAC_SHA1_80) instead of plain RTP")
	fs.BoolVar(&s.SIPPIN, "sip-pin", false, "the callers dial a SIP media application (served by the bench, registered through the Voice API) and key a PIN instead of sending a join token")
	fs.StringVar(&t.SIPAppSecret, "sip-app-secret", "", "with --sip-pin: the server's sip.application_secret, to verify the signatures of its invocations")
	fs.StringVar(&s.Relay, "relay", "", "connect every attendee only through the TURN servers JOIN_ACK names: udp, tcp or tls")
	fs.Float64Var(&s.LossPct, "loss", 0, "drop this `percent` of every attendee's datagrams, each direction (seeded)")
	fs.DurationVar(&s.Delay, "delay", 0, "delay what every attendee sends by this much")
	fs.DurationVar(&s.Jitter, "jitter", 0, "vary the delay uniformly by ± this much (at most --delay)")
	fs.IntVar(&s.BandwidthKbps, "bandwidth-kbps", 0, "cap what every attendee sends (a queue of at most 500 ms)")
	fs.Uint64Var(&s.Seed, "seed", 1, "seed of the impairments' random decisions (same seed, same run)")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), `usage: confab bench [flags]

Loads a running Confab with synthetic attendees that speak its public
protocols (SigV4 API, signaling WebSocket, WebRTC with Opus tone bursts and
simulcast VP8 or H.264), then reports join and mouth-to-ear latency, loss, jitter,
data-message latency, video rates and the server's CPU and memory, as a
summary, report.json and report.html.

Example:
  confab bench --meetings 10 --attendees 10 --talkers 2 --duration 60s \
    --access-key-id AK... --secret-access-key ... --out bench-report
  confab bench --relay udp --loss 5 --seed 7        # through TURN, 5 % loss
  confab bench --attendees 4 --sip-callers 4 --sip 127.0.0.1:5060   # phones too
  confab bench --shard 1/2 --meetings 40 ...        # on host 1, --shard 2/2 on host 2,
  confab bench merge host1-report host2-report      # then one report
  confab bench turn -h                              # load a TURN server alone
  confab bench --janus http://127.0.0.1:8088/janus --server-pid $(pidof janus) --out janus-run
  confab bench compare bench-report janus-run       # Confab and Janus side by side


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
	if *scenario != "" {
		var err error
		if s, err = LoadScenario(*scenario); err != nil {
			fmt.Fprintln(stderr, "confab bench:", err)
			return 2
		}
		_ = fs.Parse(args) // again: the flags given override the file's values
	}
	if t.Janus == "" && t.AccessKeyID == "" && t.SecretAccessKey == "" {
		if err := readCredentials(*creds, &t); err != nil {
			fmt.Fprintln(stderr, "confab bench: no API key: pass --access-key-id and --secret-access-key, set CONFAB_ or AWS_ACCESS_KEY_ID/SECRET_ACCESS_KEY, or point --credentials at the credentials.json in confab's data directory:", err)
			return 2
		}
	}
	fs.Visit(func(f *flag.Flag) {
		if f.Name == "duration" && s.Duration == 0 {
			s.UntilInterrupted = true // --duration 0
		}
	})
	checks, err := ParseAssertions(*asserts)
	if err != nil {
		fmt.Fprintln(stderr, "confab bench:", err)
		return 2
	}
	if s.Shard, err = ParseShard(*shard); err != nil {
		fmt.Fprintln(stderr, "confab bench:", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var progress io.Writer = stderr
	if *quiet {
		progress = nil
	}
	r, err := Run(ctx, t, s, progress, nil)
	if r == nil {
		fmt.Fprintln(stderr, "confab bench:", err)
		return 2
	}
	return finish("confab bench", r, err, *out, checks, *junit, stdout, stderr)
}

// finish prints a run's (or a merge's) summary, writes its report files
// and JUnit XML, checks its assertions and returns the exit code: 1 when
// the run failed (runErr) or a file could not be written, 3 when an
// assertion does not hold, else 0.
func finish(cmd string, r *Report, runErr error, out string, checks []Assertion, junit string, stdout, stderr io.Writer) int {
	r.Summary(stdout)
	jp, hp, err := r.WriteFiles(out)
	if err != nil {
		fmt.Fprintf(stderr, "%s: writing the report: %v\n", cmd, err)
		return 1
	}
	fmt.Fprintf(stdout, "report: %s, %s\n", jp, hp)
	results := r.Check(checks)
	held := PrintAssertions(stdout, results)
	if junit != "" {
		if err := WriteJUnit(junit, r, runErr, results); err != nil {
			fmt.Fprintf(stderr, "%s: writing JUnit XML: %v\n", cmd, err)
			return 1
		}
	}
	if runErr != nil {
		fmt.Fprintf(stderr, "%s: %v\n", cmd, runErr)
		return 1
	}
	if !held {
		return 3
	}
	return 0
}

// firstEnv returns the first of the environment variables that is set.
func firstEnv(names ...string) string {
	for _, n := range names {
		if v := os.Getenv(n); v != "" {
			return v
		}
	}
	return ""
}

// readCredentials reads the key pair `confab serve` stored in its data
// directory ({"access_key_id", "secret_access_key"}).
func readCredentials(path string, t *Target) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var f struct {
		AccessKeyID     string `json:"access_key_id"`
		SecretAccessKey string `json:"secret_access_key"`
	}
	if err := json.Unmarshal(b, &f); err != nil || f.AccessKeyID == "" || f.SecretAccessKey == "" {
		return fmt.Errorf("%s holds no key pair", path)
	}
	t.AccessKeyID, t.SecretAccessKey = f.AccessKeyID, f.SecretAccessKey
	return nil
}
