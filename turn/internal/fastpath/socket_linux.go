package fastpath

import (
	"fmt"
	"net"
	"net/netip"
	"sync"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Socket is a non-blocking IPv4 UDP socket (udp(7)) kept out of Go's
// netpoller: its owner waits for it in a Poller, reads it with a RecvBatch
// and writes with Send or a SendBatch.
type Socket struct {
	fd    int
	laddr *net.UDPAddr

	// mu is held for reading around WriteTo and for writing by Close, so
	// a write from another goroutine never lands on a descriptor number
	// the kernel has reused.
	mu     sync.RWMutex
	closed bool
}

// Options are a Socket's socket options.
type Options struct {
	// ReusePort sets SO_REUSEPORT (socket(7)): several sockets share the
	// address, and the kernel hashes each sender to one of them.
	ReusePort bool
	// Buffer, if positive, is the SO_RCVBUF and SO_SNDBUF asked for; the
	// kernel caps it at net.core.rmem_max and wmem_max.
	Buffer int
}

// Open binds an IPv4 UDP socket to ap (port 0: a free port; see
// LocalAddr). A bind failure wraps the errno, so errors.Is(err,
// syscall.EADDRINUSE) tells a taken port.
func Open(ap netip.AddrPort, o Options) (*Socket, error) {
	if !ap.Addr().Unmap().Is4() {
		return nil, fmt.Errorf("fastpath: %v: only IPv4 is supported", ap)
	}
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, unix.IPPROTO_UDP)
	if err != nil {
		return nil, fmt.Errorf("socket: %w", err)
	}
	fail := func(what string, err error) (*Socket, error) {
		unix.Close(fd)
		return nil, fmt.Errorf("%s %v: %w", what, ap, err)
	}
	if o.ReusePort {
		if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEPORT, 1); err != nil {
			return fail("SO_REUSEPORT", err)
		}
	}
	if o.Buffer > 0 {
		// Best effort: a smaller buffer only means drops sooner in bursts.
		_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, o.Buffer)
		_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_SNDBUF, o.Buffer)
	}
	if err := unix.Bind(fd, &unix.SockaddrInet4{Port: int(ap.Port()), Addr: ap.Addr().Unmap().As4()}); err != nil {
		return fail("bind", err)
	}
	sa, err := unix.Getsockname(fd)
	if err != nil {
		return fail("getsockname", err)
	}
	sa4, ok := sa.(*unix.SockaddrInet4)
	if !ok {
		return fail("getsockname", unix.EAFNOSUPPORT)
	}
	return &Socket{fd: fd, laddr: &net.UDPAddr{IP: net.IP(sa4.Addr[:]), Port: sa4.Port}}, nil
}

// FD is the descriptor, for a Poller and the batches. It is the owner's:
// only the owner closes the socket, so only it may use the number.
func (s *Socket) FD() int { return s.fd }

// LocalAddr is the bound address.
func (s *Socket) LocalAddr() *net.UDPAddr { return s.laddr }

// WriteTo sends b to to. Any goroutine may call it, also during or after
// Close (it then returns net.ErrClosed).
func (s *Socket) WriteTo(b []byte, to netip.AddrPort) (int, error) {
	if !to.Addr().Unmap().Is4() {
		return 0, fmt.Errorf("fastpath: cannot send to %v from an IPv4 socket", to)
	}
	sa := SockaddrOf(to)
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return 0, net.ErrClosed
	}
	if err := sendto(s.fd, b, &sa); err != nil {
		return 0, err
	}
	return len(b), nil
}

// Send sends b to sa with sendto(2), without locking or allocating. Only
// the owner may call it, as only the owner closes the socket. An empty b
// sends nothing.
func (s *Socket) Send(b []byte, sa *Sockaddr4) error { return sendto(s.fd, b, sa) }

// Close closes the descriptor; it is idempotent. Only the owner calls it.
func (s *Socket) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	return unix.Close(s.fd)
}

// Sockaddr4 is an IPv4 socket address as the kernel reads it (struct
// sockaddr_in, ip(7)), for Send and SendBatch.
type Sockaddr4 struct{ raw unix.RawSockaddrInet4 }

// SockaddrOf is ap's Sockaddr4 (an IPv4-mapped IPv6 address is unmapped).
func SockaddrOf(ap netip.AddrPort) Sockaddr4 {
	sa := Sockaddr4{raw: unix.RawSockaddrInet4{Family: unix.AF_INET, Addr: ap.Addr().Unmap().As4()}}
	p := (*[2]byte)(unsafe.Pointer(&sa.raw.Port)) // network byte order
	p[0], p[1] = byte(ap.Port()>>8), byte(ap.Port())
	return sa
}

// AddrPort is sa as a netip.AddrPort.
func (sa *Sockaddr4) AddrPort() netip.AddrPort { return addrPortOfRaw(&sa.raw) }

func addrPortOfRaw(sa *unix.RawSockaddrInet4) netip.AddrPort {
	p := (*[2]byte)(unsafe.Pointer(&sa.Port))
	return netip.AddrPortFrom(netip.AddrFrom4(sa.Addr), uint16(p[0])<<8|uint16(p[1]))
}

func sendto(fd int, b []byte, sa *Sockaddr4) error {
	if len(b) == 0 {
		return nil
	}
	_, _, errno := unix.RawSyscall6(unix.SYS_SENDTO, uintptr(fd), uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)),
		unix.MSG_DONTWAIT, uintptr(unsafe.Pointer(&sa.raw)), unix.SizeofSockaddrInet4)
	if errno != 0 {
		return errno
	}
	return nil
}
