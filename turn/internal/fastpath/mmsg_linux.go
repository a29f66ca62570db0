package fastpath

import (
	"errors"
	"net/netip"
	"unsafe"

	"golang.org/x/sys/unix"
)

// mmsghdr is struct mmsghdr of recvmmsg(2) and sendmmsg(2).
type mmsghdr struct {
	hdr unix.Msghdr
	n   uint32
}

// RecvBatch is a fixed set of datagram slots that recvmmsg(2) fills, with
// the sender of each. A datagram lands headroom bytes into its slot, so a
// header can be written in front of it in place (WithHeadroom). Nothing
// is allocated after NewRecvBatch; the datagrams are valid until the next
// Recv into their slots.
type RecvBatch struct {
	bufs     []byte
	names    []unix.RawSockaddrInet4
	iovs     []unix.Iovec
	msgs     []mmsghdr
	slot     int // bytes per slot
	headroom int
}

// NewRecvBatch returns n slots of size bytes; a datagram longer than
// size-headroom is reported truncated by Datagram.
func NewRecvBatch(n, size, headroom int) *RecvBatch {
	b := &RecvBatch{
		bufs:     make([]byte, n*size),
		names:    make([]unix.RawSockaddrInet4, n),
		iovs:     make([]unix.Iovec, n),
		msgs:     make([]mmsghdr, n),
		slot:     size,
		headroom: headroom,
	}
	for i := range n {
		b.iovs[i].Base = &b.bufs[i*size+headroom]
		b.iovs[i].SetLen(size - headroom)
		b.msgs[i].hdr.Name = (*byte)(unsafe.Pointer(&b.names[i]))
		b.msgs[i].hdr.Iov = &b.iovs[i]
		b.msgs[i].hdr.SetIovlen(1)
	}
	return b
}

// Recv reads up to to-from datagrams from fd into slots [from, to) with
// one recvmmsg(2) (MSG_DONTWAIT) and returns how many it read: slots from
// to from+n-1. An error (EAGAIN after a spurious wakeup, a pending socket
// error) reads nothing.
func (b *RecvBatch) Recv(fd, from, to int) int {
	if from >= to {
		return 0
	}
	for i := from; i < to; i++ {
		b.msgs[i].hdr.Namelen = unix.SizeofSockaddrInet4
		b.msgs[i].hdr.Flags = 0
	}
	msgs := b.msgs[from:to]
	n, _, errno := unix.RawSyscall6(unix.SYS_RECVMMSG, uintptr(fd),
		uintptr(unsafe.Pointer(&msgs[0])), uintptr(len(msgs)), unix.MSG_DONTWAIT, 0, 0)
	if errno != 0 {
		return 0
	}
	return int(n)
}

// Datagram returns slot i's datagram; false if it was truncated
// (MSG_TRUNC), in which case it must be dropped.
func (b *RecvBatch) Datagram(i int) ([]byte, bool) {
	m := &b.msgs[i]
	if m.hdr.Flags&unix.MSG_TRUNC != 0 {
		return nil, false
	}
	start := i*b.slot + b.headroom
	return b.bufs[start : start+int(m.n)], true
}

// WithHeadroom returns slot i's datagram with the headroom in front of it:
// the datagram starts at index headroom.
func (b *RecvBatch) WithHeadroom(i int) []byte {
	start := i * b.slot
	return b.bufs[start : start+b.headroom+int(b.msgs[i].n)]
}

// From returns the sender of slot i's datagram.
func (b *RecvBatch) From(i int) netip.AddrPort { return addrPortOfRaw(&b.names[i]) }

// SendBatch queues datagrams for one sendmmsg(2). It holds pointers to
// the queued bytes and addresses, not copies: they must stay unchanged
// until Flush or Reset.
type SendBatch struct {
	msgs []mmsghdr
	iovs []unix.Iovec
	n    int
}

// NewSendBatch returns a SendBatch for up to n datagrams.
func NewSendBatch(n int) *SendBatch {
	q := &SendBatch{msgs: make([]mmsghdr, n), iovs: make([]unix.Iovec, n)}
	for i := range q.msgs {
		q.msgs[i].hdr.Iov = &q.iovs[i]
		q.msgs[i].hdr.SetIovlen(1)
		q.msgs[i].hdr.Namelen = unix.SizeofSockaddrInet4
	}
	return q
}

// Queue adds b for to and returns its index; the caller keeps Len below
// the capacity NewSendBatch was given (Queue panics past it).
func (q *SendBatch) Queue(b []byte, to *Sockaddr4) int {
	k := q.n
	q.iovs[k].Base = &b[0]
	q.iovs[k].SetLen(len(b))
	q.msgs[k].hdr.Name = (*byte)(unsafe.Pointer(&to.raw))
	q.n++
	return k
}

// Len is the number of datagrams queued.
func (q *SendBatch) Len() int { return q.n }

// Flush sends the queued datagrams on fd with sendmmsg(2) (MSG_DONTWAIT),
// calls sent with the index and length of each one the kernel took, and
// empties the batch. A datagram the kernel refuses (buffer full, no route)
// is dropped and the rest still go; EINTR is retried.
func (q *SendBatch) Flush(fd int, sent func(i, n int)) {
	n := q.n
	for off := 0; off < n; {
		k, err := sendmmsg(fd, q.msgs[off:n])
		if err != nil {
			if errors.Is(err, unix.EINTR) {
				continue
			}
			off++ // this datagram cannot go: drop it
			continue
		}
		for j := off; j < off+k; j++ {
			sent(j, int(q.iovs[j].Len))
		}
		off += k
	}
	q.Reset()
}

// Reset empties the batch without sending.
func (q *SendBatch) Reset() { q.n = 0 }

func sendmmsg(fd int, msgs []mmsghdr) (int, error) {
	n, _, errno := unix.RawSyscall6(unix.SYS_SENDMMSG, uintptr(fd),
		uintptr(unsafe.Pointer(&msgs[0])), uintptr(len(msgs)), unix.MSG_DONTWAIT, 0, 0)
	if errno != 0 {
		return 0, errno
	}
	return int(n), nil
}
