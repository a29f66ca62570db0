package attendee

import (
	"encoding/binary"
	"net"
	"regexp"
	"strconv"
	"sync/atomic"

	"github.com/pion/transport/v4"
)

// Early media. A server may send RTP on a new SSRC as soon as it has
// answered, before the attendee has applied the answer that declares the
// SSRC. Chrome cannot route such a packet (no mid or rid extension, as an
// SFU forwards them, and an unknown SSRC) and drops it, then asks for a
// keyframe once its receive stream starts. pion instead hands the stream
// to its simulcast probe, which consumes the first packets (the keyframe)
// and reads the stream concurrently with the receiver the answer then
// starts (a data race inside pion). So the attendee does what Chrome
// does: below ICE, RTP whose SSRC the last applied answer does not
// declare is dropped, and a video track that has not had a keyframe asks
// for one (see readVideo).

// ssrcSet is an immutable set of SSRCs.
type ssrcSet map[uint32]struct{}

// declaredSSRCs are the SSRCs an SDP declares (a=ssrc lines).
var ssrcLine = regexp.MustCompile(`(?m)^a=ssrc:(\d+) `)

func declaredSSRCs(sd string) ssrcSet {
	set := ssrcSet{}
	for _, m := range ssrcLine.FindAllStringSubmatch(sd, -1) {
		if v, err := strconv.ParseUint(m[1], 10, 32); err == nil {
			set[uint32(v)] = struct{}{}
		}
	}
	return set
}

// rtpFilter admits the datagrams ICE reads: everything but RTP whose SSRC
// is not declared. It allocates nothing.
type rtpFilter struct {
	declared atomic.Pointer[ssrcSet] // never nil
	dropped  atomic.Uint64
}

func newRTPFilter() *rtpFilter {
	f := &rtpFilter{}
	f.declared.Store(&ssrcSet{})
	return f
}

// admit reports whether datagram b goes on to ICE, DTLS and SRTP. RTP and
// RTCP are told apart from STUN and DTLS by their first byte, and from
// each other by the payload type, as RFC 7983 and RFC 5761 §4 do.
func (f *rtpFilter) admit(b []byte) bool {
	if len(b) < 12 || b[0] < 128 || b[0] > 191 {
		return true // not RTP: STUN, DTLS, or too short to judge
	}
	if pt := b[1] & 0x7f; pt >= 64 && pt <= 95 {
		return true // RTCP
	}
	if _, ok := (*f.declared.Load())[binary.BigEndian.Uint32(b[8:12])]; ok {
		return true
	}
	f.dropped.Add(1)
	return false
}

// filterNet is the network ICE runs on: the real one, with every UDP
// socket's reads passed through the filter, and through the impairment
// when there is one (impair.go; then also the sockets TURN allocations
// use, which pion opens with ListenPacket).
type filterNet struct {
	transport.Net
	f      *rtpFilter
	impair *impairer // nil: none
}

func (n filterNet) ListenUDP(network string, laddr *net.UDPAddr) (transport.UDPConn, error) {
	c, err := n.Net.ListenUDP(network, laddr)
	if err != nil {
		return nil, err
	}
	if n.impair != nil {
		c = newImpairedConn(c, n.impair)
	}
	return filterConn{UDPConn: c, f: n.f}, nil
}

func (n filterNet) ListenPacket(network, address string) (net.PacketConn, error) {
	c, err := n.Net.ListenPacket(network, address)
	if err != nil || n.impair == nil {
		return c, err
	}
	if uc, ok := c.(transport.UDPConn); ok {
		return newImpairedConn(uc, n.impair), nil
	}
	return c, nil // not UDP (none on an ICE path): unimpaired
}

// filterConn drops the datagrams the filter refuses; ICE reads host
// candidates' sockets with ReadFrom.
type filterConn struct {
	transport.UDPConn
	f *rtpFilter
}

func (c filterConn) ReadFrom(b []byte) (int, net.Addr, error) {
	for {
		n, addr, err := c.UDPConn.ReadFrom(b)
		if err != nil || c.f.admit(b[:n]) {
			return n, addr, err
		}
	}
}

// DroppedEarly returns how many RTP packets were dropped because the
// answer declaring their SSRC was not applied yet.
func (a *Attendee) DroppedEarly() uint64 { return a.filter.dropped.Load() }
