package turn

import (
	"net/netip"
	"testing"
)

func TestParsePeer(t *testing.T) {
	for in, want := range map[string]string{
		"192.0.2.7":           "192.0.2.7",
		" 192.0.2.7:5000 ":    "192.0.2.7:5000",
		"[2001:db8::1]:5000":  "[2001:db8::1]:5000",
		"::ffff:192.0.2.7":    "192.0.2.7",
		"10.1.2.3/16":         "10.1.0.0/16",
		"::ffff:10.0.0.0/104": "10.0.0.0/8",
	} {
		p, err := ParsePeer(in)
		if err != nil || p.String() != want {
			t.Errorf("ParsePeer(%q) = %v, %v; want %s", in, p, err, want)
		}
	}
	for _, in := range []string{"", "host:80", "192.0.2.7:0", "192.0.2.7/33", "192.0.2.7:x"} {
		if p, err := ParsePeer(in); err == nil {
			t.Errorf("ParsePeer(%q) = %v, want an error", in, p)
		}
	}
}

func TestPeerPolicy(t *testing.T) {
	peers := func(ss ...string) []Peer {
		var ps []Peer
		for _, s := range ss {
			ps = append(ps, mustPeerT(t, s))
		}
		return ps
	}
	denied := []netip.AddrPort{
		netip.MustParseAddrPort("192.0.2.7:5060"),
		netip.MustParseAddrPort("0.0.0.0:8080"),
		netip.MustParseAddrPort("127.0.0.1:40000"), // an exact entry still wins
	}
	none := newPeerPolicy(nil, nil, false)
	media := newPeerPolicy(peers("203.0.113.5:40000", "127.0.0.1:40000"), nil, false)
	ops := newPeerPolicy(peers("127.0.0.1:40000", "192.0.2.7", "198.51.100.9:7000", "10.20.0.0/16",
		"::ffff:192.168.7.0/120", "169.254.169.254"), denied, false)
	wide := newPeerPolicy(peers("0.0.0.0/0", "::/0"), denied, false)
	widePriv := newPeerPolicy(peers("0.0.0.0/0", "::/0"), denied, true)
	for _, tc := range []struct {
		peer                             string
		none, media, ops, wide, widePriv bool
	}{
		{"8.8.8.8:53", false, false, false, true, true},
		{"8.8.8.8:8080", false, false, false, false, false}, // denied on any address
		{"[2001:4860:4860::8888]:53", false, false, false, true, true},
		{"[::ffff:8.8.8.8]:53", false, false, false, true, true},
		{"203.0.113.5:40000", false, true, false, true, true},
		{"203.0.113.5:40001", false, false, false, true, true},
		{"127.0.0.1:40000", false, true, true, false, false},
		{"[::ffff:127.0.0.1]:40000", false, true, true, false, false},
		{"127.0.0.1:40001", false, false, false, false, true},
		{"127.0.0.1:5060", false, false, false, false, true},
		{"192.0.2.7:1", false, false, true, true, true},
		{"192.0.2.7:5060", false, false, false, false, false},
		{"198.51.100.9:7000", false, false, true, true, true},
		{"198.51.100.9:7001", false, false, false, true, true},
		{"10.20.3.4:9", false, false, true, false, true},
		{"10.20.3.4:8080", false, false, false, false, false},
		{"10.21.0.1:9", false, false, false, false, true},
		{"192.168.7.9:9", false, false, true, false, true},
		{"192.168.8.9:9", false, false, false, false, true},
		{"100.64.1.1:9", false, false, false, false, true},
		{"[fe80::1]:9", false, false, false, false, true},
		{"[::1]:9", false, false, false, false, true},
		{"169.254.10.10:80", false, false, false, false, true},
		{"169.254.169.254:80", false, false, true, false, false},
		{"[fd00:ec2::254]:80", false, false, false, false, false},
		{"224.0.0.1:9", false, false, false, false, false},
		{"240.0.0.1:9", false, false, false, false, false},
		{"255.255.255.255:9", false, false, false, false, false},
		{"0.1.2.3:9", false, false, false, false, false},
		{"0.0.0.0:9", false, false, false, false, false},
		{"8.8.8.8:0", false, false, false, false, false},
	} {
		ap := netip.MustParseAddrPort(tc.peer)
		for _, c := range []struct {
			name string
			p    *peerPolicy
			want bool
		}{{"none", none, tc.none}, {"media", media, tc.media}, {"ops", ops, tc.ops}, {"wide", wide, tc.wide}, {"wide+private", widePriv, tc.widePriv}} {
			if got := c.p.permits(ap); got != c.want {
				t.Errorf("%s: permits(%s) = %v, want %v", c.name, ap, got, c.want)
			}
		}
	}
	if wide.permits(netip.AddrPort{}) {
		t.Error("permits the zero AddrPort")
	}
	// permitsIP, pion's backstop, knows no port.
	for ip, want := range map[string]bool{"203.0.113.5": true, "127.0.0.1": true, "8.8.8.8": false} {
		if got := media.permitsIP(netip.MustParseAddr(ip)); got != want {
			t.Errorf("media: permitsIP(%s) = %v, want %v", ip, got, want)
		}
	}
	// withDenied adds the server's own listeners.
	self := ops.withDenied([]netip.AddrPort{netip.MustParseAddrPort("192.0.2.7:3478")})
	if self.permits(netip.MustParseAddrPort("192.0.2.7:3478")) || !ops.permits(netip.MustParseAddrPort("192.0.2.7:3478")) {
		t.Error("withDenied did not refuse the added socket, or changed the original")
	}
}

func mustPeerT(t *testing.T, s string) Peer {
	t.Helper()
	p, err := ParsePeer(s)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestPermitsNoAlloc keeps the per-datagram check allocation-free.
func TestPermitsNoAlloc(t *testing.T) {
	p := newPeerPolicy([]Peer{PeerAt(netip.MustParseAddrPort("203.0.113.5:40000")), mustPeerT(t, "0.0.0.0/0")},
		[]netip.AddrPort{netip.MustParseAddrPort("0.0.0.0:8080")}, false)
	peer := netip.MustParseAddrPort("198.51.100.1:5000")
	if n := testing.AllocsPerRun(100, func() { _ = p.permits(peer) }); n != 0 {
		t.Errorf("permits allocates %v times", n)
	}
}
