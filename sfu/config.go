package sfu

import (
	"github.com/prometheus/client_golang/prometheus"

	"context"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"time"

	"github.com/pion/transport/v4"

	"github.com/confab-media/confab/conference"
	"github.com/confab-media/confab/internal/clock"
	"github.com/confab-media/confab/internal/guard"
	"github.com/confab-media/confab/mixer"
	"github.com/confab-media/confab/signaling/events"
)

// Config holds the Server's tunables; zero values take the defaults.
type Config struct {
	// ListenUDP is the address of the single UDP socket every peer's ICE
	// runs on (ICE UDP mux). Default "127.0.0.1:0". Prefer a specific
	// address: the advertised host candidate is that address, or PublicIPs.
	ListenUDP string
	// PublicIPs, if set, replace the local address in the host candidates
	// (1:1 NAT, e.g. a cloud instance's public IPv4).
	PublicIPs []string
	// Mixer configures each meeting's mixer when Params.Conference is nil
	// (the Server then makes a Registry of its own).
	Mixer mixer.Config
	// NegotiateTimeout bounds one SUBSCRIBE's renegotiation, ICE gathering
	// included. Default 5 s.
	NegotiateTimeout time.Duration
	// MaxVideos is the number of cameras that may publish in one meeting
	// (Chime's documented default, 16). Past it INDEX says at_capacity and
	// a further camera is not forwarded.
	MaxVideos int
	// MaxContentShares is the number of content shares per meeting
	// (default 2).
	MaxContentShares int
	// KeyframeInterval is the least time between two keyframe requests
	// (PLI) for one layer. Default 500 ms.
	KeyframeInterval time.Duration
	// MaxOfferBytes bounds a SUBSCRIBE's SDP offer; a larger one is
	// refused (SUBSCRIBE_ACK 400) before it is parsed. Default 256 KiB
	// (Chrome's offer with 27 video m-lines is about 80 KB).
	MaxOfferBytes int
	// MaxReceiveVideos bounds the video m-lines of an offer besides the
	// camera's: each may become a forwarded video (a track, a sender and
	// an RTCP reader). An offer with more, or with more than
	// MaxReceiveVideos+4 m-lines in all (audio, camera, data channel), is
	// refused (SUBSCRIBE_ACK 400) before any transceiver exists. Default
	// the larger of 25 (Chime's remote video limit) and MaxVideos +
	// MaxContentShares.
	MaxReceiveVideos int
	// StatsInterval is how often layer bitrates are measured, INDEX
	// refreshed if the available layers changed, BITRATES sent and
	// forwarded layers fitted to each subscriber's bandwidth. Default 1 s.
	StatsInterval time.Duration
}

func (c Config) withDefaults() (Config, error) {
	if c.ListenUDP == "" {
		c.ListenUDP = "127.0.0.1:0"
	}
	if c.NegotiateTimeout <= 0 {
		c.NegotiateTimeout = 5 * time.Second
	}
	if c.MaxVideos <= 0 {
		c.MaxVideos = 16
	}
	if c.MaxContentShares <= 0 {
		c.MaxContentShares = 2
	}
	if c.KeyframeInterval <= 0 {
		c.KeyframeInterval = 500 * time.Millisecond
	}
	if c.MaxOfferBytes <= 0 {
		c.MaxOfferBytes = 256 << 10
	}
	if c.MaxReceiveVideos <= 0 {
		c.MaxReceiveVideos = max(25, c.MaxVideos+c.MaxContentShares)
	}
	if c.StatsInterval <= 0 {
		c.StatsInterval = time.Second
	}
	if _, err := net.ResolveUDPAddr("udp4", c.ListenUDP); err != nil {
		return c, fmt.Errorf("%w: ListenUDP %q: %v", ErrInvalidConfig, c.ListenUDP, err)
	}
	for _, ip := range c.PublicIPs {
		if a, err := netip.ParseAddr(ip); err != nil || !a.Is4() {
			return c, fmt.Errorf("%w: PublicIPs: %q is not an IPv4 address", ErrInvalidConfig, ip)
		}
	}
	return c, nil
}

// Publisher receives the video and content events the Server emits (an
// *events.Bus).
type Publisher interface {
	Publish(ctx context.Context, e events.Event)
}

// Params holds the Server's dependencies; all are optional.
type Params struct {
	// Log receives structured logs; nil discards them.
	Log *slog.Logger
	// Clock drives the mixers and the volume reports; nil is the system
	// clock.
	Clock clock.Clock
	// Net is the network ICE runs on (pion's vnet in tests); nil is the
	// real one.
	Net transport.Net
	// Conference holds the meetings' runtimes: each Room's audio (mixer,
	// levels) and the attendees' capabilities. nil makes a Registry of
	// the Server's own (Mixer config, Clock), closed by Close.
	Conference *conference.Registry
	// Events receives the video and content events
	// (chime:AttendeeVideoStarted, …); nil drops them.
	Events Publisher
	// AccountID goes into emitted events.
	AccountID string
	// Registerer gets the media metrics (metrics.go); nil registers none.
	Registerer prometheus.Registerer
	// Panics counts the panics contained in goroutines that handle remote
	// media (RTP/RTCP readers, the stats loop); each ends only its peer or
	// its room. nil counts nothing.
	Panics guard.Counter
}
