package sipgw

import (
	"net"
	"net/netip"
	"sync"
)

// portAllocator hands out RTP/RTCP port pairs (even, even+1) from the
// configured range, round robin, skipping ports the OS refuses.
type portAllocator struct {
	mu       sync.Mutex // guards next
	min, max int        // even bounds of RTP ports
	next     int
}

func newPortAllocator(lo, hi int) *portAllocator {
	lo += lo & 1 // first even port
	if hi&1 == 0 {
		hi-- // the RTCP port of the last pair must fit
	}
	return &portAllocator{min: lo, max: hi - 1, next: lo}
}

// alloc binds a free pair on ip (unspecified: all interfaces).
func (a *portAllocator) alloc(ip netip.Addr) (rtp, rtcp *net.UDPConn, err error) {
	a.mu.Lock()
	start := a.next
	a.mu.Unlock()
	pairs := (a.max-a.min)/2 + 1
	for i := range pairs {
		p := a.min + (start-a.min+2*i)%(pairs*2)
		var bind net.IP
		if ip.IsValid() && !ip.IsUnspecified() {
			bind = ip.AsSlice()
		}
		rtp, err = net.ListenUDP("udp", &net.UDPAddr{IP: bind, Port: p})
		if err != nil {
			continue
		}
		rtcp, err = net.ListenUDP("udp", &net.UDPAddr{IP: bind, Port: p + 1})
		if err != nil {
			_ = rtp.Close()
			continue
		}
		a.mu.Lock()
		a.next = a.min + (p-a.min+2)%(pairs*2)
		a.mu.Unlock()
		return rtp, rtcp, nil
	}
	if err == nil {
		err = errNoPorts
	}
	return nil, nil, err
}
