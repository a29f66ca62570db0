//go:build linux

package turn

import (
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// channelDataHeader is the 4-byte ChannelData header (RFC 8656 §12.4).
const channelDataHeader = 4

// binding mirrors one of pion/turn's channel bindings (RFC 8656 §12).
type binding struct {
	number uint16
	peer   netip.AddrPort
}

// relay is one allocation's relayed transport address: the net.PacketConn
// Confab hands pion/turn for it. Its socket belongs to an engine, which
// relays channel traffic itself using the relay's mirror of the
// allocation's channels and permissions (fed by pion's events, events.go),
// and queues the rest in the relay's inbox for pion. Closing it ends the
// allocation (Server.Revoke).
type relay struct {
	srv      *Server
	lane     *lane
	eng      *engine
	sock     *udpSocket
	addr     netip.AddrPort        // the relayed transport address
	client   netip.AddrPort        // the client's address on lane
	clientSA unix.RawSockaddrInet4 // client, for sendmmsg
	attendee string

	mu    sync.Mutex                   // serialises writers of binds and perms
	binds atomic.Pointer[[]binding]    // copy-on-write: read per datagram
	perms atomic.Pointer[[]netip.Addr] // copy-on-write

	inbox      chan *packet  // datagrams from permitted peers, for pion
	done       chan struct{} // closed by Close
	closed     atomic.Bool
	readerGone sync.Once

	toPeer   counter // client → peer
	fromPeer counter // peer → client
}

func newRelay(s *Server, l *lane, eng *engine, sock *udpSocket, p pendingAlloc) *relay {
	r := &relay{
		srv: s, lane: l, eng: eng, sock: sock,
		addr:     sock.laddr.AddrPort(),
		client:   p.client,
		attendee: p.attendee,
		inbox:    make(chan *packet, inboxSize),
		done:     make(chan struct{}),
	}
	if p.client.Addr().Is4() {
		r.clientSA = rawSockaddr4(p.client) // a UDP lane's client; TCP ones are not sent to by the engine
	}
	return r
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
	select {
	case p := <-r.inbox:
		n := copy(b, p.buf[:p.n])
		addr := net.UDPAddrFromAddrPort(p.from)
		r.srv.packets.Put(p)
		return n, addr, nil
	case <-r.done:
		r.lane.busy.Lock() // see lane.busy
		r.lane.busy.Unlock()
		r.readerGone.Do(r.srv.readers.Done)
		return 0, nil, net.ErrClosed
	}
}

// WriteTo is pion/turn relaying a Send indication or ChannelData the engine
// left to it. pion checks only the peer's address against its permissions
// (RFC 8656 §9), so the port is checked here: a permission for the media
// socket's address must not reach the SIP or HTTP port on it.
func (r *relay) WriteTo(b []byte, addr net.Addr) (int, error) {
	if !r.srv.permitsPeer(addrPortOf(addr)) {
		r.srv.refuse(reasonForbiddenPeer, r.attendee, addr)
		return 0, errForbiddenPeer
	}
	n, err := r.sock.writeTo(b, addr)
	if err == nil {
		r.toPeer.add(n)
	}
	return n, err
}

// Close ends relaying for this allocation at once: the engine drops its
// datagrams and closes the socket, and pion/turn's reader gets an error and
// deletes the allocation. It is idempotent.
func (r *relay) Close() error {
	if !r.closed.CompareAndSwap(false, true) {
		return nil
	}
	close(r.done)
	r.srv.release(r)
	r.eng.retire(r)
	return nil
}

func (r *relay) LocalAddr() net.Addr { return r.sock.laddr }

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
