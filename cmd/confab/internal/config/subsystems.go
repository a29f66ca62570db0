package config

import (
	"context"
	"log/slog"
	"net"
	"net/netip"
	"path/filepath"

	"github.com/confab-media/confab/cluster"
	"github.com/confab-media/confab/conference"
	"github.com/confab-media/confab/internal/clock"
	"github.com/confab-media/confab/internal/guard"
	"github.com/confab-media/confab/internal/netguard"
	"github.com/confab-media/confab/mixer"
	"github.com/confab-media/confab/sfu"
	"github.com/confab-media/confab/signaling/api"
	"github.com/confab-media/confab/signaling/meeting"
	"github.com/confab-media/confab/signaling/notify"
	"github.com/confab-media/confab/sipgw"
	"github.com/confab-media/confab/sma"
	"github.com/confab-media/confab/turn"
)

// This file translates a Config into each subsystem's own Config; the
// subsystems know nothing of this package.

// MeetingService is the meeting control plane's configuration.
func (c Config) MeetingService() meeting.Config {
	return meeting.Config{
		AccountID:               c.AccountID,
		Regions:                 c.MediaRegions,
		AttendeesPerMeeting:     c.Quotas.AttendeesPerMeeting,
		HighResolutionAttendees: c.Quotas.HighResolutionAttendees,
		MaxDuration:             c.Meetings.MaxDuration.Std(),
		IdleTimeout:             c.Meetings.IdleTimeout.Std(),
		SweepInterval:           c.Meetings.SweepInterval.Std(),
	}
}

// API is the Chime SDK Meetings API's throttling.
func (c Config) API() api.Config {
	return api.Config{RequestsPerSecond: c.Quotas.APIRequestsPerSecond, Burst: c.Quotas.APIBurst}
}

// NotifyService is event delivery's configuration; its outbox directory
// is <data_dir>/notify.
func (c Config) NotifyService() notify.Config {
	n := c.Notifications
	return notify.Config{
		Dir: filepath.Join(c.DataDir, "notify"), Hooks: n.Hooks, Endpoints: n.Endpoints,
		Retry:          notify.RetryPolicy{MaxAttempts: n.MaxAttempts, MaxAge: n.MaxAge.Std()},
		WebhookTimeout: n.WebhookTimeout.Std(), DLQ: n.DLQ, Limits: n.Limits,
	}
}

// ClusterNode is this node's part in the cluster (when Cluster.Enabled).
func (c Config) ClusterNode() cluster.Config {
	return cluster.Config{Self: cluster.Node{
		ID: c.Cluster.NodeID, URL: c.HTTP.PublicURL, Regions: c.MediaRegions,
		MaxMeetings: c.Quotas.ActiveMeetingsPerMediaGroup,
	}, Heartbeat: c.Cluster.Heartbeat.Std()}
}

// Conference is the meetings' runtimes: each Room's mixer and the
// auto-end rules that follow the meeting lifetimes.
func (c Config) Conference() conference.Config {
	return conference.Config{
		Mixer: mixer.Config{
			TopN:          c.Media.TopTalkers,
			Bitrate:       c.Media.OpusBitrate,
			Complexity:    c.Media.OpusComplexity,
			MinComplexity: c.Media.OpusMinComplexity,
		},
		AutoEnd: conference.AutoEnd{NoAudio: c.Meetings.IdleTimeout.Std(), MaxDuration: c.Meetings.MaxDuration.Std()},
	}
}

// MediaServer is the WebRTC media plane's configuration.
func (c Config) MediaServer() sfu.Config {
	return sfu.Config{
		ListenUDP:        c.Media.UDPListen,
		PublicIPs:        c.Media.PublicIPs,
		MaxVideos:        c.Media.MaxVideos,
		MaxContentShares: c.Media.MaxContentShares,
	}
}

// SIPGateway is the dial-in gateway's configuration (when SIP.Enabled).
func (c Config) SIPGateway() sipgw.Config {
	sc := c.SIP
	return sipgw.Config{
		Outbound: sipgw.Trunk{Host: sc.Outbound.Host, Transport: sc.Outbound.Transport,
			Username: sc.Outbound.Username, Password: sc.Outbound.Password},
		DialInNumber: sc.DialInNumber, ListenUDP: sc.ListenUDP, ListenTCP: sc.ListenTCP, ListenTLS: sc.ListenTLS,
		CertFile: sc.CertFile, KeyFile: sc.KeyFile, RequireSRTP: sc.RequireSRTP, AllowPlainRTP: sc.AllowPlainRTP,
		RTPPortMin: sc.RTPPortMin, RTPPortMax: sc.RTPPortMax, RTPTimeout: sc.RTPTimeout.Std(), PublicIP: sc.PublicIP,
		NoMediaTimeout: sc.NoMediaTimeout.Std(), MaxCallsPerMeeting: sc.MaxCallsPerMeeting,
		Stream: sipgw.StreamConfig{MaxConns: sc.MaxConns, MaxConnsPerIP: sc.MaxConnsPerIP,
			FirstMessage: sc.FirstMessageTimeout.Std(), Idle: sc.IdleTimeout.Std()},
	}
}

// SIPApplications is the SIP media applications' runtime, or nil when
// SIP is off. Prompts live in sip.prompts_dir, by default
// <data_dir>/prompts; applications with a lambda_arn are invoked through
// invokeLambda (notify.Service.InvokeLambda).
func (c Config) SIPApplications(log *slog.Logger, panics guard.Counter, invokeLambda func(context.Context, string, []byte) ([]byte, error)) *sma.Runtime {
	if !c.SIP.Enabled {
		return nil
	}
	dir := c.SIP.PromptsDir
	if dir == "" {
		dir = filepath.Join(c.DataDir, "prompts")
	}
	recs := c.SIP.RecordingsDir
	if recs == "" {
		recs = filepath.Join(c.DataDir, "recordings")
	}
	rt := &sma.Runtime{
		Recordings: &sma.RecordingStore{Dir: recs},
		Config: sma.Config{Applications: c.SIP.Applications, Rules: c.SIP.Rules, AllowedSources: c.SIP.AllowedSources,
			MaxCallsPerApplication: c.SIP.MaxCallsPerApplication, MaxCallsPerSource: c.SIP.MaxCallsPerSource},
		Invoker: sma.Invokers{HTTP: &sma.HTTPInvoker{}, Lambda: &sma.LambdaInvoker{Invoke: invokeLambda}},
		Audio:   &sma.AudioStore{Dir: dir},
		Clock:   clock.System{},
		Log:     log, Panics: panics,
		AccountID: c.AccountID, Region: c.MediaRegions[0],
	}
	if s := c.SIP.S3; s.On() {
		store := sma.NewS3(sma.S3Config{Endpoint: s.Endpoint, Region: s.Region, AccessKeyID: s.AccessKeyID,
			SecretAccessKey: s.SecretAccessKey, PathStyle: s.PathStyle})
		rt.Audio.S3, rt.Recordings.S3 = store, store
	}
	return rt
}

// Listeners are the node's own listen addresses (HTTP and SIP), which TURN
// relays may not reach.
func (c Config) Listeners() []string {
	return []string{c.HTTP.Listen, c.SIP.ListenUDP, c.SIP.ListenTCP, c.SIP.ListenTLS}
}

// TURNRelay is the relay's configuration (when TURN.Enabled) with the
// peers it may and may not reach (turnauth.RelayPeers). RelayIP defaults to
// ListenUDP's host.
func (c Config) TURNRelay(allowed []turn.Peer, denied []netip.AddrPort) turn.Config {
	tc := c.TURN
	relayIP := tc.RelayIP
	if relayIP == "" {
		relayIP, _, _ = net.SplitHostPort(tc.ListenUDP)
	}
	return turn.Config{
		ListenUDP: tc.ListenUDP, ListenTCP: tc.ListenTCP, ListenTLS: tc.ListenTLS,
		CertFile: tc.CertFile, KeyFile: tc.KeyFile, RelayIP: relayIP,
		RelayPortMin: uint16(tc.RelayPortMin), RelayPortMax: uint16(tc.RelayPortMax),
		UDPSockets: tc.UDPSockets, AllowedPeers: allowed, DeniedPeers: denied, AllowPrivatePeers: tc.AllowPrivatePeers,
		MaxAllocationsPerUser: tc.MaxAllocationsPerAttendee, MaxAllocations: tc.MaxAllocations,
		Stream: netguard.Config{
			MaxConns: tc.MaxConns, MaxPerIP: tc.MaxConnsPerIP,
			FirstMessage: tc.FirstMessageTimeout.Std(), Idle: tc.IdleTimeout.Std(),
		},
	}
}

// URIHost is the host put in the turn: URIs clients get: PublicHost, else
// ListenUDP's host.
func (t TURNConfig) URIHost() string {
	if t.PublicHost != "" {
		return t.PublicHost
	}
	host, _, _ := net.SplitHostPort(t.ListenUDP)
	return host
}
