package main

import (
	"log/slog"
	"net"
	"net/url"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/confab-media/confab/cmd/confab/internal/config"
	"github.com/confab-media/confab/conference"
	"github.com/confab-media/confab/internal/guard"
	"github.com/confab-media/confab/internal/netguard"
	"github.com/confab-media/confab/signaling/meeting"
	"github.com/confab-media/confab/sipgw"
)

// startSIP starts the dial-in gateway when the config enables it. Its TCP
// and TLS connections take from the process's descriptor budget fds;
// panics counts the panics it contains.
func startSIP(cfg config.Config, svc *meeting.Service, conf *conference.Registry, locator sipgw.Locator, reg prometheus.Registerer, log *slog.Logger, fds *netguard.Budget, panics guard.Counter) (*sipgw.Gateway, error) {
	sc := cfg.SIP
	if !sc.Enabled {
		return nil, nil
	}
	return sipgw.New(sipgw.Config{
		DialInNumber: sc.DialInNumber, ListenUDP: sc.ListenUDP, ListenTCP: sc.ListenTCP, ListenTLS: sc.ListenTLS,
		CertFile: sc.CertFile, KeyFile: sc.KeyFile, RequireSRTP: sc.RequireSRTP, AllowPlainRTP: sc.AllowPlainRTP,
		RTPPortMin: sc.RTPPortMin, RTPPortMax: sc.RTPPortMax, RTPTimeout: sc.RTPTimeout.Std(), PublicIP: sc.PublicIP,
		NoMediaTimeout: sc.NoMediaTimeout.Std(), MaxCallsPerMeeting: sc.MaxCallsPerMeeting,
		Stream: sipgw.StreamConfig{MaxConns: sc.MaxConns, MaxConnsPerIP: sc.MaxConnsPerIP,
			FirstMessage: sc.FirstMessageTimeout.Std(), Idle: sc.IdleTimeout.Std()},
	}, sipgw.Params{
		Auth: svc, Conference: conf, Locator: locator, Log: log, Registerer: reg, FDs: fds, Panics: panics,
		OnDTMF: func(id meeting.Identity, digit rune) {
			log.Info("dtmf", "meeting", id.MeetingID, "attendee", id.AttendeeID, "digit", string(digit))
		},
	})
}

// advertisedSIP is the address other cluster nodes hand calls over to: the
// gateway's UDP address, with sip.public_ip (or the public URL's host) for
// an unspecified listen address.
func advertisedSIP(cfg config.Config, udp net.Addr) string {
	host, port, err := net.SplitHostPort(udp.String())
	if err != nil {
		return udp.String()
	}
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
		host = cfg.SIP.PublicIP
		if host == "" {
			if u, err := url.Parse(cfg.HTTP.PublicURL); err == nil {
				host = u.Hostname()
			}
		}
	}
	return net.JoinHostPort(host, port)
}
