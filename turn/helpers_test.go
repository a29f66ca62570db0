//go:build linux

package turn

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/logging"
	"github.com/pion/stun/v3"
	pionturn "github.com/pion/turn/v4"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/confab-media/confab/internal/testkit"
)

var testSecret = []byte("confab-test-secret")

// loopbackPeers lets relays reach any port on 127.0.0.1 (but the TURN
// listeners themselves), where the tests' echo peers listen.
var loopbackPeers = []Peer{mustPeer("127.0.0.1")}

func mustPeer(s string) Peer {
	p, err := ParsePeer(s)
	if err != nil {
		panic(err)
	}
	return p
}

// harness is one Server on loopback with its metrics registry.
type harness struct {
	t   testing.TB
	srv *Server
	reg *prometheus.Registry
	udp string // "127.0.0.1:port"
	tcp string
}

// relayEnv set to "pion" makes newHarness start Servers on pion/turn's
// relay (Params.pionRelay) instead of the fast path: TestPionRelay sets it
// for its subtests, and
//
//	CONFAB_TURN_RELAY=pion go test ./turn/
//
// runs the whole package on it.
const relayEnv = "CONFAB_TURN_RELAY"

// pionRelayForced reports whether relayEnv puts every harness on pion/turn's
// relay.
func pionRelayForced() bool { return os.Getenv(relayEnv) == "pion" }

// newHarness starts a Server on random loopback ports; cfg fields left zero
// take test defaults (loopback peers allowed, 2 UDP sockets). It checks for
// leaked goroutines at the end of the test.
func newHarness(t testing.TB, cfg Config, p Params) *harness {
	t.Helper()
	testkit.CheckLeaks(t)
	if cfg.ListenUDP == "" {
		cfg.ListenUDP = "127.0.0.1:0"
	}
	if cfg.UDPSockets == 0 {
		cfg.UDPSockets = 2
	}
	if p.Secret == nil {
		p.Secret = testSecret
	}
	if pionRelayForced() {
		p.pionRelay = true
	}
	reg := prometheus.NewRegistry()
	p.Registerer = reg
	srv, err := New(cfg, p)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() {
		if err := srv.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	h := &harness{t: t, srv: srv, reg: reg}
	udp, tcp, _ := srv.Addrs()
	if udp != nil {
		h.udp = udp.String()
	}
	if tcp != nil {
		h.tcp = tcp.String()
	}
	return h
}

// metric reads one series of the harness's registry.
func (h *harness) metric(name string, labels ...string) float64 {
	h.t.Helper()
	mfs, err := h.reg.Gather()
	if err != nil {
		h.t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	metrics:
		for _, m := range mf.GetMetric() {
			for i := 0; i+1 < len(labels); i += 2 {
				found := false
				for _, lp := range m.GetLabel() {
					if lp.GetName() == labels[i] && lp.GetValue() == labels[i+1] {
						found = true
					}
				}
				if !found {
					continue metrics
				}
			}
			switch {
			case m.Gauge != nil:
				return m.GetGauge().GetValue()
			case m.Counter != nil:
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}

func (h *harness) refusals(why reason) float64 {
	return h.metric("confab_turn_refusals_total", "reason", why.String())
}

// pionClient is pion/turn's TURN client over UDP (or a TCP stream).
type pionClient struct {
	*pionturn.Client
	conn net.PacketConn
}

func newPionClient(t *testing.T, server string, creds Credentials, tcp bool) *pionClient {
	t.Helper()
	if tcp {
		c, err := net.Dial("tcp4", server)
		if err != nil {
			t.Fatal(err)
		}
		return newPionClientOn(t, server, creds, pionturn.NewSTUNConn(c))
	}
	c, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return newPionClientOn(t, server, creds, c)
}

// newPionClientOn runs the client on conn (a UDP socket, or pion's STUNConn
// over a TCP/TLS stream); the client and conn are closed at the end of the
// test.
func newPionClientOn(t *testing.T, server string, creds Credentials, conn net.PacketConn) *pionClient {
	t.Helper()
	quiet := logging.NewDefaultLoggerFactory()
	quiet.DefaultLogLevel = logging.LogLevelDisabled
	c, err := pionturn.NewClient(&pionturn.ClientConfig{
		TURNServerAddr: server,
		STUNServerAddr: server,
		Username:       creds.Username,
		Password:       creds.Password,
		Conn:           conn,
		RTO:            200 * time.Millisecond,
		LoggerFactory:  quiet,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Listen(); err != nil {
		t.Fatal(err)
	}
	pc := &pionClient{Client: c, conn: conn}
	t.Cleanup(func() {
		c.Close()
		conn.Close()
	})
	return pc
}

// selfSigned writes a certificate for 127.0.0.1 and its key to dir.
func selfSigned(t *testing.T, dir string) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "confab-turn-test"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

// allocate allocates and closes the relayed conn at the end of the test.
func (c *pionClient) allocate(t *testing.T) net.PacketConn {
	t.Helper()
	relay, err := c.Allocate()
	if err != nil {
		t.Fatalf("Allocate: %v", err)
	}
	t.Cleanup(func() { relay.Close() })
	return relay
}

// turnCode returns the STUN error code in err, or 0.
func turnCode(err error) int {
	var te *stun.TurnError
	if errors.As(err, &te) {
		return int(te.ErrorCodeAttr.Code)
	}
	return 0
}

// echoPeer is a UDP echo server on loopback that counts what it gets.
type echoPeer struct {
	conn     *net.UDPConn
	received atomic.Int64
	wg       sync.WaitGroup
}

func newEchoPeer(t testing.TB) *echoPeer {
	t.Helper()
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	p := &echoPeer{conn: c}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		buf := make([]byte, 2048)
		for {
			n, from, err := c.ReadFromUDPAddrPort(buf)
			if err != nil {
				return
			}
			p.received.Add(1)
			_, _ = c.WriteToUDPAddrPort(buf[:n], from)
		}
	}()
	t.Cleanup(func() {
		c.Close()
		p.wg.Wait()
	})
	return p
}

func (p *echoPeer) addr() *net.UDPAddr { return p.conn.LocalAddr().(*net.UDPAddr) }

// roundTrips sends n datagrams through relay to the echo peer and counts the
// echoes that come back within wait each.
func roundTrips(t *testing.T, relay net.PacketConn, peer net.Addr, n int, wait time.Duration) int {
	t.Helper()
	buf := make([]byte, 1500)
	got := 0
	for i := range n {
		msg := []byte{byte(i), 'c', 'o', 'n', 'f', 'a', 'b'}
		if _, err := relay.WriteTo(msg, peer); err != nil {
			t.Fatalf("WriteTo: %v", err)
		}
		if err := relay.SetReadDeadline(time.Now().Add(wait)); err != nil {
			t.Fatal(err)
		}
		for {
			k, _, err := relay.ReadFrom(buf)
			if err != nil {
				break
			}
			if k == len(msg) && buf[0] == byte(i) {
				got++
				break
			}
		}
	}
	return got
}

// rawClient speaks STUN by hand, to see exact response codes.
type rawClient struct {
	t      testing.TB
	conn   *net.UDPConn
	server *net.UDPAddr
	user   string
	key    stun.MessageIntegrity
	realm  stun.Realm
	nonce  stun.Nonce
}

func newRawClient(t testing.TB, server string, creds Credentials) *rawClient {
	t.Helper()
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	addr, err := net.ResolveUDPAddr("udp4", server)
	if err != nil {
		t.Fatal(err)
	}
	return &rawClient{t: t, conn: c, server: addr, user: creds.Username,
		key: stun.NewLongTermIntegrity(creds.Username, defaultRealm, creds.Password)}
}

// do sends a request built from setters and returns the response.
func (c *rawClient) do(setters ...stun.Setter) *stun.Message {
	c.t.Helper()
	req, err := stun.Build(append([]stun.Setter{stun.TransactionID}, setters...)...)
	if err != nil {
		c.t.Fatal(err)
	}
	buf := make([]byte, 1500)
	for range 10 { // retransmit (RFC 8489 §6.2.1), loopback rarely needs it
		if _, err := c.conn.WriteTo(req.Raw, c.server); err != nil {
			c.t.Fatal(err)
		}
		_ = c.conn.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
		for {
			n, err := c.conn.Read(buf)
			if err != nil {
				break
			}
			res := &stun.Message{Raw: append([]byte(nil), buf[:n]...)}
			if res.Decode() == nil && res.TransactionID == req.TransactionID {
				return res
			}
		}
	}
	c.t.Fatalf("no response to %v", req.Type)
	return nil
}

// authed sends an authenticated request, fetching a nonce first if needed.
func (c *rawClient) authed(typ stun.MessageType, setters ...stun.Setter) *stun.Message {
	c.t.Helper()
	if c.nonce == nil {
		res := c.do(stun.NewType(stun.MethodAllocate, stun.ClassRequest), requestedUDP{})
		if code(res) != stun.CodeUnauthorized {
			c.t.Fatalf("unauthenticated Allocate: got %v, want 401", code(res))
		}
		_ = c.nonce.GetFrom(res)
		_ = c.realm.GetFrom(res)
	}
	all := append([]stun.Setter{typ}, setters...)
	all = append(all, stun.NewUsername(c.user), c.realm, c.nonce, c.key, stun.Fingerprint)
	return c.do(all...)
}

func code(m *stun.Message) stun.ErrorCode {
	var ec stun.ErrorCodeAttribute
	if m.Type.Class != stun.ClassErrorResponse || ec.GetFrom(m) != nil {
		return 0
	}
	return ec.Code
}

// requestedUDP is REQUESTED-TRANSPORT UDP (RFC 8656 §18.7).
type requestedUDP struct{}

func (requestedUDP) AddTo(m *stun.Message) error {
	m.Add(stun.AttrRequestedTransport, []byte{17, 0, 0, 0})
	return nil
}

// peerAttr is XOR-PEER-ADDRESS (RFC 8656 §18.3).
type peerAttr netip.AddrPort

func (p peerAttr) AddTo(m *stun.Message) error {
	ap := netip.AddrPort(p)
	return stun.XORMappedAddress{IP: ap.Addr().AsSlice(), Port: int(ap.Port())}.AddToAs(m, stun.AttrXORPeerAddress)
}

// channelAttr is CHANNEL-NUMBER (RFC 8656 §18.1).
type channelAttr uint16

func (c channelAttr) AddTo(m *stun.Message) error {
	m.Add(stun.AttrChannelNumber, []byte{byte(c >> 8), byte(c), 0, 0})
	return nil
}
