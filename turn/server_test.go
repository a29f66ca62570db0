//go:build linux

package turn

import (
	"crypto/tls"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/stun/v3"
	pionturn "github.com/pion/turn/v4"
)

func minter(secret []byte) *Minter { return NewMinter(secret, time.Hour, nil, nil) }

// TestRelayUDP relays through the Server with pion/turn's client: the first
// datagrams go as Send/Data indications (pion's path), then over the
// channel the client binds (Confab's fast path).
func TestRelayUDP(t *testing.T) {
	h := newHarness(t, Config{AllowedPeers: loopbackPeers}, Params{})
	peer := newEchoPeer(t)
	c := newPionClient(t, h.udp, minter(testSecret).Mint("attendee-1"), false)
	relay := c.allocate(t)
	if got := h.metric("confab_turn_allocations"); got != 1 {
		t.Errorf("allocations = %v, want 1", got)
	}
	if got := roundTrips(t, relay, peer.addr(), 20, 2*time.Second); got != 20 {
		t.Fatalf("%d/20 echoes", got)
	}
	// The channel binding completes asynchronously; once the mirror has it,
	// later datagrams take the fast path.
	r := h.onlyRelay()
	deadline := time.Now().Add(5 * time.Second)
	for _, ok := r.peerOf(0x4000); !ok; _, ok = r.peerOf(0x4000) {
		if time.Now().After(deadline) {
			t.Fatal("channel 0x4000 never bound")
		}
		roundTrips(t, relay, peer.addr(), 1, time.Second)
	}
	before := r.toPeer.packets.Load()
	if got := roundTrips(t, relay, peer.addr(), 50, 2*time.Second); got != 50 {
		t.Fatalf("over the channel: %d/50 echoes", got)
	}
	// The count of the last datagram before may land after it was read,
	// hence ≥ rather than ==.
	h.eventually(func() bool { return r.toPeer.packets.Load()-before >= 50 })
	if d := r.toPeer.packets.Load() - before; d < 50 || d > 51 {
		t.Errorf("relay counted %d datagrams to the peer, want 50", d)
	}
	// The engine counts a datagram to the client after sendmmsg returns,
	// which may be after the client has read it.
	h.eventually(func() bool { return h.metric("confab_turn_relayed_packets_total") >= 140 })
	if p, b := h.metric("confab_turn_relayed_packets_total"), h.metric("confab_turn_relayed_bytes_total"); p < 140 || b < 140*7 {
		t.Errorf("relayed %v packets, %v bytes; want ≥ 140, ≥ 980", p, b)
	}
}

// TestRelayTCP allocates over TURN-over-TCP (pion frames the stream; the
// relayed socket is read by an engine), with UDP on and off.
func TestRelayTCP(t *testing.T) {
	for _, udpOff := range []bool{false, true} {
		t.Run(fmt.Sprintf("DisableUDP=%v", udpOff), func(t *testing.T) {
			cfg := Config{AllowedPeers: loopbackPeers, DisableUDP: udpOff}
			if udpOff {
				cfg.ListenTCP = "127.0.0.1:0"
			}
			h := newHarness(t, cfg, Params{})
			if !udpOff && !strings.HasSuffix(h.tcp, h.udp[strings.LastIndex(h.udp, ":"):]) {
				t.Fatalf("tcp listener %q, want the UDP port (udp %q)", h.tcp, h.udp)
			}
			if udpOff && h.udp != "" {
				t.Fatalf("UDP listening on %s with DisableUDP", h.udp)
			}
			peer := newEchoPeer(t)
			c := newPionClient(t, h.tcp, minter(testSecret).Mint("attendee-1"), true)
			relay := c.allocate(t)
			if got := roundTrips(t, relay, peer.addr(), 30, 2*time.Second); got < 29 {
				t.Fatalf("%d/30 echoes over TCP", got)
			}
		})
	}
}

// TestRelayTLS allocates over TURN-over-TLS.
func TestRelayTLS(t *testing.T) {
	certFile, keyFile, pool := selfSigned(t, t.TempDir())
	h := newHarness(t, Config{AllowedPeers: loopbackPeers, CertFile: certFile, KeyFile: keyFile, ListenTLS: "127.0.0.1:0"}, Params{})
	_, _, tlsAddr := h.srv.Addrs()
	if tlsAddr == nil {
		t.Fatal("no TLS listener")
	}
	if uris := h.srv.URIs("127.0.0.1"); len(uris) != 3 || !strings.HasPrefix(uris[2], "turns:127.0.0.1:") {
		t.Errorf("URIs = %v", uris)
	}
	conn, err := tls.Dial("tcp4", tlsAddr.String(), &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12})
	if err != nil {
		t.Fatal(err)
	}
	peer := newEchoPeer(t)
	c := newPionClientOn(t, tlsAddr.String(), minter(testSecret).Mint("attendee-1"), pionturn.NewSTUNConn(conn))
	relay := c.allocate(t)
	if got := roundTrips(t, relay, peer.addr(), 20, 2*time.Second); got < 19 {
		t.Fatalf("%d/20 echoes over TLS", got)
	}
}

func TestAuthRefusals(t *testing.T) {
	active := atomic.Bool{}
	active.Store(true)
	h := newHarness(t, Config{AllowedPeers: loopbackPeers}, Params{
		Active: func(a string) bool { return a != "left" || active.Load() },
	})
	past := NewMinter(testSecret, time.Minute, nil, func() time.Time { return time.Now().Add(-time.Hour) })
	for _, tc := range []struct {
		name  string
		creds Credentials
		why   reason
	}{
		{"wrong secret", minter([]byte("not-the-secret")).Mint("attendee-1"), reasonBadPassword},
		{"expired", past.Mint("attendee-1"), reasonExpired},
		{"bad username", Credentials{Username: "attendee-1", Password: "x"}, reasonBadUsername},
	} {
		c := newPionClient(t, h.udp, tc.creds, false)
		if _, err := c.Allocate(); turnCode(err) != 401 {
			t.Errorf("%s: Allocate: %v, want 401", tc.name, err)
		}
		if got := h.refusals(tc.why); got != 1 {
			t.Errorf("%s: refusals{%s} = %v, want 1", tc.name, tc.why, got)
		}
	}

	// Active turning false refuses later requests of an attendee.
	left := minter(testSecret).Mint("left")
	rc := newRawClient(t, h.udp, left)
	if res := rc.authed(stun.NewType(stun.MethodAllocate, stun.ClassRequest), requestedUDP{}); res.Type.Class != stun.ClassSuccessResponse {
		t.Fatalf("Allocate: %v %v", res.Type, code(res))
	}
	active.Store(false)
	res := rc.authed(stun.NewType(stun.MethodRefresh, stun.ClassRequest))
	if code(res) != stun.CodeUnauthorized {
		t.Fatalf("Refresh after Active turned false: %v %v, want 401", res.Type, code(res))
	}
	var realm stun.Realm
	var nonce stun.Nonce
	if realm.GetFrom(res) != nil || nonce.GetFrom(res) != nil || realm.String() != "confab" {
		t.Errorf("401 without REALM and NONCE: %v", res)
	}
	if got := h.refusals(reasonInactive); got != 1 {
		t.Errorf("refusals{inactive} = %v, want 1", got)
	}
}

// TestForbiddenPeers checks that CreatePermission and ChannelBind to refused
// addresses get 403 and relay nothing, and that an allowed peer works.
func TestForbiddenPeers(t *testing.T) {
	h := newHarness(t, Config{AllowedPeers: []Peer{mustPeer("127.0.0.2")}}, Params{})
	peer := newEchoPeer(t) // on 127.0.0.1: loopback, refused by default
	creds := minter(testSecret).Mint("attendee-1")
	c := newPionClient(t, h.udp, creds, false)
	relay := c.allocate(t)
	for _, addr := range []string{peer.addr().String(), "10.1.2.3:5000", "169.254.169.254:80", "192.168.1.1:53"} {
		ua, _ := net.ResolveUDPAddr("udp4", addr)
		if err := c.CreatePermission(ua); turnCode(err) != 403 {
			t.Errorf("CreatePermission(%s): %v, want 403", addr, err)
		}
	}
	if _, err := relay.WriteTo([]byte("leak?"), peer.addr()); err == nil {
		t.Error("WriteTo a forbidden peer succeeded")
	}
	rc := newRawClient(t, h.udp, creds)
	if res := rc.authed(stun.NewType(stun.MethodAllocate, stun.ClassRequest), requestedUDP{}); res.Type.Class != stun.ClassSuccessResponse {
		t.Fatalf("Allocate: %v %v", res.Type, code(res))
	}
	res := rc.authed(stun.NewType(stun.MethodChannelBind, stun.ClassRequest),
		peerAttr(peer.addr().AddrPort()), channelAttr(0x4001))
	if code(res) != stun.CodeForbidden {
		t.Errorf("ChannelBind to %v: %v %v, want 403", peer.addr(), res.Type, code(res))
	}
	if err := stun.MessageIntegrity(rc.key).Check(res); err != nil {
		t.Errorf("403 not signed: %v", err)
	}
	res = rc.authed(stun.NewType(stun.MethodChannelBind, stun.ClassRequest),
		peerAttr(netip.MustParseAddrPort("127.0.0.2:4000")), channelAttr(0x4001))
	if res.Type.Class != stun.ClassSuccessResponse {
		t.Errorf("ChannelBind to an AllowedPeers address: %v %v", res.Type, code(res))
	}
	time.Sleep(100 * time.Millisecond)
	if n := peer.received.Load(); n != 0 {
		t.Errorf("forbidden peer received %d datagrams", n)
	}
	if got := h.refusals(reasonForbiddenPeer); got < 5 {
		t.Errorf("refusals{forbidden_peer} = %v, want ≥ 5", got)
	}
}

func TestQuotas(t *testing.T) {
	h := newHarness(t, Config{MaxAllocationsPerUser: 2, MaxAllocations: 3}, Params{})
	m := minter(testSecret)
	for i := range 2 {
		newPionClient(t, h.udp, m.Mint("greedy"), false).allocate(t)
		_ = i
	}
	if _, err := newPionClient(t, h.udp, m.Mint("greedy"), false).Allocate(); turnCode(err) != 486 {
		t.Errorf("third allocation of one attendee: %v, want 486", err)
	}
	newPionClient(t, h.udp, m.Mint("other"), false).allocate(t)
	if _, err := newPionClient(t, h.udp, m.Mint("third"), false).Allocate(); turnCode(err) != 486 {
		t.Errorf("allocation past the server cap: %v, want 486", err)
	}
	if u, g := h.refusals(reasonUserQuota), h.refusals(reasonGlobalQuota); u != 1 || g != 1 {
		t.Errorf("refusals user_quota=%v global_quota=%v, want 1 and 1", u, g)
	}
	if got := h.metric("confab_turn_allocations"); got != 3 {
		t.Errorf("allocations = %v, want 3", got)
	}
}

// TestRevoke checks that Revoke stops relaying both ways at once and, with
// Active false, refuses the attendee's next Allocate.
func TestRevoke(t *testing.T) {
	revoked := atomic.Bool{}
	h := newHarness(t, Config{AllowedPeers: loopbackPeers}, Params{
		Active: func(a string) bool { return a != "attendee-1" || !revoked.Load() },
	})
	peer := newEchoPeer(t)
	creds := minter(testSecret).Mint("attendee-1")
	c := newPionClient(t, h.udp, creds, false)
	relay := c.allocate(t)
	other := newPionClient(t, h.udp, minter(testSecret).Mint("attendee-2"), false).allocate(t)
	if got := roundTrips(t, relay, peer.addr(), 20, 2*time.Second); got != 20 {
		t.Fatalf("%d/20 echoes before Revoke", got)
	}

	revoked.Store(true)
	h.srv.Revoke("attendee-1")
	if got := h.metric("confab_turn_allocations"); got != 1 {
		t.Errorf("allocations after Revoke = %v, want 1", got)
	}
	seen := peer.received.Load()
	if got := roundTrips(t, relay, peer.addr(), 5, 200*time.Millisecond); got != 0 {
		t.Errorf("%d echoes after Revoke", got)
	}
	if n := peer.received.Load() - seen; n != 0 {
		t.Errorf("peer received %d datagrams after Revoke", n)
	}
	if got := roundTrips(t, other, peer.addr(), 5, 2*time.Second); got != 5 {
		t.Errorf("another attendee: %d/5 echoes after Revoke", got)
	}
	if _, err := newPionClient(t, h.udp, creds, false).Allocate(); turnCode(err) != 401 {
		t.Errorf("Allocate after Revoke: %v, want 401", err)
	}
}

func TestURIsAndAddrs(t *testing.T) {
	h := newHarness(t, Config{}, Params{})
	udp, tcp, tls := h.srv.Addrs()
	if udp == nil || tcp == nil || tls != nil {
		t.Fatalf("Addrs = %v %v %v", udp, tcp, tls)
	}
	port := udp.(*net.UDPAddr).Port
	want := []string{
		"turn:turn.example.com:" + strconv.Itoa(port) + "?transport=udp",
		"turn:turn.example.com:" + strconv.Itoa(tcp.(*net.TCPAddr).Port) + "?transport=tcp",
	}
	if got := h.srv.URIs("turn.example.com"); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("URIs = %v, want %v", got, want)
	}
	if got := h.srv.URIs("::1")[0]; got != "turn:[::1]:"+strconv.Itoa(port)+"?transport=udp" {
		t.Errorf("IPv6 URI = %q", got)
	}
}

// eventually waits up to 5 s for cond.
func (h *harness) eventually(cond func() bool) {
	for deadline := time.Now().Add(5 * time.Second); !cond() && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
}

func (h *harness) onlyRelay() *relay {
	h.t.Helper()
	h.srv.mu.Lock()
	defer h.srv.mu.Unlock()
	if len(h.srv.relays) != 1 {
		h.t.Fatalf("%d relays, want 1", len(h.srv.relays))
	}
	for _, r := range h.srv.relays {
		return r
	}
	return nil
}

// TestChannelDataFastPath drives ChannelData by hand: once bound, a channel
// is relayed by Confab (replies unpadded, pion/turn pads to 4 bytes), and
// malformed or unbound ChannelData is dropped.
func TestChannelDataFastPath(t *testing.T) {
	if pionRelayForced() {
		t.Skip("the fast path's framing; testPionChannelData checks pion/turn's")
	}
	checkChannelData(t, "\x40\x01\x00\x05hello")
}

// checkChannelData binds a channel to an echo peer and sends ChannelData
// that is malformed, unbound, then good: only the good one is relayed, and
// the echo comes back framed as want.
func checkChannelData(t *testing.T, want string) {
	t.Helper()
	h := newHarness(t, Config{AllowedPeers: loopbackPeers}, Params{})
	peer := newEchoPeer(t)
	rc := newRawClient(t, h.udp, minter(testSecret).Mint("attendee-1"))
	if res := rc.authed(stun.NewType(stun.MethodAllocate, stun.ClassRequest), requestedUDP{}); res.Type.Class != stun.ClassSuccessResponse {
		t.Fatalf("Allocate: %v %v", res.Type, code(res))
	}
	if res := rc.authed(stun.NewType(stun.MethodChannelBind, stun.ClassRequest),
		peerAttr(peer.addr().AddrPort()), channelAttr(0x4001)); res.Type.Class != stun.ClassSuccessResponse {
		t.Fatalf("ChannelBind: %v %v", res.Type, code(res))
	}
	send := func(b ...byte) {
		if _, err := rc.conn.WriteTo(b, rc.server); err != nil {
			t.Fatal(err)
		}
	}
	send(0x40, 0x01, 0x00, 0x09, 'h', 'e', 'l', 'l', 'o') // length past the end
	send(0x4f, 0xff, 0x00, 0x01, 'x')                     // unbound channel
	send(0x40, 0x01, 0x00, 0x05, 'h', 'e', 'l', 'l', 'o', 0, 0, 0)
	buf := make([]byte, 64)
	_ = rc.conn.SetReadDeadline(time.Now().Add(2 * time.Second))
	n, err := rc.conn.Read(buf)
	if err != nil {
		t.Fatalf("no ChannelData back: %v", err)
	}
	if got := string(buf[:n]); got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
	if n := peer.received.Load(); n != 1 {
		t.Errorf("peer received %d datagrams, want 1", n)
	}
}
