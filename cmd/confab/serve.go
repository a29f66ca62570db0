package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"net/url"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/redis/go-redis/v9"

	"github.com/confab-media/confab/cluster"
	"github.com/confab-media/confab/cmd/confab/internal/config"
	"github.com/confab-media/confab/conference"
	"github.com/confab-media/confab/internal/clock"
	"github.com/confab-media/confab/internal/netguard"
	"github.com/confab-media/confab/mixer"
	"github.com/confab-media/confab/sfu"
	"github.com/confab-media/confab/signaling/api"
	"github.com/confab-media/confab/signaling/events"
	"github.com/confab-media/confab/signaling/meeting"
	"github.com/confab-media/confab/signaling/notify"
	"github.com/confab-media/confab/signaling/session"
	"github.com/confab-media/confab/signaling/sigv4"
	"github.com/confab-media/confab/signaling/store"
	"github.com/confab-media/confab/signaling/turnauth"
	"github.com/confab-media/confab/sipgw"
)

// fdReserve is how many file descriptors are kept out of the budget that
// SIP and TURN stream connections share: the HTTP API and signaling
// WebSockets, media sockets, the store and logs draw on these.
const fdReserve = 4096

// serve runs Confab until SIGINT or SIGTERM, then shuts down in order: stop
// taking requests, stop the lifecycle loop, flush and close the store.
func serve(cfg config.Config, stderr io.Writer) error {
	log := newLogger(cfg, stderr)
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return fmt.Errorf("data dir: %w", err)
	}
	creds, err := cfg.APICredentials(stderr)
	if err != nil {
		return fmt.Errorf("credentials: %w", err)
	}
	// The API port first: a taken port fails before anything starts, and
	// no listener of this process on an ephemeral port can take it.
	ln, err := net.Listen("tcp", cfg.HTTP.Listen)
	if err != nil {
		return err
	}
	defer ln.Close()
	tokenKey, err := cfg.JoinTokenKey()
	if err != nil {
		return fmt.Errorf("join-token key: %w", err)
	}
	// State: the embedded bbolt file, or in cluster mode the Redis every
	// node shares.
	var (
		st      store.Store
		boltSt  *store.Bolt
		redisSt *store.Redis
		rdb     *redis.Client
	)
	if cfg.Cluster.Enabled() {
		rdb, redisSt, err = openRedisStore(context.Background(), cfg, log.With("subsystem", "store"))
		if err != nil {
			return err
		}
		defer rdb.Close()
		st = redisSt
	} else {
		boltSt, err = store.OpenBolt(cfg.DataDir, log.With("subsystem", "store"))
		if err != nil {
			return err
		}
		st = boltSt
	}
	defer st.Close()

	publicURL, err := url.Parse(cfg.HTTP.PublicURL)
	if err != nil {
		return fmt.Errorf("public url: %w", err)
	}
	ctx := context.Background()
	bus := events.NewBus(events.LogSink{Log: log.With("subsystem", "events")})
	reg := prometheus.NewRegistry()
	panics := panicCounter(reg) // each subsystem's Params.Panics
	// Stream connections from the internet (SIP and TURN over TCP/TLS) share
	// a descriptor budget; the rest of RLIMIT_NOFILE stays for the HTTP API,
	// WebSockets, media sockets and files.
	fds := netguard.BudgetFromRlimit(fdReserve)

	// Event delivery: every event goes into a durable outbox before the
	// API call that caused it returns (the meeting service's in the same
	// transaction as their change, in confab.db); workers deliver to hooks
	// and to the meetings' own targets. Closed after everything that
	// publishes, before the store.
	nt, err := startNotify(cfg, boltSt, reg, log.With("subsystem", "notify"), panics("notify"))
	if err != nil {
		return fmt.Errorf("notifications: %w", err)
	}
	defer nt.Close()
	bus.Subscribe(nt)

	svc, err := meeting.New(ctx, meeting.Config{
		AccountID:               cfg.AccountID,
		Regions:                 cfg.MediaRegions,
		AttendeesPerMeeting:     cfg.Quotas.AttendeesPerMeeting,
		HighResolutionAttendees: cfg.Quotas.HighResolutionAttendees,
		MaxDuration:             cfg.Meetings.MaxDuration.Std(),
		IdleTimeout:             cfg.Meetings.IdleTimeout.Std(),
		SweepInterval:           cfg.Meetings.SweepInterval.Std(),
	}, meeting.Params{
		Store:    st,
		Placer:   meeting.NewLocalPlacer(meeting.MediaGroup{ID: groupID(cfg), PublicURL: publicURL}, cfg.Quotas.ActiveMeetingsPerMediaGroup),
		Events:   bus,
		Clock:    clock.System{},
		Log:      log.With("subsystem", "meeting"),
		TokenKey: tokenKey,
		Targets:  meetingTargets{nt},
	})
	if err != nil {
		return err
	}
	svc.Start()
	defer svc.Close()

	// Cluster mode: heartbeat, placement, reaping of dead nodes and the
	// relay of the events stream into this node's delivery outbox.
	var node *cluster.Cluster
	if cfg.Cluster.Enabled() {
		node, err = startCluster(ctx, cfg, rdb, redisSt, svc, nt, reg, log.With("subsystem", "cluster"), panics("cluster"))
		if err != nil {
			return fmt.Errorf("cluster: %w", err)
		}
		defer node.Close()
	}

	// The meetings' runtimes on this node: a Room per meeting with its
	// mixer, levels, capabilities and auto-end rules. It hears the
	// meeting lifecycle (end, DeleteAttendee, capability changes) on the
	// bus and asks the meeting service to end meetings.
	conf := conference.New(conference.Config{
		Mixer: mixer.Config{
			TopN:       cfg.Media.TopTalkers,
			Bitrate:    cfg.Media.OpusBitrate,
			Complexity: cfg.Media.OpusComplexity,
		},
		AutoEnd: conference.AutoEnd{NoAudio: cfg.Meetings.IdleTimeout.Std(), MaxDuration: cfg.Meetings.MaxDuration.Std()},
	}, conference.Params{Log: log.With("subsystem", "conference"), Panics: panics("conference"), Ender: svc})
	defer conf.Close()
	svc.Observe(conf)

	// Media: one UDP socket for every WebRTC peer, each peer's audio a leg
	// of its meeting's conference Room.
	media, err := sfu.New(sfu.Config{
		ListenUDP:        cfg.Media.UDPListen,
		PublicIPs:        cfg.Media.PublicIPs,
		MaxVideos:        cfg.Media.MaxVideos,
		MaxContentShares: cfg.Media.MaxContentShares,
	}, sfu.Params{
		Log: log.With("subsystem", "sfu"), Clock: clock.System{}, Conference: conf,
		Events: bus, AccountID: cfg.AccountID, Panics: panics("sfu"),
	})
	if err != nil {
		return err
	}
	defer media.Close()

	// TURN relay: JOIN_ACK hands each attendee credentials for it; it may
	// relay only to the media socket (and configured peers), and hears
	// DeleteAttendee and meeting end on the bus.
	turnSecret, err := cfg.TURNSecret()
	if err != nil {
		return fmt.Errorf("turn secret: %w", err)
	}
	turnAuth := turnauth.New(svc)
	relay, err := startTURN(cfg, turnSecret, media.Addr(), turnAuth, reg, log.With("subsystem", "turn"), fds, panics("turn"))
	if err != nil {
		return fmt.Errorf("turn: %w", err)
	}
	sessionParams := session.Params{Auth: svc, Presence: svc, Events: bus, Media: media, Log: log.With("subsystem", "session"), Panics: panics("session")}
	if relay != nil {
		defer relay.Close()
		svc.Observe(turnAuth) // revokes relays of deleted attendees and ended meetings
		sessionParams.TURN = turnAuth
	}

	// Client signaling: the WebSocket the browser SDK joins at SignalingUrl.
	// It hears DeleteAttendee and meeting end on the bus.
	signaling, err := session.New(session.Config{AccountID: cfg.AccountID}, sessionParams)
	if err != nil {
		return err
	}
	conf.SetListener(signaling) // phone presence and volume levels
	svc.Observe(signaling)
	defer signaling.Close()

	// SIP dial-in: a caller becomes a phone member of its meeting's Room.
	var locator sipgw.Locator
	if node != nil {
		locator = node // calls for meetings hosted elsewhere are handed over
	}
	gw, err := startSIP(cfg, svc, conf, locator, reg, log.With("subsystem", "sipgw"), fds, panics("sipgw"))
	if err != nil {
		return fmt.Errorf("sip: %w", err)
	}
	if gw != nil {
		defer gw.Close()
	}
	if node != nil {
		if gw != nil {
			udp, _, _ := gw.Addrs()
			node.SetSIP(advertisedSIP(cfg, udp))
		}
		node.Start()
	}

	handler := newHTTPHandler(cfg, creds, svc, node, signaling, turnauth.ControlHandler(svc, turnAuth), nt.Admin(), reg, log)
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	log.Info("confab serving", "listen", ln.Addr().String(), "public_url", cfg.HTTP.PublicURL,
		"data_dir", cfg.DataDir, "regions", len(cfg.MediaRegions), "version", version)

	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(sigs)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	select {
	case err := <-served:
		return err
	case sig := <-sigs:
		log.Info("shutting down", "signal", sig.String())
	}
	if node != nil {
		// A cluster node drains first, still serving: no new placements,
		// its meetings go on up to the deadline, then they are ended.
		drainCtx, stopDrain := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
		node.Drain(drainCtx, cfg.Cluster.DrainTimeout.Std())
		stopDrain()
		waitDelivered(nt, outboxFlushTimeout, log)
	}
	shutCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutCtx); err != nil {
		log.Warn("shutdown", "err", err)
	}
	if err := <-served; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// newHTTPHandler mounts the API, the signaling WebSocket, the TurnControlUrl,
// the notifications admin API (SigV4 like the API), /healthz, /metrics and
// (when enabled) pprof.
func newHTTPHandler(cfg config.Config, creds []config.Credential, svc *meeting.Service, node *cluster.Cluster, signaling, turnControl, notifyAdmin http.Handler, reg *prometheus.Registry, log *slog.Logger) http.Handler {
	keys := make(map[string]string, len(creds))
	for _, c := range creds {
		keys[c.AccessKeyID] = c.SecretAccessKey
	}
	verifier := sigv4.NewVerifier(sigv4.VerifierConfig{Service: "chime"}, sigv4.VerifierParams{
		Lookup: func(id string) (string, bool) { s, ok := keys[id]; return s, ok },
		Now:    time.Now,
	})
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Namespace: "confab", Name: "meetings_active", Help: "Meetings currently live on this node.",
	}, func() float64 { return float64(svc.ActiveMeetings()) }))

	var limiter api.Limiter // default: the node's own buckets
	if node != nil {
		limiter = node.RateLimiter(cfg.Quotas.APIRequestsPerSecond, cfg.Quotas.APIBurst,
			api.NewRateLimiter(cfg.Quotas.APIRequestsPerSecond, cfg.Quotas.APIBurst, time.Now))
	}
	apiHandler := api.NewHandler(api.Config{
		RequestsPerSecond: cfg.Quotas.APIRequestsPerSecond,
		Burst:             cfg.Quotas.APIBurst,
	}, api.Params{
		Meetings: svc,
		Verifier: verifier,
		Metrics:  reg,
		Log:      log.With("subsystem", "api"),
		Now:      time.Now,
		Limiter:  limiter,
	})

	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = io.WriteString(w, "ok\n")
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	if cfg.Debug.Pprof {
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
		mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	}
	mux.Handle("GET /control/{meetingID}", signaling)
	mux.Handle("POST /v2/turn_sessions", turnControl)
	mux.Handle("/admin/notify/", sigv4.Require(verifier, notifyAdmin))
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if node != nil {
			if err := node.Ready(r.Context()); err != nil {
				w.WriteHeader(http.StatusServiceUnavailable)
				_, _ = io.WriteString(w, "redis unreachable\n")
				return
			}
		}
		_, _ = io.WriteString(w, "ready\n")
	})
	region := cfg.MediaRegions[0]
	if node != nil {
		region = node.Region()
	}
	mux.HandleFunc("GET /nearest-media-region", func(w http.ResponseWriter, _ *http.Request) {
		// The shape of https://nearest-media-region.l.chime.aws's answer.
		w.Header().Set("Content-Type", "application/json")
		_, _ = fmt.Fprintf(w, "{\"region\":%q}\n", region)
	})
	if node != nil {
		mux.Handle("/admin/drain", sigv4.Require(verifier, node.DrainHandler(cfg.Cluster.DrainTimeout.Std())))
		mux.Handle("/", node.Router(apiHandler))
	} else {
		mux.Handle("/", apiHandler)
	}
	return mux
}

func newLogger(cfg config.Config, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: cfg.SlogLevel()}
	if cfg.Log.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// groupID is the media group this node's meetings are recorded on: its
// node id in a cluster, "local" alone.
func groupID(cfg config.Config) string {
	if cfg.Cluster.Enabled() {
		return cfg.Cluster.NodeID
	}
	return "local"
}

// outboxFlushTimeout bounds how long a drained cluster node waits for its
// delivery outbox to empty before exiting.
const outboxFlushTimeout = 30 * time.Second

// waitDelivered waits until nt has nothing queued, or for at most d: what
// stays queued is delivered when the node starts again.
func waitDelivered(nt *notify.Service, d time.Duration, log *slog.Logger) {
	deadline := time.Now().Add(d)
	for nt.Pending() > 0 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	if n := nt.Pending(); n > 0 {
		log.Warn("exiting with events still queued for delivery; they go out when this node starts again", "queued", n)
	}
}
