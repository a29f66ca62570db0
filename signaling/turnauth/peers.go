package turnauth

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"

	"github.com/confab-media/confab/turn"
)

// RelayPeers is a relay's peer policy (turn.Config AllowedPeers and
// DeniedPeers). Allowed: the media socket (MediaPeers, with local listing
// the host's addresses) and each allowedPeers entry (turn.ParsePeer).
// Denied: the listeners' addresses (ListenerPeers), refused even inside a
// wide allowed CIDR.
func RelayPeers(media net.Addr, publicIPs, allowedPeers, listeners []string, local func() ([]netip.Addr, error)) (allowed []turn.Peer, denied []netip.AddrPort, err error) {
	allowed, err = MediaPeers(media, publicIPs, local)
	if err != nil {
		return nil, nil, err
	}
	for _, p := range allowedPeers {
		peer, err := turn.ParsePeer(p)
		if err != nil {
			return nil, nil, fmt.Errorf("turn.allowed_peers: %q: %w", p, err)
		}
		allowed = append(allowed, peer)
	}
	for _, a := range listeners {
		denied = append(denied, ListenerPeers(a)...)
	}
	return allowed, denied, nil
}

// MediaPeers are the sockets relayed media may go to: the media socket
// itself, and where it is reached from outside. A concrete listen address
// gives that address and port, plus each public IP (1:1 NAT, the address
// ICE candidates advertise) with the port. A wildcard (0.0.0.0, ::) gives
// the port on every local address (loopback and each interface's, from
// local) and on each public IP, since any of them reaches the socket; no
// other port on those addresses is allowed.
func MediaPeers(media net.Addr, publicIPs []string, local func() ([]netip.Addr, error)) ([]turn.Peer, error) {
	ap, err := netip.ParseAddrPort(media.String())
	if err != nil || ap.Port() == 0 {
		return nil, fmt.Errorf("media address %v: %w", media, errors.Join(err, errors.New("want a bound ip:port")))
	}
	port := ap.Port()
	ips := []netip.Addr{ap.Addr().Unmap()}
	if ap.Addr().IsUnspecified() {
		ifs, err := local()
		if err != nil {
			return nil, fmt.Errorf("media address %v: local addresses: %w", media, err)
		}
		ips = append([]netip.Addr{netip.MustParseAddr("127.0.0.1")}, ifs...)
	}
	for _, s := range publicIPs {
		if a, err := netip.ParseAddr(s); err == nil {
			ips = append(ips, a.Unmap())
		}
	}
	var peers []turn.Peer
	seen := map[netip.Addr]bool{}
	for _, ip := range ips {
		if ip.IsValid() && !ip.IsUnspecified() && !seen[ip] {
			seen[ip] = true
			peers = append(peers, turn.PeerAt(netip.AddrPortFrom(ip, port)))
		}
	}
	return peers, nil
}

// InterfaceIPs lists the host's unicast interface addresses.
func InterfaceIPs() ([]netip.Addr, error) {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return nil, err
	}
	var ips []netip.Addr
	for _, a := range addrs {
		if p, err := netip.ParsePrefix(a.String()); err == nil && !p.Addr().IsMulticast() {
			ips = append(ips, p.Addr().Unmap())
		}
	}
	return ips, nil
}

// ListenerPeers is a configured listen address as TURN DeniedPeers: its
// ip:port, or the port on any address for a wildcard or empty host. A port
// of 0 (picked at start) gives none: such a listener is still refused by
// default, as no allowed entry names it, but not inside a wide
// allowed_peers CIDR.
func ListenerPeers(listen string) []netip.AddrPort {
	host, p, err := net.SplitHostPort(listen)
	if err != nil {
		return nil
	}
	port, err := strconv.ParseUint(p, 10, 16)
	if err != nil || port == 0 {
		return nil
	}
	ip, err := netip.ParseAddr(host)
	if err != nil || ip.IsUnspecified() {
		ip = netip.IPv4Unspecified()
	}
	return []netip.AddrPort{netip.AddrPortFrom(ip.Unmap(), uint16(port))}
}
