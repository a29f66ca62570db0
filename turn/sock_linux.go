package turn

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"sync"
	"unsafe"

	"golang.org/x/sys/unix"
)

// udpSocket is a non-blocking IPv4 UDP socket kept out of Go's netpoller:
// the engine that owns it waits for it in its own epoll set, reads it with
// recvmmsg and writes with sendto/sendmmsg, so relaying a datagram costs no
// goroutine switch.
type udpSocket struct {
	fd    int
	laddr *net.UDPAddr

	// mu is held for reading around writes from outside the engine
	// (pion/turn's control path) and for writing to close, so such a write
	// never lands on a descriptor number the kernel has reused.
	mu     sync.RWMutex
	closed bool
}

// socketBuffer is the kernel buffer asked for on client-facing sockets; the
// kernel caps it at net.core.rmem_max / wmem_max.
const socketBuffer = 4 << 20

// openUDPSocket binds ap. reusePort sets SO_REUSEPORT, so several sockets,
// each with its own engine, share the client-facing port and the kernel
// hashes each client to one of them.
func openUDPSocket(ap netip.AddrPort, reusePort bool, buf int) (*udpSocket, error) {
	if !ap.Addr().Is4() {
		return nil, fmt.Errorf("%v: only IPv4 is supported", ap)
	}
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, unix.IPPROTO_UDP)
	if err != nil {
		return nil, fmt.Errorf("socket: %w", err)
	}
	fail := func(what string, err error) (*udpSocket, error) {
		unix.Close(fd)
		return nil, fmt.Errorf("%s %v: %w", what, ap, err)
	}
	if reusePort {
		if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEPORT, 1); err != nil {
			return fail("SO_REUSEPORT", err)
		}
	}
	if buf > 0 {
		// Best effort: a smaller buffer only means drops sooner in bursts.
		_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, buf)
		_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_SNDBUF, buf)
	}
	if err := unix.Bind(fd, &unix.SockaddrInet4{Port: int(ap.Port()), Addr: ap.Addr().As4()}); err != nil {
		return fail("bind", err)
	}
	sa, err := unix.Getsockname(fd)
	if err != nil {
		return fail("getsockname", err)
	}
	sa4 := sa.(*unix.SockaddrInet4)
	return &udpSocket{fd: fd, laddr: &net.UDPAddr{IP: net.IP(sa4.Addr[:]), Port: sa4.Port}}, nil
}

// openRelaySocket binds a relayed transport address (RFC 8656 §7.2): port if
// non-zero (EVEN-PORT), else a free port in [lo, hi] from a random start.
func openRelaySocket(ip netip.Addr, port int, lo, hi uint16) (*udpSocket, error) {
	if port != 0 {
		return openUDPSocket(netip.AddrPortFrom(ip, uint16(port)), false, 0)
	}
	span := int(hi) - int(lo) + 1
	start := rand.IntN(span)
	var err error
	for i := range min(span, 64) {
		var s *udpSocket
		if s, err = openUDPSocket(netip.AddrPortFrom(ip, lo+uint16((start+i)%span)), false, 0); err == nil {
			return s, nil
		}
		if !errors.Is(err, unix.EADDRINUSE) {
			return nil, err
		}
	}
	return nil, fmt.Errorf("no free relay port in %d-%d: %w", lo, hi, err)
}

// writeTo sends b to addr from outside the engine (the control path).
func (s *udpSocket) writeTo(b []byte, addr net.Addr) (int, error) {
	to := addrPortOf(addr)
	if !to.Addr().Is4() {
		return 0, fmt.Errorf("turn: cannot send to %v from an IPv4 socket", addr)
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return 0, net.ErrClosed
	}
	sa := rawSockaddr4(to)
	if err := sendto4(s.fd, b, &sa); err != nil {
		return 0, err
	}
	return len(b), nil
}

// close closes the descriptor; only its engine calls it (or whoever opened
// it, before an engine owned it).
func (s *udpSocket) close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.closed {
		s.closed = true
		unix.Close(s.fd)
	}
}

// mmsghdr is struct mmsghdr of recvmmsg(2)/sendmmsg(2).
type mmsghdr struct {
	hdr unix.Msghdr
	n   uint32
}

// The data-path syscalls are raw: the sockets are non-blocking, and they
// must not allocate.

func recvmmsg(fd int, msgs []mmsghdr) (int, error) {
	n, _, errno := unix.RawSyscall6(unix.SYS_RECVMMSG, uintptr(fd),
		uintptr(unsafe.Pointer(&msgs[0])), uintptr(len(msgs)), unix.MSG_DONTWAIT, 0, 0)
	if errno != 0 {
		return 0, errno
	}
	return int(n), nil
}

func sendmmsg(fd int, msgs []mmsghdr) (int, error) {
	n, _, errno := unix.RawSyscall6(unix.SYS_SENDMMSG, uintptr(fd),
		uintptr(unsafe.Pointer(&msgs[0])), uintptr(len(msgs)), unix.MSG_DONTWAIT, 0, 0)
	if errno != 0 {
		return 0, errno
	}
	return int(n), nil
}

func sendto4(fd int, b []byte, sa *unix.RawSockaddrInet4) error {
	if len(b) == 0 {
		return nil
	}
	_, _, errno := unix.RawSyscall6(unix.SYS_SENDTO, uintptr(fd), uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)),
		unix.MSG_DONTWAIT, uintptr(unsafe.Pointer(sa)), unix.SizeofSockaddrInet4)
	if errno != 0 {
		return errno
	}
	return nil
}

// epollPoll is epoll_pwait(2) with a zero timeout. Raw, like the socket
// calls: a syscall through the runtime's entersyscall would wake Go's
// sysmon whenever the process had gone idle, once per batch.
func epollPoll(epfd int, events []unix.EpollEvent) (int, error) {
	n, _, errno := unix.RawSyscall6(unix.SYS_EPOLL_PWAIT, uintptr(epfd),
		uintptr(unsafe.Pointer(&events[0])), uintptr(len(events)), 0, 0, 0)
	if errno != 0 {
		return 0, errno
	}
	return int(n), nil
}

func rawSockaddr4(ap netip.AddrPort) unix.RawSockaddrInet4 {
	sa := unix.RawSockaddrInet4{Family: unix.AF_INET, Addr: ap.Addr().Unmap().As4()}
	p := (*[2]byte)(unsafe.Pointer(&sa.Port))
	p[0], p[1] = byte(ap.Port()>>8), byte(ap.Port())
	return sa
}

func addrPortOfRaw(sa *unix.RawSockaddrInet4) netip.AddrPort {
	p := (*[2]byte)(unsafe.Pointer(&sa.Port))
	return netip.AddrPortFrom(netip.AddrFrom4(sa.Addr), uint16(p[0])<<8|uint16(p[1]))
}
