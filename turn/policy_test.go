package turn

import (
	"net/netip"
	"testing"
)

func TestPeerPolicy(t *testing.T) {
	def := newPeerPolicy(nil, false)
	private := newPeerPolicy(nil, true)
	allow := newPeerPolicy([]netip.Prefix{
		netip.MustParsePrefix("127.0.0.1/32"),
		netip.MustParsePrefix("10.20.0.0/16"),
		netip.MustParsePrefix("::ffff:192.168.7.0/120"),
		netip.MustParsePrefix("169.254.169.254/32"),
	}, false)
	for _, tc := range []struct {
		ip                    string
		def, private, allowed bool
	}{
		{"8.8.8.8", true, true, true},
		{"2001:4860:4860::8888", true, true, true},
		{"127.0.0.1", false, true, true},
		{"127.0.0.2", false, true, false},
		{"::1", false, true, false},
		{"::ffff:127.0.0.1", false, true, true},
		{"10.0.0.1", false, true, false},
		{"10.20.3.4", false, true, true},
		{"172.16.5.5", false, true, false},
		{"192.168.7.9", false, true, true},
		{"192.168.8.9", false, true, false},
		{"100.64.1.1", false, true, false},
		{"fc00::1", false, true, false},
		{"fe80::1", false, true, false},
		{"169.254.10.10", false, true, false},
		{"169.254.169.254", false, false, true},
		{"fd00:ec2::254", false, false, false},
		{"0.0.0.0", false, false, false},
		{"0.1.2.3", false, false, false},
		{"::", false, false, false},
		{"224.0.0.1", false, false, false},
		{"ff02::1", false, false, false},
		{"255.255.255.255", false, false, false},
		{"240.0.0.1", false, false, false},
	} {
		ip := netip.MustParseAddr(tc.ip)
		for _, c := range []struct {
			name string
			p    peerPolicy
			want bool
		}{{"default", def, tc.def}, {"AllowPrivatePeers", private, tc.private}, {"AllowedPeers", allow, tc.allowed}} {
			if got := c.p.permits(ip); got != c.want {
				t.Errorf("%s: permits(%s) = %v, want %v", c.name, ip, got, c.want)
			}
		}
	}
	if def.permits(netip.Addr{}) {
		t.Error("permits the zero Addr")
	}
}
