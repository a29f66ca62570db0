package testkit

import (
	"io"
	"net"
	"testing"
)

// FreeSIPPort returns a loopback port p with UDP p, TCP p and TCP p+1
// (baresip's TLS listener) all free, checked together: an ephemeral port
// free for UDP may be a TCP connection's local port (seen in CI: baresip's
// TCP bind failed with "Address already in use").
func FreeSIPPort(t testing.TB) int {
	t.Helper()
	lo := net.IPv4(127, 0, 0, 1)
	for range 50 {
		u, err := net.ListenUDP("udp", &net.UDPAddr{IP: lo})
		if err != nil {
			t.Fatal(err)
		}
		p := u.LocalAddr().(*net.UDPAddr).Port
		var held []io.Closer
		ok := p < 65535
		for _, port := range []int{p, p + 1} {
			if !ok {
				break
			}
			l, err := net.ListenTCP("tcp", &net.TCPAddr{IP: lo, Port: port})
			if ok = err == nil; ok {
				held = append(held, l)
			}
		}
		for _, c := range append(held, u) {
			_ = c.Close()
		}
		if ok {
			return p
		}
	}
	t.Fatal("no loopback port free for UDP and TCP")
	return 0
}
