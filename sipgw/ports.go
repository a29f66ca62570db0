package sipgw

import (
	"math/rand/v2"
	"net"
	"net/netip"
)

// portAllocator hands out RTP/RTCP port pairs (even, even+1) from the
// configured range at random, skipping ports the OS refuses. Sequential
// ports let an attacker guess the next call's port and send to it first
// (RTP bleed); a random pair from a range of thousands does not.
// math/rand/v2's global generator is ChaCha8, seeded from the OS.
type portAllocator struct {
	min, max int // even bounds of RTP ports
}

func newPortAllocator(lo, hi int) *portAllocator {
	lo += lo & 1 // first even port
	if hi&1 == 0 {
		hi-- // the RTCP port of the last pair must fit
	}
	return &portAllocator{min: lo, max: hi - 1}
}

// randomTries is how many random pairs alloc tries before it scans the
// range from a random start (a nearly full range).
const randomTries = 16

// alloc binds a free pair on ip (unspecified: all interfaces).
func (a *portAllocator) alloc(ip netip.Addr) (rtp, rtcp *net.UDPConn, err error) {
	var bind net.IP
	if ip.IsValid() && !ip.IsUnspecified() {
		bind = ip.AsSlice()
	}
	pairs := (a.max-a.min)/2 + 1
	try := func(i int) bool {
		p := a.min + 2*(i%pairs)
		rtp, err = net.ListenUDP("udp", &net.UDPAddr{IP: bind, Port: p})
		if err != nil {
			return false
		}
		rtcp, err = net.ListenUDP("udp", &net.UDPAddr{IP: bind, Port: p + 1})
		if err != nil {
			_ = rtp.Close()
			return false
		}
		return true
	}
	for range min(randomTries, pairs) {
		if try(rand.IntN(pairs)) {
			return rtp, rtcp, nil
		}
	}
	start := rand.IntN(pairs)
	for i := range pairs {
		if try(start + i) {
			return rtp, rtcp, nil
		}
	}
	if err == nil {
		err = errNoPorts
	}
	return nil, nil, err
}
