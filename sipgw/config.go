package sipgw

import (
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/confab-media/confab/internal/clock"
	"github.com/confab-media/confab/internal/guard"
	"github.com/confab-media/confab/internal/netguard"
	"github.com/confab-media/confab/signaling/meeting"
)

// Config holds the gateway's tunables. The zero value of each field selects
// its default.
type Config struct {
	// Outbound is the trunk SIP media applications' calls go out through
	// (Gateway.Dial); zero: none.
	Outbound Trunk
	// DialInNumber is the E.164 number callers dial; an INVITE whose
	// Request-URI user differs gets 404 (default +17035550122).
	DialInNumber string
	// ListenUDP, ListenTCP and ListenTLS are the SIP listen addresses
	// (defaults 127.0.0.1:5060 for UDP and TCP, 127.0.0.1:5061 for TLS).
	// Port 0 picks a free port; Gateway.Addrs reports it.
	ListenUDP, ListenTCP, ListenTLS string
	// CertFile and KeyFile are the PEM certificate and key of the TLS
	// listener. Both empty: a self-signed certificate is generated in memory
	// at start — for development only, since no phone can verify it.
	CertFile, KeyFile string
	// RequireSRTP refuses plain RTP/AVP offers with 488, loopback callers
	// included.
	RequireSRTP bool
	// AllowPlainRTP accepts plain RTP/AVP offers from callers whose
	// signalling does not come from a loopback address. By default (false)
	// they get 488 "SRTP required": plain RTP can be read and injected by
	// anyone on the path. Loopback callers may use plain RTP unless
	// RequireSRTP.
	AllowPlainRTP bool
	// RTPPortMin and RTPPortMax bound the UDP ports of calls' media (default
	// 16384–32767). Each call takes an even port for RTP and the next odd
	// one for RTCP.
	RTPPortMin, RTPPortMax int
	// RTPTimeout ends a call with BYE when no RTP came for that long while
	// the caller is meant to send (default 30 s).
	RTPTimeout time.Duration
	// SessionExpires is the RFC 4028 session interval the gateway asks for
	// when the caller supports session timers ("Supported: timer"), and the
	// largest it accepts (default 30 min). The caller refreshes (re-INVITE
	// or UPDATE); without a refresh the gateway sends BYE.
	SessionExpires time.Duration
	// MinSessionExpires is the smallest session interval accepted (Min-SE):
	// a smaller request gets 422 (default 90 s, the RFC 4028 floor).
	MinSessionExpires time.Duration
	// NoMediaTimeout ends with BYE a call from which no RTP at all has
	// arrived this long after it was answered, whatever its SDP direction
	// (a receive-only or held call included), so that calls that only
	// listen cannot pile up (default 30 s). Once RTP has arrived, hold may
	// last; RTPTimeout still applies while the caller is meant to send.
	NoMediaTimeout time.Duration
	// MaxCallsPerMeeting caps the calls in one meeting (default 100); the
	// next caller gets 486 "Too many calls in meeting". Each attendee has
	// at most one call: a new INVITE with the same attendee's join token
	// replaces its call (the old one gets BYE), as a second join of an
	// attendee does in the Chime SDK (AudioJoinedFromAnotherDevice).
	MaxCallsPerMeeting int
	// Stream bounds the TCP and TLS listeners (internal/netguard): an
	// open-connection cap overall (default 1024) and per remote IP
	// (default 32), a deadline for the TLS handshake and the first message
	// (default 10 s), and an idle timeout after it, renewed by every read,
	// keep-alive CRLFs included (default 1 h: a call's SIP connection may
	// be quiet between session refreshes).
	Stream StreamConfig
	// PublicIP is the address put in the SDP c= line and the Contact.
	// Empty: the listen address when it is a specific IP, else the local
	// address that routes to the caller.
	PublicIP string
}

// StreamConfig bounds the connections of the TCP and TLS listeners; zero
// fields take their defaults.
type StreamConfig struct {
	MaxConns, MaxConnsPerIP int
	FirstMessage, Idle      time.Duration
}

// Params holds the gateway's dependencies.
type Params struct {
	// Auth verifies join tokens (required).
	Auth Auth
	// Conference attaches calls to their meeting's audio (required).
	Conference Conference
	// Log receives structured logs; nil discards them.
	Log *slog.Logger
	// Clock drives timeouts and timers; nil is the system clock.
	Clock clock.Clock
	// Registerer receives the gateway's metrics; nil registers nothing.
	Registerer prometheus.Registerer
	// OnDTMF, if set, receives every DTMF digit a caller sends (RFC 4733 or
	// SIP INFO), once per key press: 0–9, *, #, A–D. It is called from the
	// call's media goroutine or a SIP handler and must not block.
	OnDTMF func(id meeting.Identity, digit rune)
	// Panics counts panics contained in SIP request handlers, calls and
	// RTP readers (each ends only its call); nil counts nothing.
	Panics guard.Counter
	// Locator, in a cluster, finds the node hosting a call's meeting: an
	// INVITE for a meeting hosted elsewhere is handed over to that node's
	// gateway (handover.go). Nil: every meeting is local.
	Locator Locator
	// Apps, if set, takes the calls that carry no join token and match one
	// of its rules (SIP media applications, package sma).
	Apps Apps
	// FDs is the process's descriptor budget, shared by every guarded
	// listener (the TCP and TLS listeners take from it); nil: unbounded.
	FDs *netguard.Budget
}

// Trunk is where calls placed by SIP media applications go (a PBX or a
// carrier's SBC).
type Trunk struct {
	// Host is host:port (port 5060 when absent); empty: no dial-out.
	Host string
	// Transport is udp (default), tcp or tls.
	Transport string
	// Username and Password answer a digest challenge (401/407).
	Username, Password string
}

func (t Trunk) transport() string {
	switch t.Transport {
	case "tcp", "tls":
		return t.Transport
	}
	return "udp"
}

// Defaults.
const (
	defaultDialIn     = "+17035550122"
	defaultListenUDP  = "127.0.0.1:5060"
	defaultListenTCP  = "127.0.0.1:5060"
	defaultListenTLS  = "127.0.0.1:5061"
	defaultPortMin    = 16384
	defaultPortMax    = 32767
	defaultRTPTimeout = 30 * time.Second
	defaultNoMedia    = 30 * time.Second
	defaultPerMeeting = 100
	defaultStreamIdle = time.Hour
	defaultSE         = 30 * time.Minute
	minSEFloor        = 90 * time.Second // RFC 4028 §4
)

// withDefaults returns c with zero fields set to their defaults, validated.
func (c Config) withDefaults() (Config, error) {
	def := func(s *string, d string) {
		if *s == "" {
			*s = d
		}
	}
	def(&c.DialInNumber, defaultDialIn)
	def(&c.ListenUDP, defaultListenUDP)
	def(&c.ListenTCP, defaultListenTCP)
	def(&c.ListenTLS, defaultListenTLS)
	if c.RTPPortMin == 0 && c.RTPPortMax == 0 {
		c.RTPPortMin, c.RTPPortMax = defaultPortMin, defaultPortMax
	}
	if c.RTPTimeout == 0 {
		c.RTPTimeout = defaultRTPTimeout
	}
	if c.NoMediaTimeout == 0 {
		c.NoMediaTimeout = defaultNoMedia
	}
	if c.MaxCallsPerMeeting == 0 {
		c.MaxCallsPerMeeting = defaultPerMeeting
	}
	if c.Stream.Idle == 0 {
		c.Stream.Idle = defaultStreamIdle
	}
	if c.SessionExpires == 0 {
		c.SessionExpires = defaultSE
	}
	if c.MinSessionExpires == 0 {
		c.MinSessionExpires = minSEFloor
	}
	return c, c.validate()
}

func (c Config) validate() error {
	bad := func(field string, v any, want string) error {
		return fmt.Errorf("%w: %s = %v, want %s", ErrInvalidConfig, field, v, want)
	}
	for _, a := range []struct{ name, v string }{
		{"ListenUDP", c.ListenUDP}, {"ListenTCP", c.ListenTCP}, {"ListenTLS", c.ListenTLS},
	} {
		if _, _, err := net.SplitHostPort(a.v); err != nil {
			return bad(a.name, a.v, "host:port")
		}
	}
	switch {
	case !isE164(c.DialInNumber):
		return bad("DialInNumber", c.DialInNumber, "E.164 (+ and 1–15 digits)")
	case (c.CertFile == "") != (c.KeyFile == ""):
		return bad("CertFile/KeyFile", c.CertFile+"/"+c.KeyFile, "both or neither")
	case c.RTPPortMin < 1024 || c.RTPPortMax > 65535 || c.RTPPortMin+c.RTPPortMin&1+1 > c.RTPPortMax:
		return bad("RTPPortMin–RTPPortMax", fmt.Sprintf("%d–%d", c.RTPPortMin, c.RTPPortMax),
			"a range within 1024–65535 holding an even port and the next")
	case c.RTPTimeout < 100*time.Millisecond:
		return bad("RTPTimeout", c.RTPTimeout, "at least 100ms")
	case c.NoMediaTimeout < 100*time.Millisecond:
		return bad("NoMediaTimeout", c.NoMediaTimeout, "at least 100ms")
	case c.MaxCallsPerMeeting < 1:
		return bad("MaxCallsPerMeeting", c.MaxCallsPerMeeting, "at least 1")
	case c.Stream.MaxConns < 0 || c.Stream.MaxConnsPerIP < 0 || c.Stream.FirstMessage < 0 || c.Stream.Idle < 0:
		return bad("Stream", c.Stream, "no negative field")
	case c.MinSessionExpires < minSEFloor:
		return bad("MinSessionExpires", c.MinSessionExpires, "at least 90s")
	case c.SessionExpires < c.MinSessionExpires:
		return bad("SessionExpires", c.SessionExpires, "at least MinSessionExpires")
	}
	if c.PublicIP != "" {
		if _, err := netip.ParseAddr(c.PublicIP); err != nil {
			return bad("PublicIP", c.PublicIP, "an IP address")
		}
	}
	return nil
}

// isE164 reports whether s is "+" followed by 1–15 digits (ITU-T E.164).
func isE164(s string) bool {
	if len(s) < 2 || len(s) > 16 || s[0] != '+' {
		return false
	}
	for i := 1; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
