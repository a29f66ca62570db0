package turn

import (
	"errors"
	"net"
	"net/netip"
	"sync"
	"time"

	pionturn "github.com/pion/turn/v4"
)

// lane is one socket clients talk to — the UDP socket (one of the
// SO_REUSEPORT group on the fast path), or one accepted TCP/TLS connection —
// with its own pion/turn server (so its own reader goroutine and allocation
// table). It is the net.PacketConn that server reads and answers on.
//
// On the fast path a UDP lane's socket belongs to its engine, which relays
// bound ChannelData itself and hands everything else to pc (laneConn);
// otherwise pion/turn reads pc, a plain UDP socket or pion's STUNConn over
// a TCP/TLS stream, directly. Either way, control requests pass screen
// (screen.go) before pion sees them.
//
// A client always reaches the same lane (the kernel hashes its address to
// one socket of the group; a connection is a lane), so pion's per-lane
// state is all it needs.
type lane struct {
	srv  *Server
	pc   net.PacketConn // what pion/turn reads and answers on
	udp  bool           // a UDP lane: read errors other than net.ErrClosed pass
	pion *pionturn.Server

	// pending is the allocation the lane's reader is creating: set by
	// quota, consumed by the relay generator, cleared before each read.
	// Only the lane's pion reader goroutine touches it.
	pending pendingAlloc

	// busy is held by the lane's pion reader from the return of ReadFrom
	// to its next call, i.e. while pion handles a message. A relay's
	// pion goroutine takes it once when the relay closes (relay.ReadFrom),
	// so everything pion did on the reader (starting a permission's
	// timer, say) happens before it closes the allocation (pion/turn
	// v4.1.4 starts that timer after releasing its own lock). handling
	// (reader only) says whether the reader holds busy.
	busy     sync.Mutex
	handling bool

	closeOnce  sync.Once
	readerGone sync.Once
	onGone     func() // run once the reader has had its last datagram
}

var _ net.PacketConn = (*lane)(nil)

// pendingAlloc is what Allocate's quota check learnt for the generator.
type pendingAlloc struct {
	attendee string
	client   netip.AddrPort
}

// inboxSize bounds the datagrams queued for one pion/turn reader on the
// fast path; past it they are dropped, as a full socket buffer would.
const inboxSize = 256

func newStreamLane(s *Server, c net.Conn) *lane {
	return &lane{srv: s, pc: pionturn.NewSTUNConn(c)}
}

// startUDPLane serves pion/turn on a UDP socket (pc).
func (s *Server) startUDPLane(pc net.PacketConn) error {
	l := &lane{srv: s, pc: pc, udp: true, onGone: s.readers.Done}
	s.readers.Add(1)
	s.udp = append(s.udp, l)
	if err := l.start(); err != nil {
		l.readerDone() // no reader will come
		return err
	}
	return nil
}

// start creates the lane's pion/turn server, which starts reading.
func (l *lane) start() error {
	srv, err := pionturn.NewServer(pionturn.ServerConfig{
		Realm:         l.srv.cfg.Realm,
		AuthHandler:   l.srv.authKey,
		QuotaHandler:  l.quota,
		EventHandler:  l.srv.events(),
		LoggerFactory: l.srv.pionLogs,
		PacketConnConfigs: []pionturn.PacketConnConfig{{
			PacketConn:            l,
			RelayAddressGenerator: relayGenerator{l},
			PermissionHandler:     l.srv.permitPeer,
		}},
	})
	l.pion = srv
	return err
}

// ReadFrom returns the next datagram pion/turn must handle.
func (l *lane) ReadFrom(b []byte) (int, net.Addr, error) {
	l.pending = pendingAlloc{}
	if l.handling {
		l.handling = false
		l.busy.Unlock()
	}
	for {
		n, addr, err := l.pc.ReadFrom(b)
		if err != nil {
			if l.udp && !errors.Is(err, net.ErrClosed) {
				// An ICMP error reported on the socket (Windows), say: the
				// UDP port stays open for every other client.
				continue
			}
			l.readerDone()
			return 0, nil, err
		}
		if !l.srv.screen(l, b[:n], addr) {
			l.busy.Lock()
			l.handling = true
			return n, addr, nil
		}
	}
}

// quota is pion/turn's QuotaHandler (RFC 8656 §7.2 step 7): 486 when a cap is
// reached. It runs on the lane's reader right before the allocation is
// created, and tells the generator whose it is.
func (l *lane) quota(username, _ string, src net.Addr) (ok bool) {
	defer l.srv.recoverCallback("turn quota handler", func() { ok = false })
	_, attendee, _ := parseUsername(username)
	if why := l.srv.capReached(attendee); why != reasonNone {
		l.srv.refuse(why, attendee, src)
		return false
	}
	l.pending = pendingAlloc{attendee: attendee, client: addrPortOf(src)}
	return true
}

func (l *lane) readerDone() {
	l.readerGone.Do(func() {
		_ = l.Close() // a TCP/TLS lane ends with its stream
		l.onGone()
	})
}

// WriteTo sends pion/turn's responses and indications to the client.
func (l *lane) WriteTo(b []byte, addr net.Addr) (int, error) { return l.pc.WriteTo(b, addr) }

// Close ends the lane's reader. A fast UDP lane's socket is its engine's to
// close.
func (l *lane) Close() error {
	var err error
	l.closeOnce.Do(func() { err = l.pc.Close() })
	return err
}

func (l *lane) LocalAddr() net.Addr { return l.pc.LocalAddr() }

// Deadlines are not used by pion/turn's server.
func (l *lane) SetDeadline(t time.Time) error      { return l.pc.SetDeadline(t) }
func (l *lane) SetReadDeadline(t time.Time) error  { return l.pc.SetReadDeadline(t) }
func (l *lane) SetWriteDeadline(t time.Time) error { return l.pc.SetWriteDeadline(t) }

// isChannelData reports whether pkt starts like ChannelData: first two bits
// 01 (RFC 8656 §12.4; STUN messages start with 00).
func isChannelData(pkt []byte) bool {
	return len(pkt) >= channelDataHeader && pkt[0]&0xC0 == 0x40
}

// packet is a datagram handed from an engine to a pion/turn reader.
type packet struct {
	buf  [maxDatagram]byte
	n    int
	from netip.AddrPort
}

// maxDatagram is the largest datagram relayed on the fast path; longer ones
// are dropped. pion/turn's own buffers are 1600 bytes.
const maxDatagram = 1600

// relayGenerator is the lane's pion/turn RelayAddressGenerator.
type relayGenerator struct{ l *lane }

func (relayGenerator) Validate() error { return nil }

// AllocatePacketConn binds a relayed transport address. Called for the
// allocation being created (after quota, pending set) it registers a relay
// for that attendee; called by pion's EVEN-PORT probe (pending empty) it
// returns a plain socket, which pion closes at once.
func (g relayGenerator) AllocatePacketConn(_ string, port int) (pc net.PacketConn, addr net.Addr, err error) {
	defer g.l.srv.recoverCallback("turn relay generator", func() { pc, addr, err = nil, nil, ErrQuota })
	p := g.l.pending
	g.l.pending = pendingAlloc{}
	s := g.l.srv
	if p.attendee == "" {
		c, err := net.ListenUDP("udp4", net.UDPAddrFromAddrPort(netip.AddrPortFrom(s.relayIP, uint16(port))))
		if err != nil {
			return nil, nil, err
		}
		return c, c.LocalAddr(), nil
	}
	var r *relay
	if s.fast {
		r, err = s.allocateFast(g.l, port, p)
	} else {
		r, err = s.allocatePion(g.l, port, p)
	}
	if err != nil {
		return nil, nil, err
	}
	return r, r.LocalAddr(), nil
}

func (relayGenerator) AllocateConn(string, int) (net.Conn, net.Addr, error) {
	return nil, nil, ErrTCPRelay
}
