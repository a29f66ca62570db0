package turn

import (
	"encoding/binary"
	"net/netip"
	"sync"

	"github.com/confab-media/confab/turn/internal/fastpath"
)

const (
	// batchSize is how many datagrams one recvmmsg may return, and how
	// many peer → client datagrams one sendmmsg may carry.
	batchSize = 64
	// peerRead is the most datagrams read from one relayed socket per
	// readiness report, so one busy peer cannot starve the others.
	peerRead = 16
	// slotSize leaves room for the ChannelData header in front of a
	// datagram read from a peer, so it is framed in place.
	slotSize = channelDataHeader + maxDatagram
	// maxEvents is how many ready sockets one epoll_wait reports.
	maxEvents = 128
)

// engine relays the datagrams of one UDP lane's clients and of the
// allocations made on it (plus a share of the TCP lanes' allocations): one
// goroutine waits on the lane socket, every relayed socket it owns and a
// wake-up for control, in its own epoll set (fastpath.Poller), and moves
// datagrams with recvmmsg/sendto/sendmmsg (RFC 8656 §11–12):
//   - ChannelData from a client, on a channel the mirror knows → the payload
//     goes to the peer from the relayed socket;
//   - a datagram from a channel peer → ChannelData to the client, batched;
//   - anything else (STUN, Send indications, datagrams from peers that have
//     only a permission, TCP-lane traffic) is copied to the lane's or the
//     relay's inbox for pion/turn.
//
// Nothing on the data path allocates or takes a lock.
type engine struct {
	srv  *Server
	conn *laneConn // the UDP lane's socket; nil when UDP is off
	ep   *fastpath.Poller
	done chan struct{}

	mu      sync.Mutex // guards ops and stopped
	ops     []engineOp
	stopped bool

	// Owned by the engine goroutine.
	relays  map[int32]*relay          // by descriptor
	clients map[netip.AddrPort]*relay // UDP lane: allocation by client address
	in      *fastpath.RecvBatch       // client datagrams
	out     *fastpath.RecvBatch       // peer datagrams, with room for the ChannelData header
	used    int                       // slots of out holding queued or consumed datagrams
	send    *fastpath.SendBatch       // queued ChannelData to clients (sendmmsg on the lane socket)
	sendBy  []*relay                  // whose client each queued datagram goes to
	sent    func(i, n int)            // counts a datagram of send the kernel took
}

type engineOp struct {
	add, retire *relay
}

func newEngine(s *Server, c *laneConn) (*engine, error) {
	ep, err := fastpath.NewPoller(maxEvents)
	if err != nil {
		return nil, err
	}
	if c != nil {
		if err := ep.Add(c.sock.FD()); err != nil {
			_ = ep.Close()
			return nil, err
		}
	}
	e := &engine{
		srv: s, conn: c, ep: ep, done: make(chan struct{}),
		relays:  map[int32]*relay{},
		clients: map[netip.AddrPort]*relay{},
		in:      fastpath.NewRecvBatch(batchSize, slotSize, 0),
		out:     fastpath.NewRecvBatch(batchSize, slotSize, channelDataHeader),
		send:    fastpath.NewSendBatch(batchSize),
		sendBy:  make([]*relay, batchSize),
	}
	e.sent = func(i, n int) { e.sendBy[i].fromPeer.add(n - channelDataHeader) }
	return e, nil
}

// run is the engine goroutine; it returns after stop, having closed every
// socket it owns. It never blocks in a system call: fastpath.Poller parks
// it in Go's netpoller until one of its sockets is ready.
func (e *engine) run() {
	defer close(e.done)
	if err := e.ep.Run(e.pollGuarded); err != nil {
		e.srv.log.Error("turn: engine", "err", err)
	}
	e.shutdown()
}

// maxPanicsInARow bounds how often pollGuarded restarts the loop after
// panics with no clean pass between them, so a panic that recurs without
// consuming input cannot spin the engine forever.
const maxPanicsInARow = 1000

// pollGuarded is poll, continued after a panic (internal/guard): the
// datagrams of the batch being handled are dropped, the panic is counted
// and logged (rate-limited), and the loop goes on relaying for everyone
// else. The engine stops only after maxPanicsInARow panics in a row.
func (e *engine) pollGuarded() bool {
	for range maxPanicsInARow {
		stop, panicked := e.pollOnce()
		if !panicked {
			return stop
		}
	}
	e.srv.log.Error("turn: relay engine stopped after repeated panics", "panics", maxPanicsInARow)
	return true
}

func (e *engine) pollOnce() (stop, panicked bool) {
	defer func() {
		if v := recover(); v != nil {
			e.srv.contained("turn relay loop", v)
			clear(e.sendBy[:e.send.Len()])
			e.send.Reset()
			e.used = 0
			panicked = true
		}
	}()
	return e.poll(), false
}

// poll handles ready sockets until there are none (false: park until the
// epoll set is ready) or the engine must stop (true). Queued ops are
// applied before the sockets reported with them are read.
func (e *engine) poll() bool {
	for {
		fds, woken, err := e.ep.Wait()
		if err != nil {
			e.srv.log.Error("turn: epoll_wait", "err", err)
			return true
		}
		if woken && !e.control() {
			return true
		}
		if len(fds) == 0 && !woken {
			return false
		}
		for _, fd := range fds {
			if e.conn != nil && fd == int32(e.conn.sock.FD()) {
				e.readClients()
			} else if r := e.relays[fd]; r != nil {
				e.readPeers(r)
			}
		}
		e.flush()
	}
}

// readClients relays or hands on one batch from the lane socket.
func (e *engine) readClients() {
	n := e.in.Recv(e.conn.sock.FD(), 0, batchSize)
	for i := range n {
		pkt, ok := e.in.Datagram(i)
		if !ok {
			continue
		}
		if e.srv.testHook != nil {
			e.srv.testHook(pkt)
		}
		from := e.in.From(i)
		if isChannelData(pkt) && e.forward(pkt, from) {
			continue
		}
		e.conn.deliver(pkt, from)
	}
}

// forward relays ChannelData (RFC 8656 §12.6) from a client whose channel
// the mirror knows; false leaves the message to pion/turn.
func (e *engine) forward(pkt []byte, from netip.AddrPort) bool {
	size := int(binary.BigEndian.Uint16(pkt[2:4]))
	if size > len(pkt)-channelDataHeader {
		return false
	}
	r := e.clients[from]
	if r == nil {
		return false
	}
	if r.closed.Load() {
		return true // revoked: drop
	}
	peer, ok := r.peerOf(binary.BigEndian.Uint16(pkt[0:2]))
	if !ok {
		return false
	}
	sa := fastpath.SockaddrOf(peer)
	if r.sock.Send(pkt[channelDataHeader:channelDataHeader+size], &sa) == nil {
		r.toPeer.add(size)
	}
	return true
}

// readPeers reads a batch from one relayed socket (RFC 8656 §11.3).
func (e *engine) readPeers(r *relay) {
	if batchSize-e.used < peerRead {
		e.flush()
	}
	n := e.out.Recv(r.sock.FD(), e.used, e.used+peerRead)
	fast := r.out != nil
	for i := e.used; i < e.used+n; i++ {
		pkt, ok := e.out.Datagram(i)
		if !ok || r.closed.Load() {
			continue
		}
		from := e.out.From(i)
		num, bound := r.channelOf(from)
		switch {
		case bound && fast:
			e.queue(r, i, num)
		case bound || r.permitted(from.Addr()) && e.srv.permitsPeer(from):
			// A permission is per address (RFC 8656 §9); the port must
			// pass the policy too, as it did for a channel's peer.
			r.deliver(pkt, from)
		}
	}
	e.used += n
}

// queue frames slot i's datagram in place as ChannelData (RFC 8656 §12.4)
// for r's client. There are as many send entries as slots, so the queue
// cannot overflow.
func (e *engine) queue(r *relay, i int, num uint16) {
	frame := e.out.WithHeadroom(i)
	binary.BigEndian.PutUint16(frame[0:2], num)
	binary.BigEndian.PutUint16(frame[2:4], uint16(len(frame)-channelDataHeader))
	e.sendBy[e.send.Queue(frame, &r.clientSA)] = r
}

// flush sends the queued ChannelData and frees the slots.
func (e *engine) flush() {
	if n := e.send.Len(); n > 0 {
		e.send.Flush(e.conn.sock.FD(), e.sent)
		clear(e.sendBy[:n])
	}
	e.used = 0
}

// add hands a new relay to the engine; false if the engine has stopped
// (the caller still owns the socket).
func (e *engine) add(r *relay) bool { return e.submit(engineOp{add: r}) }

// retire asks the engine to stop reading r and close its socket.
func (e *engine) retire(r *relay) { e.submit(engineOp{retire: r}) }

// stop ends the engine; it closes every socket it owns.
func (e *engine) stop() {
	e.mu.Lock()
	if !e.stopped {
		e.stopped = true
		e.ep.Wake() // e.mu held: the poller is closed only after stopped is set
	}
	e.mu.Unlock()
}

func (e *engine) submit(op engineOp) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.stopped {
		return false
	}
	e.ops = append(e.ops, op)
	e.ep.Wake()
	return true
}

// control applies queued ops; false means stop.
func (e *engine) control() bool {
	e.mu.Lock()
	ops, stopped := e.ops, e.stopped
	e.ops = nil
	e.mu.Unlock()
	for _, op := range ops {
		if r := op.add; r != nil {
			if r.closed.Load() {
				_ = r.sock.Close() // revoked before the engine saw it
				continue
			}
			if err := e.ep.Add(r.sock.FD()); err != nil {
				e.srv.log.Warn("turn: epoll add", "err", err)
				_ = r.sock.Close()
				continue
			}
			e.relays[int32(r.sock.FD())] = r
			if e.conn != nil && r.out == e.conn {
				e.clients[r.client] = r
			}
		}
		if r := op.retire; r != nil {
			e.drop(r)
		}
	}
	return !stopped
}

// drop forgets r and closes its socket.
func (e *engine) drop(r *relay) {
	fd := int32(r.sock.FD())
	if e.relays[fd] != r {
		return // never added, or already dropped
	}
	_ = e.ep.Remove(r.sock.FD())
	delete(e.relays, fd)
	if e.clients[r.client] == r {
		delete(e.clients, r.client)
	}
	_ = r.sock.Close()
}

// shutdown closes every socket the engine owns, those of relays still
// queued for it included, and the poller.
func (e *engine) shutdown() {
	e.flush()
	e.mu.Lock()
	e.stopped = true
	ops := e.ops
	e.ops = nil
	e.mu.Unlock()
	for _, op := range ops {
		if op.add != nil {
			_ = op.add.sock.Close()
		}
	}
	for _, r := range e.relays {
		e.drop(r)
	}
	if e.conn != nil {
		_ = e.conn.sock.Close()
	}
	_ = e.ep.Close()
}
