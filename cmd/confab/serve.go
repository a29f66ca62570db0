package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/confab-media/confab/cluster"
	"github.com/confab-media/confab/cmd/confab/internal/config"
	"github.com/confab-media/confab/conference"
	"github.com/confab-media/confab/demo"
	"github.com/confab-media/confab/internal/acmecert"
	"github.com/confab-media/confab/internal/certfile"
	"github.com/confab-media/confab/internal/clock"
	"github.com/confab-media/confab/internal/datadir"
	"github.com/confab-media/confab/internal/debughttp"
	"github.com/confab-media/confab/internal/guard"
	"github.com/confab-media/confab/internal/netguard"
	"github.com/confab-media/confab/sfu"
	"github.com/confab-media/confab/signaling/api"
	"github.com/confab-media/confab/signaling/events"
	"github.com/confab-media/confab/signaling/meeting"
	"github.com/confab-media/confab/signaling/notify"
	"github.com/confab-media/confab/signaling/session"
	"github.com/confab-media/confab/signaling/store"
	"github.com/confab-media/confab/signaling/turnauth"
	"github.com/confab-media/confab/signaling/voice"
	"github.com/confab-media/confab/turn"
)

// fdReserve is how many file descriptors are kept out of the budget that
// SIP and TURN stream connections share: the HTTP API and signaling
// WebSockets, media sockets, the store and logs draw on these.
const fdReserve = 4096

// outboxFlushTimeout bounds how long a drained cluster node waits for its
// delivery outbox to empty before exiting.
const outboxFlushTimeout = 30 * time.Second

// serve runs Confab until SIGINT or SIGTERM, then shuts down in order: stop
// taking requests, stop the lifecycle loop, flush and close the store.
func serve(cfg config.Config, stderr io.Writer) error {
	log := cfg.Logger(stderr)
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return fmt.Errorf("data dir: %w", err)
	}
	lock, err := datadir.Acquire(cfg.DataDir) // a second process on it stops here, saying so
	if err != nil {
		return err
	}
	defer lock.Release()
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
	ctx := context.Background()
	// State: the embedded bbolt file, or in cluster mode the Redis every
	// node shares (the store owns the client the cluster uses too).
	var (
		st      store.Store
		boltSt  *store.Bolt
		redisSt *store.Redis
	)
	if cfg.Cluster.Enabled() {
		opt, err := store.RedisOptions(cfg.Cluster.RedisURL)
		if err != nil {
			return fmt.Errorf("cluster.redis_url: %w", err)
		}
		if redisSt, err = store.DialRedis(ctx, opt, cfg.Cluster.NodeID, log.With("subsystem", "store")); err != nil {
			return err
		}
		st = redisSt
	} else {
		if boltSt, err = store.OpenBolt(cfg.DataDir, log.With("subsystem", "store")); err != nil {
			return err
		}
		st = boltSt
	}
	defer st.Close()

	publicURL, err := url.Parse(cfg.HTTP.PublicURL)
	if err != nil {
		return fmt.Errorf("public url: %w", err)
	}
	bus := events.NewBus(events.LogSink{Log: log.With("subsystem", "events")})
	reg := prometheus.NewRegistry()
	panics := guard.NewCounters(reg) // each subsystem's Params.Panics
	// Stream connections from the internet (SIP and TURN over TCP/TLS) share
	// a descriptor budget; the rest of RLIMIT_NOFILE stays for the HTTP API,
	// WebSockets, media sockets and files.
	fds := netguard.BudgetFromRlimit(fdReserve)

	// Event delivery: every event goes into a durable outbox before the
	// API call that caused it returns; workers deliver to hooks and to the
	// meetings' own targets. Closed after everything that publishes, before
	// the store. Alone, the outbox lives in confab.db and the store writes
	// the meeting service's events in their changes' transactions; in a
	// cluster it is <data_dir>/notify/notify.db, fed by the cluster relay.
	nt, err := notify.NewOnBolt(cfg.NotifyService(),
		notify.Params{Log: log.With("subsystem", "notify"), Registerer: reg, Panics: panics("notify")}, boltSt)
	if err != nil {
		return fmt.Errorf("notifications: %w", err)
	}
	defer nt.Close()
	bus.Subscribe(nt)

	svc, err := meeting.New(ctx, cfg.MeetingService(), meeting.Params{
		Store:    st,
		Placer:   meeting.NewLocalPlacer(meeting.MediaGroup{ID: cfg.GroupID(), PublicURL: publicURL}, cfg.Quotas.ActiveMeetingsPerMediaGroup),
		Events:   bus,
		Clock:    clock.System{},
		Log:      log.With("subsystem", "meeting"),
		TokenKey: tokenKey,
		Targets:  nt.MeetingTargets(),
	})
	if err != nil {
		return err
	}
	svc.Start()
	defer svc.Close()

	// Cluster mode: heartbeat, placement, reaping of dead nodes and the
	// relay of the events stream into this node's delivery outbox. Its
	// loops start (Start) once the SIP gateway's address is known.
	var node *cluster.Cluster
	if cfg.Cluster.Enabled() {
		node, err = cluster.New(ctx, cfg.ClusterNode(), cluster.Params{
			Redis: redisSt.Client(), Store: redisSt, Meetings: svc, Sink: nt, Log: log.With("subsystem", "cluster"),
			Registerer: reg, Panics: panics("cluster"), CPU: cluster.ProcessCPU(),
		})
		if err != nil {
			return fmt.Errorf("cluster: %w", err)
		}
		defer node.Close()
	}

	// The meetings' runtimes on this node: a Room per meeting with its
	// mixer, levels, capabilities and auto-end rules. It hears the
	// meeting lifecycle (end, DeleteAttendee, capability changes) on the
	// bus and asks the meeting service to end meetings.
	conf := conference.New(cfg.Conference(), conference.Params{Log: log.With("subsystem", "conference"), Panics: panics("conference"), Ender: svc, Registerer: reg})
	defer conf.Close()
	svc.Observe(conf)

	// Media: one UDP socket for every WebRTC peer, each peer's audio a leg
	// of its meeting's conference Room.
	media, err := sfu.New(cfg.MediaServer(), sfu.Params{
		Log: log.With("subsystem", "sfu"), Clock: clock.System{}, Conference: conf,
		Events: bus, AccountID: cfg.AccountID, Panics: panics("sfu"), Registerer: reg,
	})
	if err != nil {
		return err
	}
	defer media.Close()

	// TURN relay: JOIN_ACK hands each attendee credentials for it. It may
	// relay only to the media socket and turn.allowed_peers, never to the
	// HTTP and SIP listeners, and hears DeleteAttendee and meeting end.
	turnSecret, err := cfg.TURNSecret()
	if err != nil {
		return fmt.Errorf("turn secret: %w", err)
	}
	turnAuth := turnauth.New(svc)
	sessionParams := session.Params{Auth: svc, Presence: svc, Events: bus, Media: media, Rooms: conf, Log: log.With("subsystem", "session"), Panics: panics("session")}
	if cfg.TURN.Enabled {
		allowed, denied, err := turnauth.RelayPeers(media.Addr(), cfg.Media.PublicIPs, cfg.TURN.AllowedPeers, cfg.Listeners(), turnauth.InterfaceIPs)
		if err != nil {
			return fmt.Errorf("turn: %w", err)
		}
		turnLog := log.With("subsystem", "turn")
		relay, err := turn.New(cfg.TURNRelay(allowed, denied), turn.Params{
			Secret: turnSecret, Active: turnAuth.Active, Log: turnLog, Registerer: reg, FDs: fds, Panics: panics("turn"),
		})
		if err != nil {
			return fmt.Errorf("turn: %w", err)
		}
		uris, ttl := relay.URIs(cfg.TURN.URIHost()), cfg.TURN.CredentialTTL.Std()
		turnAuth.Attach(relay, turn.NewMinter(turnSecret, ttl, uris, time.Now))
		turnLog.Info("turn: credentials name", "uris", uris, "ttl", ttl, "peers", allowed)
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

	// SIP dial-in: a caller becomes a phone member of its meeting's Room;
	// in a cluster, calls for meetings hosted elsewhere are handed over.
	// SIP media applications take the calls their rules name (sipapps.go).
	var voiceAPI *voice.Registry
	if cfg.SIP.Enabled {
		stopSIP, registry, err := startSIP(cfg, sipDeps{svc: svc, conf: conf, node: node, notify: nt, store: st, reg: reg, fds: fds, panics: panics, log: log})
		if err != nil {
			return err
		}
		defer stopSIP()
		voiceAPI = registry
	}
	if node != nil {
		node.Start()
	}

	// The meeting web app at /, on loopback by default (package demo).
	var app *demo.Handler
	if cfg.Demo.On(cfg.HTTP.Listen) {
		app = demo.New(demo.Config{Passcode: cfg.Demo.Passcode, Region: cfg.MediaRegions[0]}, demo.Params{Meetings: svc, Log: log.With("subsystem", "demo")})
		log.Info("meeting app", "url", cfg.HTTP.PublicURL+"/", "built", app.Built(), "passcode", cfg.Demo.Passcode != "")
	}
	// /readyz: the store takes writes, the media socket is open (and, in
	// a cluster, Redis answers).
	ready := []api.ReadyCheck{{Name: "media", Check: media.Ready}}
	if r, ok := st.(interface{ Ready(context.Context) error }); ok {
		ready = append(ready, api.ReadyCheck{Name: "store", Check: r.Ready})
	}
	handler := newHTTPHandler(cfg, creds, svc, node, signaling, turnauth.ControlHandler(svc, turnAuth), nt.Admin(), voiceAPI, app, ready, reg, log)
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
	var serveLn net.Listener = ln
	if a := cfg.HTTP.ACME; len(a.Domains) > 0 {
		acmeCtx, cancel := context.WithTimeout(ctx, 3*time.Minute)
		certs, err := acmecert.Start(acmeCtx, acmecert.Config{Domains: a.Domains, Email: a.Email, CA: a.CA, CARoot: a.CARoot,
			Dir: filepath.Join(cfg.DataDir, "acme")}, log.With("subsystem", "acme"))
		cancel()
		if err != nil {
			return err
		}
		defer certs.Close()
		serveLn = tls.NewListener(ln, certs.TLSConfig())
	}
	if cfg.HTTP.CertFile != "" {
		certs, err := certfile.New(cfg.HTTP.CertFile, cfg.HTTP.KeyFile, log.With("subsystem", "http"), time.Now)
		if err != nil {
			return fmt.Errorf("http.cert_file: %w", err)
		}
		serveLn = tls.NewListener(ln, certs.TLSConfig())
	}
	if cfg.HTTP.MetricsListen != "" {
		stopMetrics, err := debughttp.ServeMetrics(cfg.HTTP.MetricsListen, promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}), log)
		if err != nil {
			return err
		}
		defer stopMetrics()
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(serveLn) }()

	select {
	case err := <-served:
		return err
	case sig := <-sigs:
		log.Info("shutting down", "signal", sig.String())
	}
	if node != nil {
		// A cluster node drains first, still serving: no new placements,
		// its meetings go on up to the deadline, then they are ended. Then
		// it waits for its outbox; what stays queued goes out at restart.
		drainCtx, stopDrain := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
		node.Drain(drainCtx, cfg.Cluster.DrainTimeout.Std())
		stopDrain()
		if n := nt.WaitDelivered(outboxFlushTimeout); n > 0 {
			log.Warn("exiting with events still queued for delivery; they go out when this node starts again", "queued", n)
		}
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
