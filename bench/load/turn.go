package load

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/confab-media/confab/bench/turnload"
)

// turnMain runs `confab bench turn` (bench/turnload). Credentials come
// from a shared secret (--secret, --secret-file: coturn's use-auth-secret,
// or Confab's turn-secret.key for a server whose attendee check is off), or,
// by default, from the Confab deployment at --target as the SDK gets them:
// a meeting and one attendee per client through the API, then each
// attendee's credentials from the meeting's TurnControlUrl with its join
// token. Exit codes: 0 done, 1 the load failed, 2 bad arguments.
func turnMain(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("bench turn", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg turnload.Config
	var t Target
	fs.StringVar(&cfg.Server, "server", "", "the TURN server's UDP address (default: from the deployment's TURN URIs, else 127.0.0.1:3478)")
	fs.StringVar(&cfg.Realm, "realm", "confab", "the server's realm")
	secret := fs.String("secret", "", "mint REST credentials with this shared secret (coturn's static-auth-secret) instead of asking --target")
	secretFile := fs.String("secret-file", "", "read that secret from this file")
	fs.StringVar(&t.URL, "target", "http://127.0.0.1:8080", "the Confab deployment whose attendees' credentials the clients use")
	fs.StringVar(&t.AccessKeyID, "access-key-id", firstEnv("CONFAB_ACCESS_KEY_ID", "AWS_ACCESS_KEY_ID"), "API key id (as confab bench)")
	fs.StringVar(&t.SecretAccessKey, "secret-access-key", firstEnv("CONFAB_SECRET_ACCESS_KEY", "AWS_SECRET_ACCESS_KEY"), "API secret (as confab bench)")
	creds := fs.String("credentials", filepath.Join("confab-data", "credentials.json"), "the key pair confab serve generated, when no key is given")
	fs.BoolVar(&t.AllowRemote, "allow-remote", false, "allow a target outside loopback")
	fs.IntVar(&cfg.Clients, "clients", 32, "parallel clients, one relay each")
	fs.IntVar(&cfg.Peers, "peers", 4, "UDP echo peers")
	fs.IntVar(&cfg.Rate, "rate", 50, "datagrams per second per client")
	fs.IntVar(&cfg.Size, "size", 172, "datagram size in bytes (an RTP audio packet: 172)")
	fs.DurationVar(&cfg.Duration, "duration", 10*time.Second, "how long every client sends")
	fs.StringVar(&cfg.PeerIP, "peer-ip", "127.0.0.1", "the echo peers' address (the server must be allowed to relay to it)")
	pid := fs.Int("server-pid", 0, "the server's process id, for its CPU over the load (Linux /proc)")
	out := fs.String("out", "", "also write the result as JSON to this `file`")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), `usage: confab bench turn [flags]

Loads a TURN server (Confab's or coturn) with parallel clients: each
allocates a relay and sends datagrams at a fixed rate through it to echo
peers this process runs; every datagram is relayed twice and its round trip
timed. Reports the relayed datagrams per second, loss, round-trip times and,
with --server-pid, the server's CPU.

Examples:
  # Confab: attendees' credentials from the deployment, as the SDK gets them
  # (Confab must allow the echo peers: turn.allowed_peers: ["127.0.0.1"])
  confab bench turn --target http://127.0.0.1:8080 --clients 200 --rate 100 --server-pid $(pidof confab)
  # coturn with use-auth-secret
  confab bench turn --server 127.0.0.1:3478 --secret S --clients 200 --rate 100 --server-pid $(pidof turnserver)

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
	var cleanup func()
	switch {
	case *secretFile != "":
		b, err := os.ReadFile(*secretFile)
		if err != nil {
			fmt.Fprintln(stderr, "confab bench turn:", err)
			return 2
		}
		cfg.Credentials = turnload.SecretCredentials(b)
	case *secret != "":
		cfg.Credentials = turnload.SecretCredentials([]byte(*secret))
	default:
		if t.AccessKeyID == "" && t.SecretAccessKey == "" {
			if err := readCredentials(*creds, &t); err != nil {
				fmt.Fprintln(stderr, "confab bench turn: no API key for --target, and no --secret:", err)
				return 2
			}
		}
		list, server, del, err := confabTURNCredentials(t, cfg.Clients)
		if err != nil {
			fmt.Fprintln(stderr, "confab bench turn:", err)
			return 2
		}
		cleanup = del
		cfg.Credentials = func(i int) (string, string, error) { return list[i].Username, list[i].Password, nil }
		if cfg.Server == "" {
			cfg.Server = server
		}
	}
	if cleanup != nil {
		defer cleanup()
	}
	if cfg.Server == "" {
		cfg.Server = "127.0.0.1:3478"
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cpu0, cpuErr := processCPUOf(*pid)
	t0 := time.Now()
	res, err := turnload.Run(ctx, cfg)
	if res == nil {
		fmt.Fprintln(stderr, "confab bench turn:", err)
		return 2
	}
	serverCPU := -1.0
	if cpu1, err := processCPUOf(*pid); *pid > 0 && cpuErr == nil && err == nil {
		serverCPU = 100 * (cpu1 - cpu0).Seconds() / time.Since(t0).Seconds()
	}
	fmt.Fprintf(stdout, "clients     %d allocated of %d, %d echo peers, %d B × %d/s each, %.1f s\n",
		res.Allocated, res.Clients, cfg.Peers, cfg.Size, cfg.Rate, res.Seconds)
	fmt.Fprintf(stdout, "relayed     %.0f datagrams/s (sent %d, echoed back %d, loss %.2f %%)\n",
		res.RelayedPerSecond, res.Sent, res.Received, res.LossPct)
	fmt.Fprintf(stdout, "round trip  p50 %.1f ms, p99 %.1f ms, max %.1f ms\n", res.RTTMsP50, res.RTTMsP99, res.RTTMsMax)
	if serverCPU >= 0 {
		fmt.Fprintf(stdout, "server CPU  %.0f %% of one core (pid %d, allocation included)\n", serverCPU, *pid)
	}
	for _, e := range res.Errors {
		fmt.Fprintln(stdout, "error      ", e)
	}
	if *out != "" {
		b, _ := json.MarshalIndent(struct {
			*turnload.Result
			ServerCPUPercent float64 `json:"serverCpuPercent"`
		}{res, serverCPU}, "", "  ")
		if err := os.WriteFile(*out, b, 0o644); err != nil {
			fmt.Fprintln(stderr, "confab bench turn:", err)
			return 1
		}
	}
	if err != nil {
		fmt.Fprintln(stderr, "confab bench turn:", err)
		return 1
	}
	return 0
}

// processCPUOf is the user+system CPU time of process pid so far, from
// /proc/<pid>/stat (fields 14 and 15, in clock ticks of 1/100 s).
func processCPUOf(pid int) (time.Duration, error) {
	if pid <= 0 {
		return 0, errors.New("no pid")
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name (field 2) may hold spaces: fields start after ")".
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: too short", pid)
	}
	ut, err1 := strconv.ParseUint(f[11], 10, 64)
	st, err2 := strconv.ParseUint(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("/proc/%d/stat: %v %v", pid, err1, err2)
	}
	return time.Duration(ut+st) * 10 * time.Millisecond, nil
}

// confabTURNCredentials creates a meeting and n attendees at t and fetches
// each attendee's TURN credentials from the meeting's TurnControlUrl with
// its join token, as SDKs 3.0–3.19 do. It returns them, the first UDP
// server address their URIs name, and a function deleting the meeting.
func confabTURNCredentials(t Target, n int) (list []turnCredential, server string, del func(), err error) {
	if err := t.check(); err != nil {
		return nil, "", nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	chime := newChimeClient(&t)
	name := "bench-turn-" + randomHex(4)
	m, err := chime.createMeeting(ctx, name, name)
	if err != nil {
		return nil, "", nil, fmt.Errorf("CreateMeeting: %w", err)
	}
	del = func() { deleteMeetings(chime, []string{m.MeetingId}) }
	users := make([]string, n)
	for i := range users {
		users[i] = fmt.Sprintf("bench-turn-%d", i)
	}
	created, err := chime.createAttendees(ctx, m.MeetingId, users)
	if err != nil {
		del()
		return nil, "", nil, fmt.Errorf("BatchCreateAttendee: %w", err)
	}
	for _, a := range created {
		c, err := fetchTURNCredential(ctx, t.URL+"/v2/turn_sessions", m.MeetingId, a.JoinToken)
		if err != nil {
			del()
			return nil, "", nil, err
		}
		list = append(list, c)
		for _, u := range c.URIs {
			if server == "" && strings.HasPrefix(u, "turn:") && !strings.Contains(u, "transport=tcp") {
				server, _, _ = strings.Cut(strings.TrimPrefix(u, "turn:"), "?")
			}
		}
	}
	return list, server, del, nil
}

// turnCredential is the TurnControlUrl's answer.
type turnCredential struct {
	Username string   `json:"username"`
	Password string   `json:"password"`
	URIs     []string `json:"uris"`
}

func fetchTURNCredential(ctx context.Context, url, meetingID, joinToken string) (turnCredential, error) {
	body, _ := json.Marshal(map[string]string{"meetingId": meetingID})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return turnCredential{}, err
	}
	req.Header.Set("X-Chime-Auth-Token", "_aws_wt_session="+joinToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return turnCredential{}, err
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode != http.StatusOK {
		return turnCredential{}, fmt.Errorf("%s: %s: %s", url, resp.Status, strings.TrimSpace(string(raw)))
	}
	var c turnCredential
	if err := json.Unmarshal(raw, &c); err != nil || c.Username == "" {
		return turnCredential{}, fmt.Errorf("%s: no credentials in %q", url, raw)
	}
	return c, nil
}
