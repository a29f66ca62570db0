package turn

import "net/netip"

// peerPolicy decides which peers permissions and channels may target, so the
// relay cannot be used to reach the host's or the cloud's private services
// (RFC 8656 §21.3, "Server Access to Restricted Addresses").
type peerPolicy struct {
	allowed      []netip.Prefix
	allowPrivate bool
}

func newPeerPolicy(allowed []netip.Prefix, allowPrivate bool) peerPolicy {
	p := peerPolicy{allowPrivate: allowPrivate}
	for _, pr := range allowed {
		p.allowed = append(p.allowed, unmapPrefix(pr.Masked()))
	}
	return p
}

var (
	// refusedAlways are refused even with AllowPrivatePeers.
	refusedAlways = []netip.Prefix{
		netip.MustParsePrefix("0.0.0.0/8"),          // "this network", RFC 791
		netip.MustParsePrefix("240.0.0.0/4"),        // reserved and broadcast, RFC 1112
		netip.MustParsePrefix("169.254.169.254/32"), // cloud metadata (AWS, GCP, Azure)
		netip.MustParsePrefix("fd00:ec2::254/128"),  // AWS metadata over IPv6
	}
	// privateExtra are private ranges netip.Addr.IsPrivate does not cover.
	privateExtra = []netip.Prefix{
		netip.MustParsePrefix("100.64.0.0/10"), // shared address space, RFC 6598
	}
)

// permits reports whether ip may be a peer.
func (p peerPolicy) permits(ip netip.Addr) bool {
	ip = ip.Unmap()
	if !ip.IsValid() {
		return false
	}
	if containsAny(p.allowed, ip) {
		return true
	}
	if ip.IsUnspecified() || ip.IsMulticast() || containsAny(refusedAlways, ip) {
		return false
	}
	if ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || containsAny(privateExtra, ip) {
		return p.allowPrivate
	}
	return true
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
