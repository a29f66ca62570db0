package turn

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
)

// pion/turn's relay: the UDP path on platforms without the fast path (and
// on Linux when a test asks for it, Params.pionRelay). One UDP socket and
// one pion/turn server serve every UDP client (Config.UDPSockets is not
// used), and each allocation's relayed socket is a plain *net.UDPConn that
// pion's own goroutines read and write through the relay, which applies
// the fast path's checks: the peer policy (address and port) on every
// datagram either way, the mirror of channels and permissions on what
// comes back, the counts, Revoke. TCP/TLS lanes, screen, credentials,
// quotas and events are the same on both paths.

// listenUDPPion binds the UDP listener and starts its pion/turn server.
func (s *Server) listenUDPPion() error {
	if s.cfg.DisableUDP {
		return nil
	}
	c, err := net.ListenUDP("udp4", net.UDPAddrFromAddrPort(netip.MustParseAddrPort(s.cfg.ListenUDP)))
	if err != nil {
		return fmt.Errorf("listen udp: %w", err)
	}
	// Best effort, as on the fast path.
	_ = c.SetReadBuffer(socketBuffer)
	_ = c.SetWriteBuffer(socketBuffer)
	return s.startUDPLane(c)
}

// allocatePion binds a relayed socket for pion/turn to read and registers
// its relay.
func (s *Server) allocatePion(l *lane, port int, p pendingAlloc) (*relay, error) {
	c, err := bindRelayPort(port, s.cfg.RelayPortMin, s.cfg.RelayPortMax, func(port uint16) (*net.UDPConn, error) {
		return net.ListenUDP("udp4", net.UDPAddrFromAddrPort(netip.AddrPortFrom(s.relayIP, port)))
	})
	if err != nil {
		return nil, err
	}
	laddr, ok := c.LocalAddr().(*net.UDPAddr)
	if !ok {
		_ = c.Close()
		return nil, fmt.Errorf("turn: relayed socket address %v", c.LocalAddr())
	}
	r := newRelay(s, l, laddr, p)
	r.pc = c
	if err := s.admit(r); err != nil {
		_ = c.Close()
		return nil, err
	}
	return r, nil
}

// readSocket is ReadFrom on pion/turn's relay. It returns the next
// datagram the engine would have relayed (RFC 8656 §11.3): from a
// channel's peer, or from a permitted address on a port the policy
// permits; it drops the rest, as pion would those without a permission.
func (r *relay) readSocket(b []byte) (int, net.Addr, error) {
	for {
		n, from, err := r.pc.ReadFromUDPAddrPort(b)
		if err != nil {
			if r.closed.Load() || errors.Is(err, net.ErrClosed) {
				return r.readerEnd()
			}
			continue // an ICMP error reported on the socket (Windows), say
		}
		from = unmapAddrPort(from)
		if _, bound := r.channelOf(from); bound || r.permitted(from.Addr()) && r.srv.permitsPeer(from) {
			r.fromPeer.add(n)
			return n, net.UDPAddrFromAddrPort(from), nil
		}
	}
}

// writeSocket sends from the relayed socket on pion/turn's behalf.
func (r *relay) writeSocket(b []byte, to netip.AddrPort) (int, error) {
	if r.closed.Load() {
		return 0, net.ErrClosed // revoked: pion has yet to drop the allocation
	}
	return r.pc.WriteToUDPAddrPort(b, to)
}
