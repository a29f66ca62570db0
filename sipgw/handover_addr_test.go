package sipgw

import (
	"net"
	"testing"
)

// A specific listen IP is advertised as it is; a wildcard takes the public
// IP, else the public URL's host.
func TestHandoverAddr(t *testing.T) {
	for _, tc := range []struct {
		listen           net.Addr
		publicIP, pubURL string
		want             string
	}{
		{&net.UDPAddr{IP: net.IPv4(10, 0, 0, 5), Port: 5060}, "203.0.113.9", "https://a.example.com", "10.0.0.5:5060"},
		{&net.UDPAddr{IP: net.IPv4zero, Port: 5060}, "203.0.113.9", "https://a.example.com", "203.0.113.9:5060"},
		{&net.UDPAddr{IP: net.IPv6unspecified, Port: 5062}, "", "https://a.example.com:8443/x", "a.example.com:5062"},
		{&net.UDPAddr{IP: net.IPv6loopback, Port: 5060}, "", "", "[::1]:5060"},
		{&net.UnixAddr{Name: "/tmp/sock", Net: "unixgram"}, "203.0.113.9", "", "/tmp/sock"},
	} {
		if got := HandoverAddr(tc.listen, tc.publicIP, tc.pubURL); got != tc.want {
			t.Errorf("HandoverAddr(%v, %q, %q) = %q, want %q", tc.listen, tc.publicIP, tc.pubURL, got, tc.want)
		}
	}
}
