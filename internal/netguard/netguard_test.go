package netguard

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"math/big"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// server accepts on a guarded listener and echoes each connection, counting
// what it accepted; Close waits for its goroutines.
type server struct {
	ln       net.Listener
	accepted atomic.Int64
	refused  sync.Map // reason → *atomic.Int64
	wg       sync.WaitGroup
}

func startServer(t *testing.T, cfg Config, wrap func(net.Listener) net.Listener) (*server, *Listener) {
	t.Helper()
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &server{}
	g := Wrap(raw, cfg, Params{OnRefuse: func(r string) {
		v, _ := s.refused.LoadOrStore(r, new(atomic.Int64))
		v.(*atomic.Int64).Add(1)
	}})
	s.ln = g
	if wrap != nil {
		s.ln = wrap(g)
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			c, err := s.ln.Accept()
			if err != nil {
				return
			}
			s.accepted.Add(1)
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				defer c.Close()
				_, _ = io.Copy(c, c)
			}()
		}
	}()
	t.Cleanup(func() { _ = s.ln.Close(); s.wg.Wait() })
	return s, g
}

func (s *server) refusedFor(reason string) int64 {
	if v, ok := s.refused.Load(reason); ok {
		return v.(*atomic.Int64).Load()
	}
	return 0
}

func dial(t *testing.T, addr net.Addr) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr.String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// closedByServer reports whether the server closed c within d.
func closedByServer(c net.Conn, d time.Duration) bool {
	_ = c.SetReadDeadline(time.Now().Add(d))
	_, err := io.Copy(io.Discard, c) // echoed bytes, then the close
	return err == nil || isReset(err)
}

func isReset(err error) bool {
	var ne *net.OpError
	return errors.As(err, &ne) && !ne.Timeout()
}

func TestPerIPCap(t *testing.T) {
	s, g := startServer(t, Config{MaxPerIP: 3, FirstMessage: time.Minute}, nil)
	var conns []net.Conn
	for range 5 {
		conns = append(conns, dial(t, g.Addr()))
	}
	waitFor(t, "2 refusals", func() bool { return s.refusedFor(RefusedPerIP) == 2 })
	if got := s.accepted.Load(); got != 3 {
		t.Fatalf("accepted %d, want 3", got)
	}
	if g.Open() != 3 {
		t.Fatalf("open = %d, want 3", g.Open())
	}
	// Closing one frees its slot.
	_ = conns[0].Close()
	waitFor(t, "slot freed", func() bool { return g.Open() == 2 })
	dial(t, g.Addr())
	waitFor(t, "4th accept", func() bool { return s.accepted.Load() == 4 })
}

func TestMaxConnsAndSharedBudget(t *testing.T) {
	b := NewBudget(4)
	s1, g1 := startServer(t, Config{MaxConns: 3, FirstMessage: time.Minute, Budget: b}, nil)
	s2, g2 := startServer(t, Config{MaxConns: 10, FirstMessage: time.Minute, Budget: b}, nil)
	for range 4 {
		dial(t, g1.Addr())
	}
	waitFor(t, "listener cap", func() bool { return s1.refusedFor(RefusedMaxConns) == 1 })
	for range 3 {
		dial(t, g2.Addr())
	}
	waitFor(t, "budget", func() bool { return s2.refusedFor(RefusedBudget) == 2 })
	if b.InUse() != 4 {
		t.Fatalf("budget in use %d, want 4", b.InUse())
	}
}

func TestFirstMessageDeadline(t *testing.T) {
	_, g := startServer(t, Config{FirstMessage: 150 * time.Millisecond, MinFirstBytes: 4, Idle: time.Minute}, nil)
	silent := dial(t, g.Addr())
	if !closedByServer(silent, 3*time.Second) {
		t.Fatal("a connection that never spoke was kept past the first-message deadline")
	}
	// Dribbling fewer than MinFirstBytes does not extend the deadline.
	slow := dial(t, g.Addr())
	start := time.Now()
	for range 3 {
		_, _ = slow.Write([]byte("x"))
		time.Sleep(40 * time.Millisecond)
	}
	if !closedByServer(slow, 3*time.Second) || time.Since(start) > 2*time.Second {
		t.Fatal("a connection dribbling bytes outlived the first-message deadline")
	}
	waitFor(t, "slots released", func() bool { return g.Open() == 0 })
}

func TestIdleAfterFirstMessage(t *testing.T) {
	_, g := startServer(t, Config{FirstMessage: 150 * time.Millisecond, MinFirstBytes: 4, Idle: 400 * time.Millisecond}, nil)
	c := dial(t, g.Addr())
	buf := make([]byte, 5)
	// Keep talking past the first-message deadline: each read renews the idle timeout.
	for range 6 {
		if _, err := c.Write([]byte("hello")); err != nil {
			t.Fatal(err)
		}
		_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
		if _, err := io.ReadFull(c, buf); err != nil {
			t.Fatalf("echo: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	// Then fall silent: closed after the idle timeout.
	if !closedByServer(c, 3*time.Second) {
		t.Fatal("an idle connection was kept")
	}
}

func TestTLSHandshakeDeadline(t *testing.T) {
	conf := &tls.Config{Certificates: []tls.Certificate{selfSigned(t)}}
	_, g := startServer(t, Config{FirstMessage: 200 * time.Millisecond, MinFirstBytes: 16}, func(l net.Listener) net.Listener {
		return tls.NewListener(l, conf)
	})
	// A TCP connection that never starts the handshake.
	raw := dial(t, g.Addr())
	if !closedByServer(raw, 3*time.Second) {
		t.Fatal("a connection without a TLS handshake was kept")
	}
	// A real client completes the handshake and is served.
	c, err := tls.Dial("tcp", g.Addr().String(), &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write([]byte("ping")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4)
	_ = c.SetReadDeadline(time.Now().Add(3 * time.Second))
	if _, err := io.ReadFull(c, buf); err != nil || string(buf) != "ping" {
		t.Fatalf("echo over TLS: %q %v", buf, err)
	}
}

func TestBudgetFromRlimit(t *testing.T) {
	b := BudgetFromRlimit(1 << 30)
	if b.Max() != 64 {
		t.Fatalf("floor: max = %d, want 64", b.Max())
	}
	if b := BudgetFromRlimit(16); b.Max() < 64 || b.Max() > fileLimit() {
		t.Fatalf("max = %d, limit %d", b.Max(), fileLimit())
	}
	var nilB *Budget
	if !nilB.acquire() || nilB.Max() != 0 || nilB.InUse() != 0 {
		t.Fatal("nil budget must be unlimited")
	}
	nilB.release()
}

func selfSigned(t *testing.T) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		DNSNames: []string{"localhost"}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

func TestMain(m *testing.M) { os.Exit(m.Run()) }
