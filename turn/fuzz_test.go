//go:build linux

package turn

import (
	"net"
	"net/netip"
	"testing"

	"github.com/pion/stun/v3"
)

// FuzzParsePeer: ParsePeer never panics, what it accepts prints back to
// itself, and the policy built from it judges any address without
// panicking.
func FuzzParsePeer(f *testing.F) {
	for _, s := range []string{"192.0.2.7", "192.0.2.7:5000", "[2001:db8::1]:5000", "10.0.0.0/8", "::ffff:10.0.0.0/104", "0.0.0.0/0", "x", ""} {
		f.Add(s, []byte{8, 8, 8, 8}, uint16(53))
	}
	f.Fuzz(func(t *testing.T, s string, ip []byte, port uint16) {
		p, err := ParsePeer(s)
		if err != nil {
			return
		}
		q, err := ParsePeer(p.String())
		if err != nil || q != p {
			t.Fatalf("ParsePeer(%q) = %v, which parses back as %v, %v", s, p, q, err)
		}
		addr, ok := netip.AddrFromSlice(ip)
		if !ok {
			return
		}
		pol := newPeerPolicy([]Peer{p}, []netip.AddrPort{netip.AddrPortFrom(netip.IPv4Unspecified(), 8080)}, false)
		_ = pol.permits(netip.AddrPortFrom(addr, port))
		_ = pol.permitsIP(addr)
	})
}

// FuzzScreen feeds arbitrary client messages to screen, the first code to
// read a TURN request: it must neither panic (a contained panic is counted,
// and fails here) nor answer anything but STUN requests.
func FuzzScreen(f *testing.F) {
	panics := &panicCount{}
	// Not newHarness: its leak check trips on the fuzzing engine's own
	// signal goroutine under -fuzz.
	srv, err := New(Config{ListenUDP: "127.0.0.1:0", AllowedPeers: loopbackPeers, UDPSockets: 1, DisableTCP: true},
		Params{Secret: testSecret, Panics: panics})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { _ = srv.Close() })
	creds := minter(testSecret).Mint("attendee-1")
	key := stun.NewLongTermIntegrity(creds.Username, defaultRealm, creds.Password)
	authed := func(typ stun.MessageType, setters ...stun.Setter) []byte {
		all := append([]stun.Setter{stun.TransactionID, typ}, setters...)
		all = append(all, stun.NewUsername(creds.Username), stun.NewRealm(defaultRealm), stun.NewNonce("n"), key, stun.Fingerprint)
		return stun.MustBuild(all...).Raw
	}
	f.Add(authed(stun.NewType(stun.MethodAllocate, stun.ClassRequest), requestedUDP{}))
	f.Add(authed(stun.NewType(stun.MethodCreatePermission, stun.ClassRequest), peerAttr(netip.MustParseAddrPort("8.8.8.8:53"))))
	f.Add(authed(stun.NewType(stun.MethodChannelBind, stun.ClassRequest), peerAttr(netip.MustParseAddrPort("127.0.0.1:9")), channelAttr(0x4001)))
	f.Add(stun.MustBuild(stun.TransactionID, stun.BindingRequest).Raw)
	f.Add([]byte{0x40, 0x00, 0x00, 0x04, 1, 2, 3, 4})
	l := srv.udp[0]
	to := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 9} // discard
	f.Fuzz(func(t *testing.T, pkt []byte) {
		answered := srv.screen(l, pkt, to)
		if answered && !stun.IsMessage(pkt) {
			t.Fatalf("screen answered a non-STUN message % x", pkt)
		}
		if n := panics.n.Load(); n != 0 {
			t.Fatalf("screen panicked (%d) on % x", n, pkt)
		}
	})
}
