//go:build linux

package fastpath

import (
	"bytes"
	"errors"
	"net"
	"net/netip"
	"syscall"
	"testing"
	"time"

	"github.com/confab-media/confab/internal/testkit"
)

var loopback = netip.MustParseAddrPort("127.0.0.1:0")

func open(t *testing.T, ap netip.AddrPort, o Options) *Socket {
	t.Helper()
	s, err := Open(ap, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// waitReady polls p until fd is ready or a second has passed.
func waitReady(t *testing.T, p *Poller, fd int) {
	t.Helper()
	for deadline := time.Now().Add(time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		ready, _, err := p.Wait()
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range ready {
			if r == int32(fd) {
				return
			}
		}
	}
	t.Fatalf("descriptor %d never ready", fd)
}

// TestRoundTrip: a datagram goes out with WriteTo, is reported by the
// Poller, read by a RecvBatch with its sender, framed in place and sent
// back with a SendBatch.
func TestRoundTrip(t *testing.T) {
	a, b := open(t, loopback, Options{}), open(t, loopback, Options{Buffer: 1 << 20})
	p, err := NewPoller(8)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if err := p.Add(b.FD()); err != nil {
		t.Fatal(err)
	}
	if n, err := a.WriteTo([]byte("hello"), b.LocalAddr().AddrPort()); n != 5 || err != nil {
		t.Fatalf("WriteTo = %d, %v", n, err)
	}
	waitReady(t, p, b.FD())

	in := NewRecvBatch(4, 64, 4)
	if n := in.Recv(b.FD(), 1, 4); n != 1 {
		t.Fatalf("Recv = %d, want 1", n)
	}
	pkt, ok := in.Datagram(1)
	if !ok || string(pkt) != "hello" {
		t.Fatalf("Datagram = %q, %v", pkt, ok)
	}
	if from := in.From(1); from != a.LocalAddr().AddrPort() {
		t.Errorf("From = %v, want %v", from, a.LocalAddr())
	}
	frame := in.WithHeadroom(1)
	copy(frame, "HDR:")
	if string(frame) != "HDR:hello" {
		t.Fatalf("WithHeadroom = %q", frame)
	}

	out := NewSendBatch(4)
	to := SockaddrOf(in.From(1))
	if to.AddrPort() != a.LocalAddr().AddrPort() {
		t.Fatalf("SockaddrOf(%v).AddrPort() = %v", in.From(1), to.AddrPort())
	}
	if i := out.Queue(frame, &to); i != 0 || out.Len() != 1 {
		t.Fatalf("Queue = %d, Len = %d", i, out.Len())
	}
	var sent []int
	out.Flush(b.FD(), func(i, n int) { sent = append(sent, i, n) })
	if len(sent) != 2 || sent[0] != 0 || sent[1] != 9 || out.Len() != 0 {
		t.Fatalf("Flush reported %v, Len %d; want [0 9], 0", sent, out.Len())
	}
	if err := p.Add(a.FD()); err != nil {
		t.Fatal(err)
	}
	waitReady(t, p, a.FD())
	back := NewRecvBatch(1, 64, 0)
	if n := back.Recv(a.FD(), 0, 1); n != 1 {
		t.Fatalf("Recv back = %d, want 1", n)
	}
	if got, _ := back.Datagram(0); string(got) != "HDR:hello" || back.From(0) != b.LocalAddr().AddrPort() {
		t.Errorf("back: %q from %v", got, back.From(0))
	}
}

// TestTruncated: a datagram longer than its slot is reported truncated,
// and a short read of an empty socket reads nothing.
func TestTruncated(t *testing.T) {
	a, b := open(t, loopback, Options{}), open(t, loopback, Options{})
	in := NewRecvBatch(2, 16, 4)
	if n := in.Recv(b.FD(), 0, 2); n != 0 {
		t.Fatalf("Recv on an empty socket = %d", n)
	}
	if _, err := a.WriteTo(bytes.Repeat([]byte("x"), 13), b.LocalAddr().AddrPort()); err != nil {
		t.Fatal(err)
	}
	var n int
	for deadline := time.Now().Add(time.Second); n == 0 && time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		n = in.Recv(b.FD(), 0, 2)
	}
	if n != 1 {
		t.Fatalf("Recv = %d, want 1", n)
	}
	if _, ok := in.Datagram(0); ok {
		t.Error("a 13-byte datagram in a 12-byte slot is not reported truncated")
	}
}

// TestNoAlloc keeps the data path allocation-free: Send, Recv, Datagram,
// From, Queue and Flush.
func TestNoAlloc(t *testing.T) {
	a, b := open(t, loopback, Options{}), open(t, loopback, Options{Buffer: 1 << 20})
	to := SockaddrOf(b.LocalAddr().AddrPort())
	back := SockaddrOf(a.LocalAddr().AddrPort())
	in := NewRecvBatch(8, 64, 4)
	out := NewSendBatch(8)
	sent := 0
	count := func(int, int) { sent++ }
	msg := []byte("payload")
	allocs := testing.AllocsPerRun(100, func() {
		_ = a.Send(msg, &to)
		for n := 0; n == 0; {
			n = in.Recv(b.FD(), 0, 8)
			for i := range n {
				if _, ok := in.Datagram(i); ok && in.From(i).IsValid() {
					out.Queue(in.WithHeadroom(i), &back)
				}
			}
		}
		out.Flush(b.FD(), count)
	})
	if allocs != 0 {
		t.Errorf("%v allocations per datagram", allocs)
	}
	if sent < 100 {
		t.Errorf("Flush reported %d datagrams sent, want ≥ 100", sent)
	}
}

// TestPollerRun: Run parks until the set is ready and returns when ready
// says stop; a Wake is reported once.
func TestPollerRun(t *testing.T) {
	testkit.CheckLeaks(t)
	p, err := NewPoller(4)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if _, woken, err := p.Wait(); woken || err != nil {
		t.Fatalf("Wait before Wake: woken=%v, %v", woken, err)
	}
	done := make(chan error, 1)
	calls := 0
	go func() {
		done <- p.Run(func() bool {
			calls++
			ready, woken, err := p.Wait()
			if err != nil {
				return true
			}
			return woken && len(ready) == 0
		})
	}()
	time.Sleep(20 * time.Millisecond)
	p.Wake()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after Wake")
	}
	if calls < 1 {
		t.Errorf("ready called %d times", calls)
	}
	if _, woken, _ := p.Wait(); woken {
		t.Error("one Wake reported twice")
	}
}

// TestOpen: SO_REUSEPORT lets a second socket share the port, without it
// the bind fails with EADDRINUSE; IPv6 is refused; Close is idempotent and
// WriteTo after it says net.ErrClosed.
func TestOpen(t *testing.T) {
	a := open(t, loopback, Options{ReusePort: true})
	same := a.LocalAddr().AddrPort()
	open(t, same, Options{ReusePort: true})
	if _, err := Open(same, Options{}); !errors.Is(err, syscall.EADDRINUSE) {
		t.Errorf("second bind without SO_REUSEPORT: %v, want EADDRINUSE", err)
	}
	if _, err := Open(netip.MustParseAddrPort("[::1]:0"), Options{}); err == nil {
		t.Error("Open on IPv6 succeeded")
	}
	if _, err := a.WriteTo([]byte("x"), netip.MustParseAddrPort("[::1]:9")); err == nil {
		t.Error("WriteTo an IPv6 address succeeded")
	}
	s, err := Open(loopback, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := s.WriteTo([]byte("x"), same); !errors.Is(err, net.ErrClosed) {
		t.Errorf("WriteTo after Close: %v, want net.ErrClosed", err)
	}
}
