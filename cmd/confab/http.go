package main

import (
	"log/slog"
	"net/http"
	"runtime"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/confab-media/confab/cluster"
	"github.com/confab-media/confab/cmd/confab/internal/config"
	"github.com/confab-media/confab/demo"
	"github.com/confab-media/confab/internal/debughttp"
	"github.com/confab-media/confab/signaling/api"
	"github.com/confab-media/confab/signaling/meeting"
	"github.com/confab-media/confab/signaling/sigv4"
	"github.com/confab-media/confab/signaling/voice"
)

// newHTTPHandler mounts the API (behind the cluster router in a cluster),
// the signaling WebSocket, the TurnControlUrl, the Voice API's SIP media
// applications and rules (when SIP is on), the notifications admin API
// and /admin/drain (SigV4 like the API), the probes, /metrics, the meeting
// web app (when app is not nil) and (when enabled) pprof.
func newHTTPHandler(cfg config.Config, creds []config.Credential, svc *meeting.Service, node *cluster.Cluster, signaling, turnControl, notifyAdmin http.Handler, voiceAPI *voice.Registry, app *demo.Handler, ready []api.ReadyCheck, reg *prometheus.Registry, log *slog.Logger) http.Handler {
	verifier := sigv4.NewVerifier(sigv4.VerifierConfig{Service: "chime"}, sigv4.VerifierParams{
		Lookup: config.KeyLookup(creds),
		Now:    time.Now,
	})
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Namespace: "confab", Name: "meetings_active", Help: "Meetings currently live on this node.",
	}, func() float64 { return float64(svc.ActiveMeetings()) }))
	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Namespace: "confab", Name: "attendees", Help: "Attendees of the meetings live on this node.",
	}, func() float64 { return float64(svc.AttendeeCount()) }))
	build := prometheus.NewGauge(prometheus.GaugeOpts{ // constant 1; the labels say what runs
		Namespace: "confab", Name: "build_info", Help: "Confab's version and the Go release it was built with.",
		ConstLabels: prometheus.Labels{"version": version, "goversion": runtime.Version()},
	})
	build.Set(1)
	reg.MustRegister(build)

	var limiter api.Limiter // default: the node's own buckets
	if node != nil {
		limiter = node.RateLimiter(cfg.Quotas.APIRequestsPerSecond, cfg.Quotas.APIBurst,
			api.NewRateLimiter(cfg.Quotas.APIRequestsPerSecond, cfg.Quotas.APIBurst, time.Now))
	}
	apiHandler := api.NewHandler(cfg.API(), api.Params{
		Meetings: svc,
		Verifier: verifier,
		Metrics:  reg,
		Log:      log.With("subsystem", "api"),
		Now:      time.Now,
		Limiter:  limiter,
	})

	mux := http.NewServeMux()
	mux.Handle("GET /healthz", api.HealthHandler())
	if cfg.HTTP.MetricsListen == "" {
		mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	} // else on its own listener (serveMetrics)
	if cfg.Debug.Pprof {
		debughttp.MountPprof(mux)
	}
	mux.Handle("GET /control/{meetingID}", signaling)
	mux.Handle("POST /v2/turn_sessions", turnControl)
	mux.Handle("/admin/notify/", sigv4.Require(verifier, notifyAdmin))
	if voiceAPI != nil { // the Chime SDK Voice API's SIP media applications and rules
		h := voiceAPI.Handler(verifier)
		for _, p := range []string{"/sip-media-applications", "/sip-media-applications/", "/sip-rules", "/sip-rules/"} {
			mux.Handle(p, h)
		}
	}
	if app != nil {
		app.Register(mux)
	}
	if node == nil { // alone: always ready, the first media region is the nearest
		mux.Handle("GET /readyz", api.ReadyHandler(ready...))
		mux.Handle("GET /nearest-media-region", api.NearestRegionHandler(cfg.MediaRegions[0]))
		mux.Handle("/", apiHandler)
		return mux
	}
	mux.Handle("GET /readyz", api.ReadyHandler(append(ready, api.ReadyCheck{Name: "redis", Check: node.Ready})...))
	mux.Handle("GET /nearest-media-region", api.NearestRegionHandler(node.Region()))
	mux.Handle("/admin/drain", sigv4.Require(verifier, node.DrainHandler(cfg.Cluster.DrainTimeout.Std())))
	mux.Handle("/", node.Router(apiHandler))
	return mux
}
