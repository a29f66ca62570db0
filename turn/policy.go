package turn

import (
	"fmt"
	"net/netip"
	"strings"
)

// Peer is one entry of Config.AllowedPeers: the addresses in Prefix, on Port
// only (Port 0: any port). ParsePeer reads the three written forms.
type Peer struct {
	Prefix netip.Prefix
	Port   uint16
}

// ParsePeer reads "ip" (that address, any port), "ip:port" or "[ipv6]:port"
// (that socket only) and "cidr" (every address in it, any port).
func ParsePeer(s string) (Peer, error) {
	s = strings.TrimSpace(s)
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return Peer{}, err
		}
		return Peer{Prefix: unmapPrefix(p.Masked())}, nil
	}
	if ip, err := netip.ParseAddr(s); err == nil {
		ip = ip.Unmap()
		return Peer{Prefix: netip.PrefixFrom(ip, ip.BitLen())}, nil
	}
	ap, err := netip.ParseAddrPort(s)
	if err != nil {
		return Peer{}, fmt.Errorf("want ip, ip:port or CIDR: %w", err)
	}
	if ap.Port() == 0 {
		return Peer{}, fmt.Errorf("%q: port 0", s)
	}
	return PeerAt(ap), nil
}

// PeerAt is the Peer for exactly one socket address.
func PeerAt(ap netip.AddrPort) Peer {
	ip := ap.Addr().Unmap()
	return Peer{Prefix: netip.PrefixFrom(ip, ip.BitLen()), Port: ap.Port()}
}

func (p Peer) String() string {
	if !p.single() {
		return p.Prefix.String()
	}
	if p.Port == 0 {
		return p.Prefix.Addr().String()
	}
	return netip.AddrPortFrom(p.Prefix.Addr(), p.Port).String()
}

// single reports whether p names one address (not a range).
func (p Peer) single() bool { return p.Prefix.IsSingleIP() }

func (p Peer) matches(ap netip.AddrPort) bool {
	return (p.Port == 0 || p.Port == ap.Port()) && p.Prefix.Contains(ap.Addr())
}

// peerPolicy decides which peers permissions, channels, Send indications and
// relayed datagrams may name. Confab's relay exists to reach its own media
// socket, so it is closed by default: a peer must be named by an allowed
// entry (the media sockets and Config.AllowedPeers), and everything else is
// refused with 403 — including other ports of the media host, such as its
// SIP, HTTP and TURN listeners (RFC 8656 §21.3, "Server Access to
// Restricted Addresses"; §17 on not being an open relay).
//
// The order of the checks:
//  1. an entry naming one address and port (the media sockets, "ip:port"
//     entries) permits exactly that socket;
//  2. a denied socket (the server's own listeners, Config.DeniedPeers) is
//     refused, whatever wider entry covers it;
//  3. an entry naming one address ("ip") permits any port there;
//  4. a CIDR entry permits its addresses except unspecified, multicast,
//     reserved and cloud-metadata ones, and except loopback, private and
//     link-local ones unless the CIDR lies inside such a range itself (say
//     10.1.0.0/16) or AllowPrivatePeers is set (so 0.0.0.0/0 makes a
//     public relay, never one into the host's own networks).
//
// A policy is immutable; the Server swaps in a new one (atomic pointer)
// once its own listeners are bound.
type peerPolicy struct {
	allowed      []Peer
	denied       []netip.AddrPort // unspecified address: that port anywhere
	allowPrivate bool
}

func newPeerPolicy(allowed []Peer, denied []netip.AddrPort, allowPrivate bool) *peerPolicy {
	p := &peerPolicy{allowPrivate: allowPrivate}
	for _, a := range allowed {
		a.Prefix = unmapPrefix(a.Prefix.Masked())
		p.allowed = append(p.allowed, a)
	}
	for _, d := range denied {
		p.denied = append(p.denied, unmapAddrPort(d))
	}
	return p
}

// withDenied returns a copy of p that also refuses more.
func (p *peerPolicy) withDenied(more []netip.AddrPort) *peerPolicy {
	q := *p
	q.denied = append(append([]netip.AddrPort(nil), p.denied...), more...)
	for i, d := range q.denied {
		q.denied[i] = unmapAddrPort(d)
	}
	return &q
}

var (
	// refusedAlways are refused inside CIDR entries, even with
	// AllowPrivatePeers.
	refusedAlways = []netip.Prefix{
		netip.MustParsePrefix("0.0.0.0/8"),          // "this network", RFC 791
		netip.MustParsePrefix("240.0.0.0/4"),        // reserved and broadcast, RFC 1112
		netip.MustParsePrefix("169.254.169.254/32"), // cloud metadata (AWS, GCP, Azure)
		netip.MustParsePrefix("fd00:ec2::254/128"),  // AWS metadata over IPv6
	}
	// privateRanges are the loopback, private and link-local ranges a
	// CIDR entry reaches only with AllowPrivatePeers or from inside.
	privateRanges = []netip.Prefix{
		netip.MustParsePrefix("127.0.0.0/8"),    // loopback
		netip.MustParsePrefix("10.0.0.0/8"),     // RFC 1918
		netip.MustParsePrefix("172.16.0.0/12"),  // RFC 1918
		netip.MustParsePrefix("192.168.0.0/16"), // RFC 1918
		netip.MustParsePrefix("100.64.0.0/10"),  // shared address space, RFC 6598
		netip.MustParsePrefix("169.254.0.0/16"), // link-local
		netip.MustParsePrefix("::1/128"),        // loopback
		netip.MustParsePrefix("fc00::/7"),       // unique local
		netip.MustParsePrefix("fe80::/10"),      // link-local
	}
)

// permits reports whether datagrams may be relayed to (or accepted from)
// peer. It does not allocate: it runs for every Send indication and every
// datagram from a peer that has a permission but no channel.
func (p *peerPolicy) permits(peer netip.AddrPort) bool {
	peer = unmapAddrPort(peer)
	if !peer.Addr().IsValid() || peer.Port() == 0 {
		return false
	}
	for _, a := range p.allowed {
		if a.Port != 0 && a.single() && a.matches(peer) {
			return true
		}
	}
	for _, d := range p.denied {
		if d.Port() == peer.Port() && (d.Addr() == peer.Addr() || d.Addr().IsUnspecified()) {
			return false
		}
	}
	for _, a := range p.allowed {
		if a.matches(peer) && p.rangeAdmits(a, peer.Addr()) {
			return true
		}
	}
	return false
}

// permitsIP reports whether some port of ip may be a peer: pion/turn's
// PermissionHandler, which sees no port, uses it as a backstop to screen.
func (p *peerPolicy) permitsIP(ip netip.Addr) bool {
	ip = ip.Unmap()
	if !ip.IsValid() {
		return false
	}
	for _, a := range p.allowed {
		if a.Prefix.Contains(ip) && p.rangeAdmits(a, ip) {
			return true
		}
	}
	return false
}

// rangeAdmits applies rule 4 of peerPolicy to ip inside entry a.
func (p *peerPolicy) rangeAdmits(a Peer, ip netip.Addr) bool {
	if a.single() {
		return true
	}
	if ip.IsUnspecified() || ip.IsMulticast() || containsAny(refusedAlways, ip) {
		return false
	}
	if p.allowPrivate || !containsAny(privateRanges, ip) {
		return true
	}
	// A CIDR inside a private range was meant.
	for _, r := range privateRanges {
		if r.Contains(a.Prefix.Addr()) && a.Prefix.Bits() >= r.Bits() {
			return true
		}
	}
	return false
}

func containsAny(prefixes []netip.Prefix, ip netip.Addr) bool {
	for _, pr := range prefixes {
		if pr.Contains(ip) {
			return true
		}
	}
	return false
}

// unmapPrefix turns ::ffff:a.b.c.d/n into a.b.c.d/(n-96) so it matches the
// unmapped peer addresses permits compares.
func unmapPrefix(p netip.Prefix) netip.Prefix {
	if !p.Addr().Is4In6() || p.Bits() < 96 {
		return p
	}
	return netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
}

func unmapAddrPort(ap netip.AddrPort) netip.AddrPort {
	if ap.Addr().Is4In6() {
		return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	}
	return ap
}
