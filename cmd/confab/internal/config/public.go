package config

import (
	"net"
	"net/netip"
)

// hostNet is what public_ip derivation asks of the host (a fake in tests).
type hostNet interface {
	// DefaultRouteIP is the address of the interface that holds the
	// default route.
	DefaultRouteIP() (netip.Addr, error)
	// IsLocal reports whether ip is assigned to one of this host's
	// interfaces.
	IsLocal(ip netip.Addr) bool
}

// systemNet is the real host.
type systemNet struct{}

// DefaultRouteIP asks the kernel which source address it would use
// towards a documentation address (RFC 5737): a connected UDP socket
// sends nothing.
func (systemNet) DefaultRouteIP() (netip.Addr, error) {
	c, err := net.Dial("udp4", "192.0.2.1:9")
	if err != nil {
		return netip.Addr{}, err
	}
	defer c.Close()
	ap, err := netip.ParseAddrPort(c.LocalAddr().String())
	if err != nil {
		return netip.Addr{}, err
	}
	return ap.Addr(), nil
}

func (systemNet) IsLocal(ip netip.Addr) bool {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return false
	}
	for _, a := range addrs {
		if p, err := netip.ParsePrefix(a.String()); err == nil && p.Addr() == ip {
			return true
		}
	}
	return false
}

// derivePublic resolves PublicIP ("auto": the default route's address)
// and fills the addresses it stands for that are not set. An unusable
// value is left for Validate to report.
func (c *Config) derivePublic(n hostNet) {
	if c.PublicIP == "auto" {
		ip, err := n.DefaultRouteIP()
		if err != nil || !ip.IsValid() {
			c.PublicIP = "auto (no default route)"
			return
		}
		c.PublicIP = ip.String()
	}
	ip, err := netip.ParseAddr(c.PublicIP)
	if err != nil || ip.IsUnspecified() {
		return
	}
	if c.HTTP.PublicURL == "" && len(c.HTTP.ACME.Domains) == 0 {
		if _, port, err := net.SplitHostPort(c.HTTP.Listen); err == nil {
			scheme := "http://"
			if c.HTTP.CertFile != "" {
				scheme = "https://"
			}
			c.HTTP.PublicURL = scheme + net.JoinHostPort(ip.String(), port)
		}
	}
	if len(c.Media.PublicIPs) == 0 {
		c.Media.PublicIPs = []string{ip.String()}
	}
	if c.TURN.PublicHost == "" {
		c.TURN.PublicHost = ip.String()
	}
	if c.TURN.RelayIP == "" && ip.Is4() && n.IsLocal(ip) {
		c.TURN.RelayIP = ip.String()
	}
	if c.SIP.PublicIP == "" {
		c.SIP.PublicIP = ip.String()
	}
}
