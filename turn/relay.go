package turn

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// channelDataHeader is the 4-byte ChannelData header (RFC 8656 §12.4).
const channelDataHeader = 4

// binding mirrors one of pion/turn's channel bindings (RFC 8656 §12).
type binding struct {
	number uint16
	peer   netip.AddrPort
}

// relay is one allocation's relayed transport address: the net.PacketConn
// Confab hands pion/turn for it. It keeps a mirror of the allocation's
// channels and permissions (fed by pion's events, events.go) and counts
// what is relayed. Closing it ends the allocation (Server.Revoke).
//
// On the fast path its socket belongs to an engine, which relays channel
// traffic itself using the mirror and queues the rest in inbox for pion.
// On pion/turn's relay (pc set) pion reads and writes the socket through
// the relay, which applies the same checks (pion.go).
type relay struct {
	srv  *Server
	lane *lane
	relayFast
	pc       *net.UDPConn   // pion/turn's relay: the relayed socket; nil on the fast path
	laddr    *net.UDPAddr   // the relayed transport address
	addr     netip.AddrPort // the same
	client   netip.AddrPort // the client's address on lane
	attendee string

	mu    sync.Mutex                   // serialises writers of binds and perms
	binds atomic.Pointer[[]binding]    // copy-on-write: read per datagram
	perms atomic.Pointer[[]netip.Addr] // copy-on-write

	inbox      chan *packet  // fast path: datagrams from permitted peers, for pion
	done       chan struct{} // closed by Close
	closed     atomic.Bool
	readerGone sync.Once

	toPeer   counter // client → peer
	fromPeer counter // peer → client
}

var _ net.PacketConn = (*relay)(nil)

func newRelay(s *Server, l *lane, laddr *net.UDPAddr, p pendingAlloc) *relay {
	return &relay{
		srv: s, lane: l,
		laddr:    laddr,
		addr:     unmapAddrPort(laddr.AddrPort()),
		client:   p.client,
		attendee: p.attendee,
		done:     make(chan struct{}),
	}
}

// deliver queues a datagram from a peer for pion/turn (a Data indication,
// or ChannelData over TCP); called by the engine.
func (r *relay) deliver(pkt []byte, from netip.AddrPort) {
	p := r.srv.getPacket()
	n := copy(p.buf[:], pkt)
	p.n, p.from = n, from
	select {
	case r.inbox <- p: // p is the reader's now
		r.fromPeer.add(n)
	default:
		r.srv.packets.Put(p)
	}
}

// ReadFrom is called in a loop by the allocation's pion/turn goroutine.
func (r *relay) ReadFrom(b []byte) (int, net.Addr, error) {
	if r.pc != nil {
		return r.readSocket(b)
	}
	select {
	case p := <-r.inbox:
		n := copy(b, p.buf[:p.n])
		addr := net.UDPAddrFromAddrPort(p.from)
		r.srv.packets.Put(p)
		return n, addr, nil
	case <-r.done:
		return r.readerEnd()
	}
}

// readerEnd is ReadFrom's last answer, once the relay is closed.
func (r *relay) readerEnd() (int, net.Addr, error) {
	r.lane.busy.Lock() // see lane.busy
	//lint:ignore SA2001 the empty section waits for the lane to be idle
	r.lane.busy.Unlock()
	r.readerGone.Do(r.srv.readers.Done)
	return 0, nil, net.ErrClosed
}

// WriteTo is pion/turn relaying a Send indication or ChannelData (on the
// fast path, what the engine left to it). pion checks only the peer's
// address against its permissions (RFC 8656 §9), so the port is checked
// here: a permission for the media socket's address must not reach the
// SIP or HTTP port on it.
func (r *relay) WriteTo(b []byte, addr net.Addr) (int, error) {
	to := addrPortOf(addr)
	if !r.srv.permitsPeer(to) {
		r.srv.refuse(reasonForbiddenPeer, r.attendee, addr)
		return 0, errForbiddenPeer
	}
	var (
		n   int
		err error
	)
	if r.pc != nil {
		n, err = r.writeSocket(b, to)
	} else {
		n, err = r.writeFast(b, to)
	}
	if err == nil {
		r.toPeer.add(n)
	}
	return n, err
}

// Close ends relaying for this allocation at once: the socket closes (on
// the fast path its engine drops its datagrams and closes it), and
// pion/turn's reader gets an error and deletes the allocation. It is
// idempotent.
func (r *relay) Close() error {
	if !r.closed.CompareAndSwap(false, true) {
		return nil
	}
	close(r.done)
	r.srv.release(r)
	if r.pc != nil {
		_ = r.pc.Close()
	} else {
		r.retireFast()
	}
	return nil
}

func (r *relay) LocalAddr() net.Addr { return r.laddr }

// Deadlines are not used by pion/turn's server.
func (r *relay) SetDeadline(time.Time) error      { return nil }
func (r *relay) SetReadDeadline(time.Time) error  { return nil }
func (r *relay) SetWriteDeadline(time.Time) error { return nil }

func (r *relay) channelOf(peer netip.AddrPort) (uint16, bool) {
	if bs := r.binds.Load(); bs != nil {
		for _, b := range *bs {
			if b.peer == peer {
				return b.number, true
			}
		}
	}
	return 0, false
}

func (r *relay) peerOf(num uint16) (netip.AddrPort, bool) {
	if bs := r.binds.Load(); bs != nil {
		for _, b := range *bs {
			if b.number == num {
				return b.peer, true
			}
		}
	}
	return netip.AddrPort{}, false
}

func (r *relay) permitted(ip netip.Addr) bool {
	if ps := r.perms.Load(); ps != nil {
		for _, p := range *ps {
			if p == ip {
				return true
			}
		}
	}
	return false
}

func (r *relay) bind(num uint16, peer netip.AddrPort) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var next []binding
	if bs := r.binds.Load(); bs != nil {
		for _, b := range *bs {
			if b.number != num && b.peer != peer {
				next = append(next, b)
			}
		}
	}
	next = append(next, binding{number: num, peer: peer})
	r.binds.Store(&next)
}

func (r *relay) unbind(num uint16) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var next []binding
	if bs := r.binds.Load(); bs != nil {
		for _, b := range *bs {
			if b.number != num {
				next = append(next, b)
			}
		}
	}
	r.binds.Store(&next)
}

func (r *relay) permit(ip netip.Addr) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var next []netip.Addr
	if ps := r.perms.Load(); ps != nil {
		next = append(next, *ps...)
	}
	for _, p := range next {
		if p == ip {
			return
		}
	}
	next = append(next, ip)
	r.perms.Store(&next)
}

func (r *relay) unpermit(ip netip.Addr) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var next []netip.Addr
	if ps := r.perms.Load(); ps != nil {
		for _, p := range *ps {
			if p != ip {
				next = append(next, p)
			}
		}
	}
	r.perms.Store(&next)
}

// addrPortOf converts the *net.UDPAddr / *net.TCPAddr pion/turn passes
// around.
func addrPortOf(a net.Addr) netip.AddrPort {
	switch a := a.(type) {
	case *net.UDPAddr:
		return unmapAddrPort(a.AddrPort())
	case *net.TCPAddr:
		return unmapAddrPort(a.AddrPort())
	}
	return netip.AddrPort{}
}

// bindRelayPort binds a relayed transport address (RFC 8656 §7.2) with
// bind: port if non-zero (EVEN-PORT), else a free port in [lo, hi] from a
// random start, trying at most 64.
func bindRelayPort[C any](port int, lo, hi uint16, bind func(port uint16) (C, error)) (C, error) {
	if port != 0 {
		return bind(uint16(port))
	}
	span := int(hi) - int(lo) + 1
	start := rand.IntN(span)
	var (
		c   C
		err error
	)
	for i := range min(span, 64) {
		if c, err = bind(lo + uint16((start+i)%span)); err == nil {
			return c, nil
		}
		if !addrInUse(err) {
			return c, err
		}
	}
	return c, fmt.Errorf("no free relay port in %d-%d: %w", lo, hi, err)
}

// addrInUse reports whether a bind failed because the port is taken.
// Windows says so with WSAEADDRINUSE (10048), which syscall.EADDRINUSE
// does not match there.
func addrInUse(err error) bool {
	var errno syscall.Errno
	if !errors.As(err, &errno) {
		return false
	}
	return errno == syscall.EADDRINUSE || runtime.GOOS == "windows" && errno == 10048
}
