package main

import (
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/confab-media/confab/cmd/confab/internal/config"
	"github.com/confab-media/confab/internal/guard"
	"github.com/confab-media/confab/internal/netguard"
	"github.com/confab-media/confab/signaling/turnauth"
	"github.com/confab-media/confab/turn"
)

// startTURN starts the relay when the config enables it; nil otherwise.
// Relays may reach only the media socket (address and port: turnauth.MediaPeers)
// and turn.allowed_peers; the HTTP and SIP listeners are refused even when
// a wide allowed_peers entry covers them. TCP/TLS connections draw on fds,
// and panics counts what the relay's goroutines contain.
func startTURN(cfg config.Config, secret []byte, media net.Addr, auth *turnauth.Service, reg prometheus.Registerer, log *slog.Logger, fds *netguard.Budget, panics guard.Counter) (*turn.Server, error) {
	tc := cfg.TURN
	if !tc.Enabled {
		return nil, nil
	}
	allowed, err := turnauth.MediaPeers(media, cfg.Media.PublicIPs, turnauth.InterfaceIPs)
	if err != nil {
		return nil, err
	}
	for _, p := range tc.AllowedPeers {
		peer, err := turn.ParsePeer(p)
		if err != nil { // validated by config
			return nil, fmt.Errorf("turn.allowed_peers: %q: %w", p, err)
		}
		allowed = append(allowed, peer)
	}
	var denied []netip.AddrPort
	for _, a := range []string{cfg.HTTP.Listen, cfg.SIP.ListenUDP, cfg.SIP.ListenTCP, cfg.SIP.ListenTLS} {
		denied = append(denied, turnauth.ListenerPeers(a)...)
	}
	listenHost, _, _ := net.SplitHostPort(tc.ListenUDP)
	relayIP := tc.RelayIP
	if relayIP == "" {
		relayIP = listenHost
	}
	srv, err := turn.New(turn.Config{
		ListenUDP: tc.ListenUDP, ListenTCP: tc.ListenTCP, ListenTLS: tc.ListenTLS,
		CertFile: tc.CertFile, KeyFile: tc.KeyFile, RelayIP: relayIP,
		RelayPortMin: uint16(tc.RelayPortMin), RelayPortMax: uint16(tc.RelayPortMax),
		UDPSockets: tc.UDPSockets, AllowedPeers: allowed, DeniedPeers: denied, AllowPrivatePeers: tc.AllowPrivatePeers,
		MaxAllocationsPerUser: tc.MaxAllocationsPerAttendee, MaxAllocations: tc.MaxAllocations,
		Stream: netguard.Config{
			MaxConns: tc.MaxConns, MaxPerIP: tc.MaxConnsPerIP,
			FirstMessage: tc.FirstMessageTimeout.Std(), Idle: tc.IdleTimeout.Std(),
		},
	}, turn.Params{Secret: secret, Active: auth.Active, Log: log, Registerer: reg, FDs: fds, Panics: panics})
	if err != nil {
		return nil, err
	}
	host := tc.PublicHost
	if host == "" {
		host = listenHost
	}
	auth.Attach(srv, turn.NewMinter(secret, tc.CredentialTTL.Std(), srv.URIs(host), time.Now))
	log.Info("turn: credentials name", "uris", srv.URIs(host), "ttl", tc.CredentialTTL.Std(), "peers", allowed)
	return srv, nil
}
