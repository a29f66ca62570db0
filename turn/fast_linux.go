package turn

import (
	"fmt"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/confab-media/confab/turn/internal/fastpath"
)

// The fast UDP path (Linux): the UDP port is a SO_REUSEPORT group of
// fastpath sockets, each read by an engine (engine_linux.go) that relays
// bound ChannelData itself and hands everything else to the lane's
// pion/turn server through laneConn, and relayed sockets are fastpath
// sockets in those engines.

// haveFastPath says whether New relays UDP with engines here.
const haveFastPath = true

// serverFast is the Server's part of the fast path.
type serverFast struct {
	engines    []*engine // one per UDP socket; fixed after New
	nextEngine int       // Server.mu; round robin for TCP/TLS lanes' relays
}

// relayFast is a relay's part of the fast path; zero on pion/turn's relay.
type relayFast struct {
	eng  *engine
	sock *fastpath.Socket // the relayed socket, eng's
	// out is the client's UDP lane when it has one: the engine then sends
	// it ChannelData itself. Nil for a TCP/TLS client.
	out      *laneConn
	clientSA fastpath.Sockaddr4 // the client, for sendmmsg
}

// listenUDPFast binds the SO_REUSEPORT group (port 0: the first socket
// picks it) and gives each socket an engine and a lane. With UDP off the
// engines still run, for the relays of TCP/TLS allocations.
func (s *Server) listenUDPFast() error {
	ap := netip.MustParseAddrPort(s.cfg.ListenUDP)
	for i := range s.cfg.UDPSockets {
		var c *laneConn
		if !s.cfg.DisableUDP {
			sock, err := fastpath.Open(ap, fastpath.Options{ReusePort: true, Buffer: socketBuffer})
			if err != nil {
				return fmt.Errorf("listen udp: %w", err)
			}
			if i == 0 {
				ap = sock.LocalAddr().AddrPort()
			}
			c = &laneConn{srv: s, sock: sock, inbox: make(chan *packet, inboxSize), done: make(chan struct{})}
		}
		eng, err := newEngine(s, c)
		if err != nil {
			if c != nil {
				_ = c.sock.Close()
			}
			return fmt.Errorf("engine: %w", err)
		}
		s.engines = append(s.engines, eng)
		s.workers.Add(1)
		go func() {
			defer s.workers.Done()
			eng.run()
		}()
		if c != nil {
			c.eng = eng
			if err := s.startUDPLane(c); err != nil {
				return err
			}
		}
	}
	return nil
}

// stopEngines ends the engines; they close their sockets.
func (s *Server) stopEngines() {
	for _, e := range s.engines {
		e.stop()
	}
}

// allocateFast binds a relayed socket for an engine and registers its
// relay.
func (s *Server) allocateFast(l *lane, port int, p pendingAlloc) (*relay, error) {
	sock, err := bindRelayPort(port, s.cfg.RelayPortMin, s.cfg.RelayPortMax, func(port uint16) (*fastpath.Socket, error) {
		return fastpath.Open(netip.AddrPortFrom(s.relayIP, port), fastpath.Options{})
	})
	if err != nil {
		return nil, err
	}
	r := newRelay(s, l, sock.LocalAddr(), p)
	r.sock = sock
	r.inbox = make(chan *packet, inboxSize)
	r.out, _ = l.pc.(*laneConn)
	if p.client.Addr().Is4() {
		r.clientSA = fastpath.SockaddrOf(p.client) // a UDP lane's client; TCP ones are not sent to by the engine
	}
	if err := s.admit(r); err != nil {
		_ = sock.Close()
		return nil, err
	}
	return r, nil
}

// toEngineLocked hands r to an engine: its UDP lane's, else the next in
// turn. False if the engines have stopped. s.mu held, so r's retirement
// (Revoke, Close) is always queued after it.
func (s *Server) toEngineLocked(r *relay) bool {
	if r.out != nil {
		r.eng = r.out.eng
	} else {
		r.eng = s.engines[s.nextEngine%len(s.engines)]
		s.nextEngine++
	}
	return r.eng.add(r)
}

// writeFast sends from the relayed socket on pion/turn's behalf.
func (r *relay) writeFast(b []byte, to netip.AddrPort) (int, error) { return r.sock.WriteTo(b, to) }

// retireFast has the engine drop r and close its socket.
func (r *relay) retireFast() { r.eng.retire(r) }

// laneConn is a fast UDP lane's net.PacketConn, what its pion/turn server
// reads and answers on: what the engine leaves to pion arrives in inbox,
// and pion's answers leave by the socket, which is the engine's to close.
type laneConn struct {
	srv   *Server
	sock  *fastpath.Socket
	eng   *engine
	inbox chan *packet  // datagrams for pion/turn
	done  chan struct{} // closed by Close
	once  sync.Once
}

var _ net.PacketConn = (*laneConn)(nil)

// deliver queues a datagram for pion/turn; called by the engine.
func (c *laneConn) deliver(pkt []byte, from netip.AddrPort) {
	p := c.srv.getPacket()
	p.n = copy(p.buf[:], pkt)
	p.from = from
	select {
	case c.inbox <- p:
	default:
		c.srv.packets.Put(p)
	}
}

func (c *laneConn) ReadFrom(b []byte) (int, net.Addr, error) {
	select {
	case p := <-c.inbox:
		n := copy(b, p.buf[:p.n])
		addr := net.UDPAddrFromAddrPort(p.from)
		c.srv.packets.Put(p)
		return n, addr, nil
	case <-c.done:
		return 0, nil, net.ErrClosed
	}
}

func (c *laneConn) WriteTo(b []byte, addr net.Addr) (int, error) {
	return c.sock.WriteTo(b, addrPortOf(addr))
}

// Close ends the reader; the socket is the engine's to close.
func (c *laneConn) Close() error {
	c.once.Do(func() { close(c.done) })
	return nil
}

func (c *laneConn) LocalAddr() net.Addr { return c.sock.LocalAddr() }

// Deadlines are not used by pion/turn's server, and not supported.
func (c *laneConn) SetDeadline(time.Time) error      { return nil }
func (c *laneConn) SetReadDeadline(time.Time) error  { return nil }
func (c *laneConn) SetWriteDeadline(time.Time) error { return nil }
