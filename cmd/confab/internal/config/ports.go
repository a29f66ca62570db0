package config

import (
	"fmt"
	"net"
	"net/netip"
	"strconv"
)

// listener is one configured socket: the key naming it, its protocol, host
// and port.
type listener struct {
	key, proto string
	host       netip.Addr // zero: every address
	port       int
}

// portRange is a configured range of UDP ports.
type portRange struct {
	key      string
	min, max int
}

// listeners returns the fixed-port sockets the configuration opens (port
// 0, "any free port", never collides and is left out).
func (c Config) fixedListeners() []listener {
	var out []listener
	add := func(key, proto, addr string) {
		host, p, err := net.SplitHostPort(addr)
		if err != nil {
			return // reported by the key's own check
		}
		port, err := strconv.Atoi(p)
		if err != nil || port == 0 {
			return
		}
		l := listener{key: key, proto: proto, port: port}
		if a, err := netip.ParseAddr(host); err == nil && !a.IsUnspecified() {
			l.host = a
		} else if host == "localhost" {
			l.host = netip.MustParseAddr("127.0.0.1")
		}
		out = append(out, l)
	}
	add("http.listen", "tcp", c.HTTP.Listen)
	if c.HTTP.MetricsListen != "" {
		add("http.metrics_listen", "tcp", c.HTTP.MetricsListen)
	}
	add("media.udp_listen", "udp", c.Media.UDPListen)
	if t := c.TURN; t.Enabled {
		add("turn.listen_udp", "udp", t.ListenUDP)
		if t.ListenTCP != "" {
			add("turn.listen_tcp", "tcp", t.ListenTCP)
		} else {
			add("turn.listen_tcp (= listen_udp)", "tcp", t.ListenUDP)
		}
		if t.CertFile != "" && t.ListenTLS != "" {
			add("turn.listen_tls", "tcp", t.ListenTLS)
		}
	}
	if s := c.SIP; s.Enabled {
		add("sip.listen_udp", "udp", s.ListenUDP)
		add("sip.listen_tcp", "tcp", s.ListenTCP)
		add("sip.listen_tls", "tcp", s.ListenTLS)
	}
	return out
}

// udpRanges returns the UDP port ranges the configuration hands out.
func (c Config) udpRanges() []portRange {
	var out []portRange
	if c.TURN.Enabled {
		out = append(out, portRange{"turn.relay_port_min–max", c.TURN.RelayPortMin, c.TURN.RelayPortMax})
	}
	if c.SIP.Enabled {
		out = append(out, portRange{"sip.rtp_port_min–max", c.SIP.RTPPortMin, c.SIP.RTPPortMax})
	}
	return out
}

// checkPorts reports sockets that would take the same port (same protocol,
// overlapping addresses: the second fails to bind) and port ranges that
// overlap (the TURN relay and SIP RTP allocators would take turns on each
// other's ports). A listener inside a range is allowed: the allocators
// skip ports in use.
func (c Config) checkPorts(v *validator) {
	ls := c.fixedListeners()
	for i, a := range ls {
		for _, b := range ls[:i] {
			if a.proto == b.proto && a.port == b.port && (!a.host.IsValid() || !b.host.IsValid() || a.host == b.host) {
				v.add(a.key, "%s port %d is also %s's", a.proto, a.port, b.key)
			}
		}
	}
	rs := c.udpRanges()
	for i, a := range rs {
		for _, b := range rs[:i] {
			if a.min <= b.max && b.min <= a.max {
				v.add(a.key, "%s", fmt.Sprintf("%d–%d overlaps %s (%d–%d)", a.min, a.max, b.key, b.min, b.max))
			}
		}
	}
}
