package fastpath

import (
	"os"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Poller is an epoll(7) set that one goroutine drives: Add the sockets it
// owns, then Run it. Run parks that goroutine in Go's netpoller (the
// epoll descriptor is itself registered there) until a socket is ready,
// so epoll_wait is only ever called with a zero timeout (a blocking one
// would keep Go's sysmon retaking the thread's P every 20 µs). An
// eventfd(2) in the set lets other goroutines Wake it.
type Poller struct {
	epfd   int
	wake   int      // eventfd
	file   *os.File // epfd, for the netpoller
	events []unix.EpollEvent
	ready  []int32
}

// NewPoller returns a Poller that reports up to maxEvents ready sockets
// per Wait.
func NewPoller(maxEvents int) (*Poller, error) {
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
	p := &Poller{epfd: epfd, wake: wake, events: make([]unix.EpollEvent, maxEvents), ready: make([]int32, 0, maxEvents)}
	if err := p.Add(wake); err != nil {
		unix.Close(wake)
		unix.Close(epfd)
		return nil, err
	}
	p.file = os.NewFile(uintptr(epfd), "epoll")
	return p, nil
}

// Add watches fd for reading (level-triggered EPOLLIN).
func (p *Poller) Add(fd int) error {
	return unix.EpollCtl(p.epfd, unix.EPOLL_CTL_ADD, fd, &unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(fd)})
}

// Remove stops watching fd; call it before closing fd.
func (p *Poller) Remove(fd int) error {
	return unix.EpollCtl(p.epfd, unix.EPOLL_CTL_DEL, fd, nil)
}

// Wake makes the set ready, so the Run goroutine's next Wait reports
// woken. Any goroutine may call it, but not after Close.
func (p *Poller) Wake() {
	one := [8]byte{1}
	_, _ = unix.Write(p.wake, one[:])
}

// Wait returns the watched descriptors that are ready now (epoll_pwait(2)
// with a zero timeout, raw) and whether Wake was called since the last
// Wait, without blocking. The slice is reused by the next call. An
// interrupted call reports nothing ready.
func (p *Poller) Wait() (ready []int32, woken bool, err error) {
	n, _, errno := unix.RawSyscall6(unix.SYS_EPOLL_PWAIT, uintptr(p.epfd),
		uintptr(unsafe.Pointer(&p.events[0])), uintptr(len(p.events)), 0, 0, 0)
	if errno == unix.EINTR {
		return nil, false, nil
	}
	if errno != 0 {
		return nil, false, errno
	}
	p.ready = p.ready[:0]
	for _, ev := range p.events[:n] {
		if ev.Fd == int32(p.wake) {
			var buf [8]byte
			_, _ = unix.Read(p.wake, buf[:])
			woken = true
			continue
		}
		p.ready = append(p.ready, ev.Fd)
	}
	return p.ready, woken, nil
}

// Run calls ready each time the set may be ready, from the calling
// goroutine, until ready returns true; between calls the goroutine is
// parked in Go's netpoller. ready must Wait until nothing is ready before
// it returns false, or Run may not call it again. Run returns early with
// an error if the poller is closed.
func (p *Poller) Run(ready func() (stop bool)) error {
	rc, err := p.file.SyscallConn()
	if err != nil {
		return err
	}
	return rc.Read(func(uintptr) bool { return ready() })
}

// Close closes the epoll descriptor and the eventfd, not the watched
// sockets. Call it after Run has returned, and after the last Wake.
func (p *Poller) Close() error {
	err := p.file.Close()
	unix.Close(p.wake)
	return err
}
