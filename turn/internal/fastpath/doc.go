// Package fastpath is the Linux datagram machinery under the TURN relay's
// engines: IPv4 UDP sockets kept out of Go's netpoller, batched reads and
// writes with recvmmsg(2) and sendmmsg(2), and an epoll(7) set that is
// itself parked in Go's netpoller, so one goroutine can own many sockets
// and relay between them without a goroutine switch, a lock or an
// allocation per datagram. It knows nothing of TURN.
//
//   - Socket (socket_linux.go): a non-blocking socket(7)/udp(7) socket.
//     Open binds it (SO_REUSEPORT optional); WriteTo writes from any
//     goroutine; Send, Close and the descriptor belong to its owner.
//   - RecvBatch and SendBatch (mmsg_linux.go): reusable struct mmsghdr
//     arrays for recvmmsg(2)
//     (https://man7.org/linux/man-pages/man2/recvmmsg.2.html) and
//     sendmmsg(2) (https://man7.org/linux/man-pages/man2/sendmmsg.2.html);
//     a received datagram can be framed in place, in headroom left in
//     front of it.
//   - Poller (poller_linux.go): an epoll(7) set
//     (https://man7.org/linux/man-pages/man7/epoll.7.html) with an
//     eventfd(2) to wake it; Run parks the caller in Go's netpoller until
//     the set is ready and Wait polls it with a zero timeout.
//
// The data-path system calls are raw (no runtime entersyscall): the
// sockets are non-blocking, and a call through the scheduler would wake
// Go's sysmon once per batch whenever the process had gone idle.
//
// The package is Linux only; elsewhere it is empty and the turn package
// relays with pion/turn's own sockets.
package fastpath
