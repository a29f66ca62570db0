package turn

import (
	"fmt"
	"log/slog"
	"net/netip"
	"runtime"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/confab-media/confab/internal/guard"
	"github.com/confab-media/confab/internal/netguard"
)

// Config holds the Server's tunables; zero values take the defaults given on
// each field.
type Config struct {
	// Realm is the long-term-credential realm (RFC 8489 §9.2). Default
	// "confab".
	Realm string
	// ListenUDP is the IPv4 UDP address clients reach the server on.
	// Default "127.0.0.1:3478"; port 0 picks a free port (see
	// Server.Addrs).
	ListenUDP string
	// DisableUDP turns the UDP listener off.
	DisableUDP bool
	// UDPSockets is how many SO_REUSEPORT sockets share ListenUDP; the kernel
	// spreads clients over them by address hash, and each has its own relay
	// engine (one goroutine), so relaying uses every core. Default
	// runtime.NumCPU(). With UDP disabled it is still the number of engines
	// that relay for TCP/TLS clients. Linux only: elsewhere UDP is one
	// socket on pion/turn's relay.
	UDPSockets int
	// ListenTCP is the TURN-over-TCP address (RFC 8656 §3.1). Default the
	// host and actual port of the UDP listener, or "127.0.0.1:3478" when
	// UDP is disabled.
	ListenTCP string
	// DisableTCP turns the TCP listener off.
	DisableTCP bool
	// ListenTLS is the TURN-over-TLS address, used only when CertFile and
	// KeyFile are set. Default the UDP (else TCP) listener's host, port
	// 5349.
	ListenTLS string
	// CertFile and KeyFile are a PEM certificate chain and key for TLS.
	CertFile, KeyFile string
	// RelayIP is the IPv4 address relayed sockets bind to and advertise in
	// XOR-RELAYED-ADDRESS. Default 127.0.0.1.
	RelayIP string
	// RelayPortMin and RelayPortMax bound the relay ports. Default
	// 49152–65535.
	RelayPortMin, RelayPortMax uint16
	// AllowedPeers are the peers permissions, channels, Send indications
	// and relayed datagrams may name: Confab puts its media sockets here
	// (PeerAt, exact address and port), plus whatever the operator adds
	// (ParsePeer: ip, ip:port or CIDR). Everything else is refused with
	// 403; see peerPolicy for the order of the checks. Default none, so
	// nothing is relayed.
	AllowedPeers []Peer
	// DeniedPeers are sockets refused even when a wider AllowedPeers entry
	// (an "ip" or a CIDR) covers them: the host's own HTTP and SIP
	// listeners. An unspecified address means that port on any address.
	// The Server adds its own TURN listeners itself.
	DeniedPeers []netip.AddrPort
	// AllowPrivatePeers lets CIDR entries of AllowedPeers reach loopback,
	// private (RFC 1918, RFC 6598, fc00::/7) and link-local addresses; a
	// CIDR that lies inside such a range (10.1.0.0/16) reaches it anyway,
	// and single addresses are always taken as written. Unspecified,
	// multicast, reserved and cloud-metadata (169.254.169.254,
	// fd00:ec2::254) addresses are reached only when named exactly.
	AllowPrivatePeers bool
	// Stream bounds TURN-over-TCP/TLS connections (RFC 8656 §3.1): the
	// TLS handshake and first message deadline, the idle timeout, the cap
	// per source IP and overall. Zero values take netguard's defaults
	// (10 s, 5 min, 32 per IP, 1024), except MaxConns, which defaults to
	// MaxAllocations when that is smaller. Its Budget is set from
	// Params.FDs.
	Stream netguard.Config
	// MaxAllocationsPerUser caps the live allocations of one attendee
	// (486 Allocation Quota Reached past it). Default 12.
	MaxAllocationsPerUser int
	// MaxAllocations caps the live allocations of the server, and its open
	// TCP/TLS connections. Default 10000.
	MaxAllocations int
}

const (
	defaultRealm        = "confab"
	defaultListen       = "127.0.0.1:3478"
	defaultTLSPort      = 5349
	defaultRelayIP      = "127.0.0.1"
	defaultRelayPortMin = 49152
	defaultRelayPortMax = 65535
	defaultPerUser      = 12
	defaultMaxAllocs    = 10000
	defaultMaxStreams   = 1024 // netguard's default
)

// withDefaults fills the zero values and validates the result. The TCP and
// TLS defaults that depend on the bound UDP port are resolved in New.
func (c Config) withDefaults() (Config, error) {
	if c.Realm == "" {
		c.Realm = defaultRealm
	}
	if c.ListenUDP == "" {
		c.ListenUDP = defaultListen
	}
	if c.UDPSockets <= 0 {
		c.UDPSockets = runtime.NumCPU()
	}
	if c.RelayIP == "" {
		c.RelayIP = defaultRelayIP
	}
	if c.RelayPortMin == 0 {
		c.RelayPortMin = defaultRelayPortMin
	}
	if c.RelayPortMax == 0 {
		c.RelayPortMax = defaultRelayPortMax
	}
	if c.MaxAllocationsPerUser <= 0 {
		c.MaxAllocationsPerUser = defaultPerUser
	}
	if c.MaxAllocations <= 0 {
		c.MaxAllocations = defaultMaxAllocs
	}
	if c.Stream.MaxConns <= 0 {
		c.Stream.MaxConns = min(c.MaxAllocations, defaultMaxStreams)
	}
	return c, c.validate()
}

func (c Config) validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{ErrInvalidConfig}, args...)...)
	}
	if c.DisableUDP && c.DisableTCP && !c.tlsEnabled() {
		return bad("every listener is disabled")
	}
	for name, a := range map[string]string{"ListenUDP": c.ListenUDP, "ListenTCP": c.ListenTCP, "ListenTLS": c.ListenTLS} {
		if a == "" {
			continue
		}
		if _, err := netip.ParseAddrPort(a); err != nil {
			return bad("%s %q: want ip:port: %v", name, a, err)
		}
	}
	if ap, err := netip.ParseAddrPort(c.ListenUDP); !c.DisableUDP && (err != nil || !ap.Addr().Is4()) {
		return bad("ListenUDP %q: want an IPv4 address", c.ListenUDP)
	}
	if (c.CertFile == "") != (c.KeyFile == "") {
		return bad("CertFile and KeyFile go together")
	}
	ip, err := netip.ParseAddr(c.RelayIP)
	if err != nil || !ip.Unmap().Is4() || ip.IsUnspecified() {
		return bad("RelayIP %q: want a concrete IPv4 address", c.RelayIP)
	}
	if c.RelayPortMin > c.RelayPortMax {
		return bad("RelayPortMin %d > RelayPortMax %d", c.RelayPortMin, c.RelayPortMax)
	}
	for _, p := range c.AllowedPeers {
		if !p.Prefix.IsValid() {
			return bad("AllowedPeers: invalid prefix %v", p.Prefix)
		}
	}
	for _, p := range c.DeniedPeers {
		if !p.IsValid() {
			return bad("DeniedPeers: invalid address %v", p)
		}
	}
	return nil
}

func (c Config) tlsEnabled() bool { return c.CertFile != "" && c.KeyFile != "" }

// Params holds the Server's dependencies.
type Params struct {
	// Secret is the REST-API shared secret, the Minter's. Required.
	Secret []byte
	// Active reports whether an attendee may still use TURN; false refuses
	// its credentials with 401 (attendee deleted, meeting ended). Nil
	// admits every attendee whose credentials verify.
	Active func(attendeeID string) bool
	// Now is the clock credential expiry is checked against; nil is
	// time.Now.
	Now func() time.Time
	// Log receives structured logs; nil discards them.
	Log *slog.Logger
	// Registerer receives the confab_turn_* metrics; nil registers none.
	Registerer prometheus.Registerer
	// FDs is the process's descriptor budget, shared with the other
	// stream listeners; nil bounds TCP/TLS by Config.Stream alone.
	FDs *netguard.Budget
	// Panics counts panics contained in the goroutines and callbacks that
	// handle remote input (internal/guard); nil counts none.
	Panics guard.Counter

	testHook func(pkt []byte) // see Server.testHook
	// pionRelay, set by this package's tests only, makes New relay UDP
	// with pion/turn's relay (pion.go) where the fast path exists, so
	// the fallback of other platforms is tested on Linux too.
	pionRelay bool
}

func (p Params) withDefaults() (Params, error) {
	if len(p.Secret) == 0 {
		return p, fmt.Errorf("%w: Params.Secret is empty", ErrInvalidConfig)
	}
	if p.Now == nil {
		p.Now = time.Now
	}
	if p.Log == nil {
		p.Log = slog.New(slog.DiscardHandler)
	}
	return p, nil
}
