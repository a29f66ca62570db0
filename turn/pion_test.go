//go:build linux

package turn

import (
	"testing"
)

// TestPionRelay runs the relay tests on pion/turn's relay, the UDP path of
// platforms without the fast path (pion.go), here where the fast path
// exists: allocation over UDP, TCP and TLS, credentials, the peer policy
// with ports, quotas, Revoke, addresses, panic containment and coturn's
// client must behave alike on both.
func TestPionRelay(t *testing.T) {
	for _, tc := range []struct {
		name string
		test func(*testing.T)
	}{
		{"RelayUDP", TestRelayUDP},
		{"RelayTCP", TestRelayTCP},
		{"RelayTLS", TestRelayTLS},
		{"AuthRefusals", TestAuthRefusals},
		{"ForbiddenPeers", TestForbiddenPeers},
		{"Quotas", TestQuotas},
		{"Revoke", TestRevoke},
		{"URIsAndAddrs", TestURIsAndAddrs},
		{"PeerPortEnforced", TestPeerPortEnforced},
		{"OwnListenersRefused", TestOwnListenersRefused},
		{"RelayLoopPanicContained", TestRelayLoopPanicContained},
		{"ScreenPanicContained", TestScreenPanicContained},
		{"StreamGuard", TestStreamGuard},
		{"ChannelData", testPionChannelData},
		{"CoturnClient", TestCoturnClient},
		{"CoturnClientWrongSecret", TestCoturnClientWrongSecret},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(relayEnv, "pion")
			tc.test(t)
		})
	}
}

// TestPionRelaySelected: Params.pionRelay gives one UDP socket and no
// engines, so TestPionRelay does test the fallback.
func TestPionRelaySelected(t *testing.T) {
	h := newHarness(t, Config{UDPSockets: 4}, Params{pionRelay: true})
	if h.srv.fast || len(h.srv.engines) != 0 || len(h.srv.udp) != 1 {
		t.Fatalf("fast=%v, %d engines, %d UDP lanes; want pion/turn's relay on one socket", h.srv.fast, len(h.srv.engines), len(h.srv.udp))
	}
	if _, ok := h.srv.udp[0].pc.(*laneConn); ok {
		t.Fatal("the UDP lane is the fast path's")
	}
	if pionRelayForced() {
		return // every harness is on pion/turn's relay
	}
	f := newHarness(t, Config{UDPSockets: 2}, Params{})
	if !f.srv.fast || len(f.srv.engines) != 2 {
		t.Fatalf("default: fast=%v, %d engines; want the fast path", f.srv.fast, len(f.srv.engines))
	}
}

// testPionChannelData is TestChannelDataFastPath on pion/turn's relay:
// a bound channel is relayed, and pion pads the reply to 4 bytes (RFC 8656
// §12.5; the fast path does not); malformed or unbound ChannelData is
// dropped.
func testPionChannelData(t *testing.T) {
	checkChannelData(t, "\x40\x01\x00\x05hello\x00\x00\x00")
}
