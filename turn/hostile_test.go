//go:build linux

package turn

import (
	"bytes"
	"crypto/tls"
	"net"
	"net/netip"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/stun/v3"
	pionturn "github.com/pion/turn/v4"

	"github.com/confab-media/confab/internal/netguard"
)

// allocateRaw allocates with c and returns the relayed address.
func (c *rawClient) allocateRaw() netip.AddrPort {
	c.t.Helper()
	res := c.authed(stun.NewType(stun.MethodAllocate, stun.ClassRequest), requestedUDP{})
	var relayed stun.XORMappedAddress
	if res.Type.Class != stun.ClassSuccessResponse || relayed.GetFromAs(res, stun.AttrXORRelayedAddress) != nil {
		c.t.Fatalf("Allocate: %v %v", res.Type, code(res))
	}
	ip, _ := netip.AddrFromSlice(relayed.IP)
	return netip.AddrPortFrom(ip.Unmap(), uint16(relayed.Port))
}

// send sends a Send indication (RFC 8656 §11.1) carrying data to peer.
func (c *rawClient) send(peer netip.AddrPort, data []byte) {
	c.t.Helper()
	msg, err := stun.Build(stun.TransactionID, stun.NewType(stun.MethodSend, stun.ClassIndication),
		peerAttr(peer), dataAttr(data), stun.Fingerprint)
	if err != nil {
		c.t.Fatal(err)
	}
	if _, err := c.conn.WriteTo(msg.Raw, c.server); err != nil {
		c.t.Fatal(err)
	}
}

// dataIndications counts the Data indications (RFC 8656 §11.4) from peer
// that arrive within wait.
func (c *rawClient) dataIndications(peer netip.AddrPort, wait time.Duration) int {
	c.t.Helper()
	buf := make([]byte, 1600)
	n := 0
	_ = c.conn.SetReadDeadline(time.Now().Add(wait))
	for {
		k, err := c.conn.Read(buf)
		if err != nil {
			return n
		}
		m := &stun.Message{Raw: append([]byte(nil), buf[:k]...)}
		var from stun.XORMappedAddress
		if m.Decode() != nil || m.Type != stun.NewType(stun.MethodData, stun.ClassIndication) ||
			from.GetFromAs(m, stun.AttrXORPeerAddress) != nil {
			continue
		}
		if ip, _ := netip.AddrFromSlice(from.IP); netip.AddrPortFrom(ip.Unmap(), uint16(from.Port)) == peer {
			n++
		}
	}
}

type dataAttr []byte

func (d dataAttr) AddTo(m *stun.Message) error {
	m.Add(stun.AttrData, d)
	return nil
}

// TestPeerPortEnforced: with only the media socket allowed (address AND
// port), another port on the same address is refused on CreatePermission
// and ChannelBind (403), and neither a Send indication to it nor a datagram
// from it is relayed, although pion/turn's permission (per address) covers
// both. Before the fix the policy was per address: all three went through.
func TestPeerPortEnforced(t *testing.T) {
	media, other := newEchoPeer(t), newEchoPeer(t) // both on 127.0.0.1
	mediaAP, otherAP := media.addr().AddrPort(), other.addr().AddrPort()
	h := newHarness(t, Config{AllowedPeers: []Peer{PeerAt(mediaAP)}}, Params{})
	rc := newRawClient(t, h.udp, minter(testSecret).Mint("attendee-1"))
	relayed := rc.allocateRaw()

	perm := func(peer netip.AddrPort) stun.ErrorCode {
		return code(rc.authed(stun.NewType(stun.MethodCreatePermission, stun.ClassRequest), peerAttr(peer)))
	}
	if c := perm(mediaAP); c != 0 {
		t.Fatalf("CreatePermission(media %v): %v", mediaAP, c)
	}
	for _, peer := range []netip.AddrPort{otherAP, netip.MustParseAddrPort(h.udp), netip.MustParseAddrPort(h.tcp),
		netip.MustParseAddrPort("8.8.8.8:53"), netip.MustParseAddrPort("192.0.2.1:5060")} {
		if c := perm(peer); c != stun.CodeForbidden {
			t.Errorf("CreatePermission(%v): %v, want 403", peer, c)
		}
		if c := code(rc.authed(stun.NewType(stun.MethodChannelBind, stun.ClassRequest), peerAttr(peer), channelAttr(0x4002))); c != stun.CodeForbidden {
			t.Errorf("ChannelBind(%v): %v, want 403", peer, c)
		}
	}

	rc.send(otherAP, []byte("OPTIONS sip:x SIP/2.0\r\n\r\n"))
	rc.send(mediaAP, []byte("media"))
	if n := rc.dataIndications(mediaAP, time.Second); n != 1 {
		t.Errorf("%d echoes from the media socket, want 1", n)
	}
	// The other port on the permitted address sends to the relay.
	if _, err := other.conn.WriteToUDPAddrPort([]byte("hello"), relayed); err != nil {
		t.Fatal(err)
	}
	if n := rc.dataIndications(otherAP, 500*time.Millisecond); n != 0 {
		t.Errorf("%d datagrams from %v relayed to the client, want 0", n, otherAP)
	}
	// other got one datagram: the one it sent itself is not counted, so
	// only a relayed Send would show.
	if n := other.received.Load(); n != 0 {
		t.Errorf("the forbidden port received %d datagrams", n)
	}
	if got := h.refusals(reasonForbiddenPeer); got < 11 {
		t.Errorf("refusals{forbidden_peer} = %v, want ≥ 11", got)
	}
}

// TestOwnListenersRefused: an "ip" entry (any port) does not open the TURN
// listeners on that address.
func TestOwnListenersRefused(t *testing.T) {
	h := newHarness(t, Config{AllowedPeers: loopbackPeers, DeniedPeers: []netip.AddrPort{netip.MustParseAddrPort("0.0.0.0:5060")}}, Params{})
	peer := newEchoPeer(t)
	rc := newRawClient(t, h.udp, minter(testSecret).Mint("attendee-1"))
	rc.allocateRaw()
	for _, ap := range []string{h.udp, h.tcp, "127.0.0.1:5060"} {
		res := rc.authed(stun.NewType(stun.MethodCreatePermission, stun.ClassRequest), peerAttr(netip.MustParseAddrPort(ap)))
		if code(res) != stun.CodeForbidden {
			t.Errorf("CreatePermission(%s): %v %v, want 403", ap, res.Type, code(res))
		}
	}
	if res := rc.authed(stun.NewType(stun.MethodCreatePermission, stun.ClassRequest), peerAttr(peer.addr().AddrPort())); res.Type.Class != stun.ClassSuccessResponse {
		t.Errorf("CreatePermission(echo peer): %v %v", res.Type, code(res))
	}
}

type panicCount struct{ n atomic.Int64 }

func (c *panicCount) Inc() { c.n.Add(1) }

var panicMagic = []byte("confab-test-panic")

func panicOnMagic(pkt []byte) {
	if bytes.Contains(pkt, panicMagic) {
		panic("test: poisoned datagram")
	}
}

// TestRelayLoopPanicContained: a datagram that makes the relay engine panic
// is dropped and counted; the engine goes on relaying for the client
// already relaying through it and for new ones.
func TestRelayLoopPanicContained(t *testing.T) {
	panics := &panicCount{}
	h := newHarness(t, Config{AllowedPeers: loopbackPeers, UDPSockets: 1}, Params{Panics: panics, testHook: panicOnMagic})
	peer := newEchoPeer(t)
	c := newPionClient(t, h.udp, minter(testSecret).Mint("attendee-1"), false)
	relay := c.allocate(t)
	if got := roundTrips(t, relay, peer.addr(), 5, 2*time.Second); got != 5 {
		t.Fatalf("%d/5 echoes before", got)
	}
	evil, err := net.Dial("udp4", h.udp)
	if err != nil {
		t.Fatal(err)
	}
	defer evil.Close()
	for range 3 {
		if _, err := evil.Write(append([]byte{0x40, 0x00, 0x00, 0x11}, panicMagic...)); err != nil {
			t.Fatal(err)
		}
	}
	h.eventually(func() bool { return panics.n.Load() == 3 })
	if got := roundTrips(t, relay, peer.addr(), 20, 2*time.Second); got != 20 {
		t.Errorf("%d/20 echoes after the panics", got)
	}
	c2 := newPionClient(t, h.udp, minter(testSecret).Mint("attendee-2"), false)
	if got := roundTrips(t, c2.allocate(t), peer.addr(), 5, 2*time.Second); got != 5 {
		t.Errorf("new client: %d/5 echoes after the panics", got)
	}
}

// TestScreenPanicContained: a STUN message over TCP that makes screen panic
// is dropped; the connection and the server go on.
func TestScreenPanicContained(t *testing.T) {
	panics := &panicCount{}
	h := newHarness(t, Config{AllowedPeers: loopbackPeers}, Params{Panics: panics, testHook: panicOnMagic})
	conn, err := net.Dial("tcp4", h.tcp)
	if err != nil {
		t.Fatal(err)
	}
	msg := stun.MustBuild(stun.TransactionID, stun.BindingRequest, stun.NewSoftware(string(panicMagic)))
	if _, err := conn.Write(msg.Raw); err != nil {
		t.Fatal(err)
	}
	h.eventually(func() bool { return panics.n.Load() == 1 })
	c := newPionClientOn(t, h.tcp, minter(testSecret).Mint("attendee-1"), pionturn.NewSTUNConn(conn))
	peer := newEchoPeer(t)
	if got := roundTrips(t, c.allocate(t), peer.addr(), 5, 2*time.Second); got != 5 {
		t.Errorf("%d/5 echoes on the connection that sent the poisoned message", got)
	}
}

// TestStreamGuard: idle TCP and TLS connections that send nothing (no TLS
// handshake) are closed after Stream.FirstMessage, connections past the
// per-IP cap are closed at once, and a real client still gets through.
// Before netguard they were held forever.
func TestStreamGuard(t *testing.T) {
	certFile, keyFile, pool := selfSigned(t, t.TempDir())
	h := newHarness(t, Config{AllowedPeers: loopbackPeers, CertFile: certFile, KeyFile: keyFile, ListenTLS: "127.0.0.1:0",
		Stream: streamLimits(400*time.Millisecond, 4)}, Params{})
	_, _, tlsAddr := h.srv.Addrs()
	for _, addr := range []string{h.tcp, tlsAddr.String()} {
		var conns []net.Conn
		for range 6 {
			c, err := net.Dial("tcp4", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			conns = append(conns, c)
		}
		start := time.Now()
		closed := 0
		var lastClose time.Duration
		for _, c := range conns {
			_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
			if _, err := c.Read(make([]byte, 1)); err != nil && !isTimeout(err) {
				closed++
				lastClose = time.Since(start)
			}
		}
		if closed != 6 {
			t.Errorf("%s: %d/6 idle connections closed", addr, closed)
		}
		if lastClose < 300*time.Millisecond || lastClose > 3*time.Second {
			t.Errorf("%s: last idle connection closed after %v, want ≈ 400ms", addr, lastClose)
		}
	}
	if got := h.refusals(reasonStreamPerIP); got != 4 {
		t.Errorf("refusals{stream_per_ip} = %v, want 4 (2 per listener)", got)
	}
	peer := newEchoPeer(t)
	c := newPionClient(t, h.tcp, minter(testSecret).Mint("attendee-1"), true)
	if got := roundTrips(t, c.allocate(t), peer.addr(), 5, 2*time.Second); got != 5 {
		t.Errorf("TCP client after the flood: %d/5 echoes", got)
	}
	tc, err := tls.Dial("tcp4", tlsAddr.String(), &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	c2 := newPionClientOn(t, tlsAddr.String(), minter(testSecret).Mint("attendee-2"), pionturn.NewSTUNConn(tc))
	if got := roundTrips(t, c2.allocate(t), peer.addr(), 5, 2*time.Second); got != 5 {
		t.Errorf("TLS client after the flood: %d/5 echoes", got)
	}
}

// streamLimits is a test's Config.Stream: first-message and idle deadlines
// of d, perIP connections per source address.
func streamLimits(d time.Duration, perIP int) netguard.Config {
	return netguard.Config{FirstMessage: d, Idle: d, MaxPerIP: perIP}
}

func isTimeout(err error) bool {
	ne, ok := err.(net.Error)
	return ok && ne.Timeout()
}
