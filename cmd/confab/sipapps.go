package main

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/confab-media/confab/cluster"
	"github.com/confab-media/confab/cmd/confab/internal/config"
	"github.com/confab-media/confab/conference"
	"github.com/confab-media/confab/internal/guard"
	"github.com/confab-media/confab/internal/netguard"
	"github.com/confab-media/confab/signaling/meeting"
	"github.com/confab-media/confab/signaling/notify"
	"github.com/confab-media/confab/signaling/store"
	"github.com/confab-media/confab/signaling/voice"
	"github.com/confab-media/confab/sipgw"
)

// sipDeps is what the SIP gateway and its applications are wired to.
type sipDeps struct {
	svc    *meeting.Service
	conf   *conference.Registry
	node   *cluster.Cluster // nil: one node
	notify *notify.Service
	store  store.Store
	reg    prometheus.Registerer
	fds    *netguard.Budget
	panics func(subsystem string) guard.Counter
	log    *slog.Logger
}

// voiceReload is how often a cluster node re-reads the applications and
// rules another node's Voice API may have changed.
const voiceReload = 5 * time.Second

// startSIP starts the SIP gateway with its SIP media applications (the
// file's, and the Voice API's, whose registry it returns) and returns what
// stops both.
func startSIP(cfg config.Config, d sipDeps) (stop func(), _ *voice.Registry, _ error) {
	for _, a := range cfg.SIP.Applications {
		if a.LambdaARN == "" {
			continue
		}
		if err := d.notify.CheckLambda(a.LambdaARN); err != nil {
			return nil, nil, fmt.Errorf("sip.applications %s: lambda_arn: %w (add a notifications.endpoints entry for it)", a.ID, err)
		}
	}
	apps := cfg.SIPApplications(d.log.With("subsystem", "sma"), d.panics("sma"), d.notify.InvokeLambda)
	registry, err := voice.New(context.Background(), voice.Params{
		Store: d.store, Runtime: apps, Static: apps.Config, AccountID: cfg.AccountID, Region: cfg.MediaRegions[0],
		Secret: cfg.SIP.ApplicationSecret, CheckLambda: d.notify.CheckLambda, Log: d.log.With("subsystem", "voice"),
	})
	if err != nil {
		return nil, nil, fmt.Errorf("sip media applications: %w", err)
	}
	d.log.Info("sip media applications", "file_applications", len(cfg.SIP.Applications), "file_rules", len(cfg.SIP.Rules), "prompts", apps.Audio.Dir)

	sipLog := d.log.With("subsystem", "sipgw")
	params := sipgw.Params{
		Auth: d.svc, Conference: d.conf, Log: sipLog, Registerer: d.reg, FDs: d.fds, Panics: d.panics("sipgw"), Apps: apps,
		OnDTMF: func(id meeting.Identity, digit rune) {
			sipLog.Info("dtmf", "meeting", id.MeetingID, "attendee", id.AttendeeID, "digit", string(digit))
		},
	}
	if d.node != nil {
		params.Locator = d.node
	}
	gw, err := sipgw.New(cfg.SIPGateway(), params)
	if err != nil {
		return nil, nil, fmt.Errorf("sip: %w", err)
	}
	registry.SetDialer(gw)
	if d.node != nil {
		udp, _, _ := gw.Addrs()
		d.node.SetSIP(sipgw.HandoverAddr(udp, cfg.SIP.PublicIP, cfg.HTTP.PublicURL))
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	if d.node != nil { // another node's Voice API writes the shared store
		wg.Go(func() {
			t := time.NewTicker(voiceReload)
			defer t.Stop()
			for {
				select {
				case <-done:
					return
				case <-t.C:
					ctx, cancel := context.WithTimeout(context.Background(), voiceReload)
					if err := registry.Reload(ctx); err != nil {
						d.log.Warn("voice: reload failed", "err", err)
					}
					cancel()
				}
			}
		})
	}
	return func() {
		close(done)
		wg.Wait()
		_ = gw.Close()
	}, registry, nil
}
