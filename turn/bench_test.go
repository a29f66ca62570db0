//go:build linux

package turn

import (
	"testing"
	"time"

	"github.com/pion/stun/v3"
)

// BenchmarkChannelDataRoundTrip measures one ChannelData datagram through
// the engine to a loopback echo peer and back (two relayed datagrams per
// op). The client and peer do not allocate either, so allocs/op is the
// server's.
//
//	go test -run '^$' -bench ChannelData -benchmem ./turn/
func BenchmarkChannelDataRoundTrip(b *testing.B) {
	h := newHarness(b, Config{AllowedPeers: loopbackPeers}, Params{})
	peer := newEchoPeer(b)
	rc := newRawClient(b, h.udp, minter(testSecret).Mint("bench"))
	if res := rc.authed(stun.NewType(stun.MethodAllocate, stun.ClassRequest), requestedUDP{}); res.Type.Class != stun.ClassSuccessResponse {
		b.Fatalf("Allocate: %v", res.Type)
	}
	if res := rc.authed(stun.NewType(stun.MethodChannelBind, stun.ClassRequest),
		peerAttr(peer.addr().AddrPort()), channelAttr(0x4001)); res.Type.Class != stun.ClassSuccessResponse {
		b.Fatalf("ChannelBind: %v", res.Type)
	}
	msg := make([]byte, channelDataHeader+160)
	msg[0], msg[1], msg[2], msg[3] = 0x40, 0x01, 0, 160
	server := rc.server.AddrPort()
	buf := make([]byte, 2048)
	_ = rc.conn.SetReadDeadline(time.Now().Add(time.Minute))
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if _, err := rc.conn.WriteToUDPAddrPort(msg, server); err != nil {
			b.Fatal(err)
		}
		if n, err := rc.conn.Read(buf); err != nil || n != len(msg) {
			b.Fatalf("read %d: %v", n, err)
		}
	}
}
