package turnauth

import (
	"fmt"
	"net"
	"net/netip"
	"strings"
	"testing"

	"github.com/confab-media/confab/turn"
)

// TestTURNMediaPeers checks what a TURN relay may reach: the media socket's exact
// address and port, from a wildcard the port on loopback, each local
// address and each public IP.
func TestTURNMediaPeers(t *testing.T) {
	local := func() ([]netip.Addr, error) {
		return []netip.Addr{netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("10.0.0.5")}, nil
	}
	str := func(ps []turn.Peer) string {
		var s []string
		for _, p := range ps {
			s = append(s, p.String())
		}
		return strings.Join(s, " ")
	}
	for _, tc := range []struct {
		media  string
		public []string
		want   string
	}{
		{"127.0.0.1:40000", nil, "127.0.0.1:40000"},
		{"192.0.2.10:40000", []string{"203.0.113.5"}, "192.0.2.10:40000 203.0.113.5:40000"},
		{"0.0.0.0:40000", []string{"203.0.113.5"}, "127.0.0.1:40000 10.0.0.5:40000 203.0.113.5:40000"},
	} {
		got, err := MediaPeers(&net.UDPAddr{IP: net.ParseIP(strings.Split(tc.media, ":")[0]), Port: 40000}, tc.public, local)
		if err != nil || str(got) != tc.want {
			t.Errorf("MediaPeers(%s, %v) = %s, %v; want %s", tc.media, tc.public, str(got), err, tc.want)
		}
	}
	if _, err := MediaPeers(&net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)}, nil, local); err == nil {
		t.Error("mediaPeers accepted port 0")
	}
	for in, want := range map[string]string{
		"127.0.0.1:5060": "[127.0.0.1:5060]", ":8080": "[0.0.0.0:8080]", "[::]:5061": "[0.0.0.0:5061]",
		"localhost:8080": "[0.0.0.0:8080]", "127.0.0.1:0": "[]",
	} {
		if got := fmt.Sprint(ListenerPeers(in)); got != want {
			t.Errorf("ListenerPeers(%q) = %s, want %s", in, got, want)
		}
	}
}

// RelayPeers allows the media socket and the configured peers, and denies
// the listeners; a malformed allowed peer is an error.
func TestRelayPeers(t *testing.T) {
	local := func() ([]netip.Addr, error) { return nil, nil }
	media := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 40000}
	allowed, denied, err := RelayPeers(media, []string{"203.0.113.5"}, []string{"10.1.0.0/16", "192.0.2.7:9000"},
		[]string{"127.0.0.1:8080", ":5060", "127.0.0.1:0", ""}, local)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range allowed {
		got = append(got, p.String())
	}
	if want := "127.0.0.1:40000 203.0.113.5:40000 10.1.0.0/16 192.0.2.7:9000"; strings.Join(got, " ") != want {
		t.Errorf("allowed %v, want %s", got, want)
	}
	if want := "[127.0.0.1:8080 0.0.0.0:5060]"; fmt.Sprint(denied) != want {
		t.Errorf("denied %v, want %s", denied, want)
	}
	if _, _, err := RelayPeers(media, nil, []string{"not-an-ip"}, nil, local); err == nil || !strings.Contains(err.Error(), `"not-an-ip"`) {
		t.Errorf("malformed allowed peer: %v", err)
	}
}
