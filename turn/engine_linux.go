package turn

import (
	"encoding/binary"
	"errors"
	"net/netip"
	"os"
	"sync"
	"unsafe"

	"golang.org/x/sys/unix"
)

const (
	// batchSize is how many datagrams one recvmmsg may return, and how
	// many peer → client datagrams one sendmmsg may carry.
	batchSize = 64
	// peerRead is the most datagrams read from one relayed socket per
	// readiness report, so one busy peer cannot starve the others.
	peerRead = 16
	// maxDatagram is the largest datagram relayed; longer ones are
	// dropped. pion/turn's own buffers are 1600 bytes.
	maxDatagram = 1600
	// slotSize leaves room for the ChannelData header in front of a
	// datagram read from a peer, so it is framed in place.
	slotSize = channelDataHeader + maxDatagram
)

// engine relays the datagrams of one UDP lane's clients and of the
// allocations made on it (plus a share of the TCP lanes' allocations): one
// goroutine waits in epoll_wait(2) on the lane socket, every relayed socket
// it owns and an eventfd for control, and moves datagrams with
// recvmmsg/sendto/sendmmsg (RFC 8656 §11–12):
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
	lane *lane // nil when UDP is off
	epfd int
	wake int // eventfd: ops queued or stop
	done chan struct{}

	mu      sync.Mutex // guards ops and stopped
	ops     []engineOp
	stopped bool

	// Owned by the engine goroutine.
	relays  map[int32]*relay          // by descriptor
	clients map[netip.AddrPort]*relay // UDP lane: allocation by client address
	events  []unix.EpollEvent
	in      *msgBatch // client datagrams
	out     *msgBatch // peer datagrams
	used    int       // slots of out holding queued or consumed datagrams
	send    []mmsghdr // queued ChannelData to clients (sendmmsg on the lane socket)
	sendIov []unix.Iovec
	sendBy  []*relay // whose client each queued datagram goes to
	nsend   int
}

type engineOp struct {
	add, retire *relay
}

// msgBatch is a set of slots recvmmsg fills.
type msgBatch struct {
	bufs  []byte
	names []unix.RawSockaddrInet4
	iovs  []unix.Iovec
	msgs  []mmsghdr
	off   int // where in a slot the datagram goes
}

func newMsgBatch(n, off int) *msgBatch {
	b := &msgBatch{
		bufs:  make([]byte, n*slotSize),
		names: make([]unix.RawSockaddrInet4, n),
		iovs:  make([]unix.Iovec, n),
		msgs:  make([]mmsghdr, n),
		off:   off,
	}
	for i := range n {
		b.iovs[i].Base = &b.bufs[i*slotSize+off]
		b.iovs[i].SetLen(slotSize - off)
		b.msgs[i].hdr.Name = (*byte)(unsafe.Pointer(&b.names[i]))
		b.msgs[i].hdr.Iov = &b.iovs[i]
		b.msgs[i].hdr.SetIovlen(1)
	}
	return b
}

// recv reads up to len(slots) datagrams into slots [from, to).
func (b *msgBatch) recv(fd, from, to int) int {
	for i := from; i < to; i++ {
		b.msgs[i].hdr.Namelen = unix.SizeofSockaddrInet4
		b.msgs[i].hdr.Flags = 0
	}
	n, err := recvmmsg(fd, b.msgs[from:to])
	if err != nil {
		return 0 // EAGAIN after a spurious wakeup, or a pending error: nothing to relay
	}
	return n
}

// datagram returns slot i's datagram, false if it was truncated.
func (b *msgBatch) datagram(i int) ([]byte, bool) {
	m := &b.msgs[i]
	if m.hdr.Flags&unix.MSG_TRUNC != 0 {
		return nil, false
	}
	start := i*slotSize + b.off
	return b.bufs[start : start+int(m.n)], true
}

func newEngine(s *Server, l *lane) (*engine, error) {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, err
	}
	if err := unix.SetNonblock(epfd, true); err != nil { // so os.NewFile hands it to the netpoller
		unix.Close(epfd)
		return nil, err
	}
	wake, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		unix.Close(epfd)
		return nil, err
	}
	e := &engine{
		srv: s, lane: l, epfd: epfd, wake: wake, done: make(chan struct{}),
		relays:  map[int32]*relay{},
		clients: map[netip.AddrPort]*relay{},
		events:  make([]unix.EpollEvent, 128),
		in:      newMsgBatch(batchSize, 0),
		out:     newMsgBatch(batchSize, channelDataHeader),
		send:    make([]mmsghdr, batchSize),
		sendIov: make([]unix.Iovec, batchSize),
		sendBy:  make([]*relay, batchSize),
	}
	for i := range e.send {
		e.send[i].hdr.Iov = &e.sendIov[i]
		e.send[i].hdr.SetIovlen(1)
		e.send[i].hdr.Namelen = unix.SizeofSockaddrInet4
	}
	fds := []int{wake}
	if l != nil {
		fds = append(fds, l.sock.fd)
	}
	for _, fd := range fds {
		if err := unix.EpollCtl(epfd, unix.EPOLL_CTL_ADD, fd, &unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(fd)}); err != nil {
			unix.Close(wake)
			unix.Close(epfd)
			return nil, err
		}
	}
	return e, nil
}

// run is the engine goroutine; it returns after stop, having closed every
// socket it owns. It never blocks in a system call: the epoll descriptor is
// itself registered with Go's netpoller, so the goroutine parks like any
// reader until one of its sockets is ready, and epoll_wait is only called
// with a zero timeout (a blocking one would keep Go's sysmon retaking the
// thread's P every 20 µs).
func (e *engine) run() {
	defer close(e.done)
	ep := os.NewFile(uintptr(e.epfd), "epoll")
	rc, err := ep.SyscallConn()
	if err == nil {
		err = rc.Read(func(uintptr) bool { return e.pollGuarded() })
	}
	if err != nil {
		e.srv.log.Error("turn: engine", "err", err)
	}
	e.shutdown()
	_ = ep.Close() // closes epfd
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
			clear(e.sendBy[:e.nsend])
			e.nsend, e.used = 0, 0
			panicked = true
		}
	}()
	return e.poll(), false
}

// poll handles ready sockets until there are none (false: park until the
// epoll descriptor is readable) or the engine must stop (true).
func (e *engine) poll() bool {
	for {
		n, err := epollPoll(e.epfd, e.events)
		if err != nil && !errors.Is(err, unix.EINTR) {
			e.srv.log.Error("turn: epoll_wait", "err", err)
			return true
		}
		if n <= 0 {
			return false
		}
		for _, ev := range e.events[:n] {
			switch {
			case ev.Fd == int32(e.wake):
				if !e.control() {
					return true
				}
			case e.lane != nil && ev.Fd == int32(e.lane.sock.fd):
				e.readClients()
			default:
				if r := e.relays[ev.Fd]; r != nil {
					e.readPeers(r)
				}
			}
		}
		e.flush()
	}
}

// readClients relays or hands on one batch from the lane socket.
func (e *engine) readClients() {
	n := e.in.recv(e.lane.sock.fd, 0, batchSize)
	for i := range n {
		pkt, ok := e.in.datagram(i)
		if !ok {
			continue
		}
		if e.srv.testHook != nil {
			e.srv.testHook(pkt)
		}
		from := addrPortOfRaw(&e.in.names[i])
		if isChannelData(pkt) && e.forward(pkt, from) {
			continue
		}
		e.lane.deliver(pkt, from)
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
	sa := rawSockaddr4(peer)
	if sendto4(r.sock.fd, pkt[channelDataHeader:channelDataHeader+size], &sa) == nil {
		r.toPeer.add(size)
	}
	return true
}

// readPeers reads a batch from one relayed socket (RFC 8656 §11.3).
func (e *engine) readPeers(r *relay) {
	if batchSize-e.used < peerRead {
		e.flush()
	}
	n := e.out.recv(r.sock.fd, e.used, e.used+peerRead)
	fast := r.lane.sock != nil
	for i := e.used; i < e.used+n; i++ {
		pkt, ok := e.out.datagram(i)
		if !ok || r.closed.Load() {
			continue
		}
		from := addrPortOfRaw(&e.out.names[i])
		num, bound := r.channelOf(from)
		switch {
		case bound && fast:
			e.queue(r, i, num, len(pkt))
		case bound || r.permitted(from.Addr()) && e.srv.permitsPeer(from):
			// A permission is per address (RFC 8656 §9); the port must
			// pass the policy too, as it did for a channel's peer.
			r.deliver(pkt, from)
		}
	}
	e.used += n
}

// queue frames slot i's datagram as ChannelData for r's client. There are
// as many send entries as slots, so the queue cannot overflow.
func (e *engine) queue(r *relay, i int, num uint16, size int) {
	start := i * slotSize
	frame := e.out.bufs[start : start+channelDataHeader+size]
	binary.BigEndian.PutUint16(frame[0:2], num)
	binary.BigEndian.PutUint16(frame[2:4], uint16(size))
	k := e.nsend
	e.nsend++
	e.sendIov[k].Base = &frame[0]
	e.sendIov[k].SetLen(len(frame))
	e.send[k].hdr.Name = (*byte)(unsafe.Pointer(&r.clientSA))
	e.sendBy[k] = r
}

// flush sends the queued ChannelData and frees the slots.
func (e *engine) flush() {
	n := e.nsend
	for off := 0; off < n; {
		k, err := sendmmsg(e.lane.sock.fd, e.send[off:n])
		if err != nil {
			if errors.Is(err, unix.EINTR) {
				continue
			}
			off++ // this datagram cannot go (buffer full, no route): drop it
			continue
		}
		for j := off; j < off+k; j++ {
			e.sendBy[j].fromPeer.add(int(e.sendIov[j].Len) - channelDataHeader)
		}
		off += k
	}
	clear(e.sendBy[:n])
	e.nsend, e.used = 0, 0
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
		e.signal()
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
	e.signal()
	return true
}

// signal wakes the engine; e.mu held (the eventfd is closed only after
// stopped is set).
func (e *engine) signal() {
	one := [8]byte{1}
	_, _ = unix.Write(e.wake, one[:])
}

// control applies queued ops; false means stop.
func (e *engine) control() bool {
	var buf [8]byte
	_, _ = unix.Read(e.wake, buf[:])
	e.mu.Lock()
	ops, stopped := e.ops, e.stopped
	e.ops = nil
	e.mu.Unlock()
	for _, op := range ops {
		if r := op.add; r != nil {
			if r.closed.Load() {
				r.sock.close() // revoked before the engine saw it
				continue
			}
			fd := int32(r.sock.fd)
			if err := unix.EpollCtl(e.epfd, unix.EPOLL_CTL_ADD, r.sock.fd, &unix.EpollEvent{Events: unix.EPOLLIN, Fd: fd}); err != nil {
				e.srv.log.Warn("turn: epoll add", "err", err)
				r.sock.close()
				continue
			}
			e.relays[fd] = r
			if e.lane != nil && r.lane == e.lane {
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
	fd := int32(r.sock.fd)
	if e.relays[fd] != r {
		return // never added, or already dropped
	}
	_ = unix.EpollCtl(e.epfd, unix.EPOLL_CTL_DEL, r.sock.fd, nil)
	delete(e.relays, fd)
	if e.clients[r.client] == r {
		delete(e.clients, r.client)
	}
	r.sock.close()
}

// shutdown closes every socket the engine owns, those of relays still
// queued for it included.
func (e *engine) shutdown() {
	e.flush()
	e.mu.Lock()
	e.stopped = true
	ops := e.ops
	e.ops = nil
	e.mu.Unlock()
	for _, op := range ops {
		if op.add != nil {
			op.add.sock.close()
		}
	}
	for _, r := range e.relays {
		e.drop(r)
	}
	if e.lane != nil {
		e.lane.sock.close()
	}
	unix.Close(e.wake)
}
