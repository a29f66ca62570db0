package attendee

import (
	"container/heap"
	"math/rand/v2"
	"net"
	"sync"
	"time"

	"github.com/pion/transport/v4"
)

// Impairment degrades the attendee's network path, reproducibly and
// without privileges: it acts on the UDP sockets ICE uses (host
// candidates and UDP TURN), as netem would on an interface.
//
//   - LossPct drops that share of datagrams in each direction;
//   - Delay (plus a uniform ±Jitter) holds each datagram the attendee
//     sends; datagrams leave in the order they fall due, so jitter larger
//     than the packet interval reorders them, as on a real path;
//   - BandwidthKbps caps what the attendee sends: a datagram leaves no
//     earlier than the cap allows after the one before it (a queue, not a
//     policer), and one that would wait more than maxQueueDelay is dropped.
//
// Delay, jitter and the cap apply to the uplink only; loss to both
// directions. A given Seed gives the same decisions for the same packets.
type Impairment struct {
	LossPct       float64
	Delay         time.Duration
	Jitter        time.Duration
	BandwidthKbps int
	Seed          uint64
}

// active reports whether the impairment changes anything.
func (im Impairment) active() bool {
	return im.LossPct > 0 || im.Delay > 0 || im.Jitter > 0 || im.BandwidthKbps > 0
}

// shaping reports whether sent datagrams are held (not only dropped).
func (im Impairment) shaping() bool { return im.Delay > 0 || im.Jitter > 0 || im.BandwidthKbps > 0 }

// maxQueueDelay bounds the bandwidth cap's queue, as a router's buffer
// does: a datagram that would wait longer is dropped.
const maxQueueDelay = 500 * time.Millisecond

// maxHeld bounds the datagrams held at once (each a datagramSize buffer).
const maxHeld = 4096

// datagramSize is the largest datagram held; a larger one (none on an
// ICE path) is sent at once.
const datagramSize = 1500

// ImpairStats counts what an impairment did.
type ImpairStats struct {
	DroppedOut, DroppedIn uint64 // lost on purpose, each direction
	QueueDrops            uint64 // dropped by the bandwidth cap's queue
	Held                  uint64 // datagrams delayed
}

// impairer holds one attendee's impairment state: the seeded random
// source and the counters, shared by its sockets.
type impairer struct {
	im Impairment

	mu    sync.Mutex // guards rng and stats
	rng   *rand.Rand
	stats ImpairStats
}

func newImpairer(im Impairment) *impairer {
	return &impairer{im: im, rng: rand.New(rand.NewPCG(im.Seed, im.Seed^0x9e3779b97f4a7c15))}
}

// dropIn decides the loss of one received datagram.
func (p *impairer) dropIn() bool {
	if p.im.LossPct <= 0 {
		return false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.rng.Float64()*100 < p.im.LossPct {
		p.stats.DroppedIn++
		return true
	}
	return false
}

// planOut decides one sent datagram's fate: dropped, or the delay before
// it leaves (jitter drawn, bandwidth cap not yet applied).
func (p *impairer) planOut() (drop bool, delay time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.im.LossPct > 0 && p.rng.Float64()*100 < p.im.LossPct {
		p.stats.DroppedOut++
		return true, 0
	}
	delay = p.im.Delay
	if p.im.Jitter > 0 {
		delay += time.Duration((p.rng.Float64()*2 - 1) * float64(p.im.Jitter))
	}
	return false, max(delay, 0)
}

func (p *impairer) count(f func(*ImpairStats)) {
	p.mu.Lock()
	f(&p.stats)
	p.mu.Unlock()
}

func (p *impairer) snapshot() ImpairStats {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stats
}

// heldDatagram is one sent datagram waiting in the delay line.
type heldDatagram struct {
	due  time.Time
	seq  uint64 // ties keep their order
	buf  *[datagramSize]byte
	n    int
	addr net.Addr
}

// delayQueue orders held datagrams by due time (container/heap).
type delayQueue []heldDatagram

func (q delayQueue) Len() int { return len(q) }
func (q delayQueue) Less(i, j int) bool {
	if q[i].due.Equal(q[j].due) {
		return q[i].seq < q[j].seq
	}
	return q[i].due.Before(q[j].due)
}
func (q delayQueue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *delayQueue) Push(x any)   { *q = append(*q, x.(heldDatagram)) }
func (q *delayQueue) Pop() any {
	old := *q
	it := old[len(old)-1]
	old[len(old)-1] = heldDatagram{}
	*q = old[:len(old)-1]
	return it
}

// impairedConn applies an impairment to one UDP socket. Reads drop
// datagrams in the caller's goroutine; sends go through a delay line that
// one goroutine (started on the first held datagram, stopped and waited
// for by Close) empties. Buffers are reused: nothing is allocated per
// datagram once the line has warmed up.
type impairedConn struct {
	transport.UDPConn
	p *impairer

	mu       sync.Mutex // guards the fields below
	q        delayQueue
	free     []*[datagramSize]byte
	seq      uint64
	nextFree time.Time // when the bandwidth cap lets the next datagram leave
	running  bool
	closed   bool
	wake     chan struct{} // capacity 1
	done     chan struct{} // closed when the sender goroutine exits
}

func newImpairedConn(c transport.UDPConn, p *impairer) *impairedConn {
	return &impairedConn{UDPConn: c, p: p, wake: make(chan struct{}, 1), done: make(chan struct{})}
}

func (c *impairedConn) ReadFrom(b []byte) (int, net.Addr, error) {
	for {
		n, addr, err := c.UDPConn.ReadFrom(b)
		if err != nil || !c.p.dropIn() {
			return n, addr, err
		}
	}
}

func (c *impairedConn) ReadFromUDP(b []byte) (int, *net.UDPAddr, error) {
	for {
		n, addr, err := c.UDPConn.ReadFromUDP(b)
		if err != nil || !c.p.dropIn() {
			return n, addr, err
		}
	}
}

func (c *impairedConn) WriteTo(b []byte, addr net.Addr) (int, error) {
	drop, delay := c.p.planOut()
	if drop {
		return len(b), nil
	}
	if !c.p.im.shaping() || len(b) > datagramSize {
		return c.UDPConn.WriteTo(b, addr)
	}
	now := time.Now()
	due := now.Add(delay)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return 0, net.ErrClosed
	}
	if kbps := c.p.im.BandwidthKbps; kbps > 0 {
		// Serialize at the cap after the previous datagram.
		start := now
		if c.nextFree.After(now) {
			start = c.nextFree
		}
		if start.Sub(now) > maxQueueDelay || len(c.q) >= maxHeld {
			c.p.count(func(s *ImpairStats) { s.QueueDrops++ })
			return len(b), nil
		}
		c.nextFree = start.Add(time.Duration(len(b)) * 8 * time.Millisecond / time.Duration(kbps))
		if c.nextFree.After(due) {
			due = c.nextFree
		}
	} else if len(c.q) >= maxHeld {
		c.p.count(func(s *ImpairStats) { s.QueueDrops++ })
		return len(b), nil
	}
	var buf *[datagramSize]byte
	if k := len(c.free); k > 0 {
		buf, c.free = c.free[k-1], c.free[:k-1]
	} else {
		buf = new([datagramSize]byte)
	}
	copy(buf[:], b)
	c.seq++
	heap.Push(&c.q, heldDatagram{due: due, seq: c.seq, buf: buf, n: len(b), addr: addr})
	c.p.count(func(s *ImpairStats) { s.Held++ })
	if !c.running {
		c.running = true
		go c.sendLoop()
	}
	select {
	case c.wake <- struct{}{}:
	default:
	}
	return len(b), nil
}

func (c *impairedConn) WriteToUDP(b []byte, addr *net.UDPAddr) (int, error) {
	return c.WriteTo(b, addr)
}

// sendLoop sends held datagrams as they fall due, until Close.
func (c *impairedConn) sendLoop() {
	defer close(c.done)
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		c.mu.Lock()
		if c.closed {
			c.mu.Unlock()
			return
		}
		now := time.Now()
		for len(c.q) > 0 && !c.q[0].due.After(now) {
			it := heap.Pop(&c.q).(heldDatagram)
			_, _ = c.UDPConn.WriteTo(it.buf[:it.n], it.addr) // a datagram: lost if it fails, as on the wire
			c.free = append(c.free, it.buf)
		}
		wait := time.Hour
		if len(c.q) > 0 {
			wait = c.q[0].due.Sub(now)
		}
		c.mu.Unlock()
		timer.Reset(wait)
		select {
		case <-timer.C:
		case <-c.wake:
		}
	}
}

// Close stops the delay line (held datagrams are dropped) and closes the
// socket.
func (c *impairedConn) Close() error {
	c.mu.Lock()
	running := c.running && !c.closed
	c.closed = true
	c.mu.Unlock()
	if running {
		select {
		case c.wake <- struct{}{}:
		default:
		}
		<-c.done
	}
	return c.UDPConn.Close()
}
