package sipgw

import (
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/srtp/v3"

	"github.com/confab-media/confab/internal/clock"
	"github.com/confab-media/confab/internal/guard"
)

// media is a call's RTP session: one UDP socket (plus its RTCP neighbour,
// bound so the caller's RTCP is not answered with ICMP errors, never read:
// RTCP is not used), one reader goroutine that decrypts, latches, reorders,
// decodes and pushes (rx.go), and one sender goroutine that turns the
// meeting's mix into the caller's RTP. The call's dialog goroutine only
// swaps their configurations (rxCfg, txCfg) on re-offers.
type media struct {
	clock clock.Clock
	conn  *net.UDPConn
	rtcp  *net.UDPConn
	port  int

	rxCfg atomic.Pointer[rxConfig] // swapped by the dialog goroutine on re-offers
	txCfg atomic.Pointer[txConfig] // likewise

	// signalIP is the source address of the caller's INVITE: with the SDP
	// address, the only one RTP is taken from (see accept).
	signalIP netip.Addr
	log      *slog.Logger
	panics   guard.Counter
	failed   chan struct{} // closed when the reader or the sender ended on a panic
	failOnce sync.Once

	remoteMu  sync.Mutex     // guards the fields below
	remote    netip.AddrPort // where RTP goes; invalid: nowhere yet
	sdpRemote netip.AddrPort // the address of the last SDP
	latched   bool
	latchedAt int64 // clock nanoseconds of the last packet from remote

	lastRTP atomic.Int64 // clock nanoseconds of the last valid RTP packet

	// resync: the frames' source changed (prompts ↔ a meeting's mix), so
	// the next frame's timestamp is unrelated to the last one's.
	resync atomic.Bool

	// Counters, written by one goroutine each and read by the metrics flush.
	expected, received atomic.Uint64 // RFC 3550 §A.3, over all SSRCs
	lateIn, lostUnits  atomic.Uint64
	invalid, rejected  atomic.Uint64 // undecodable; failed SRTP or wrong source
	lateTicks, dropped atomic.Uint64 // outbound: mix frames sent late or dropped

	// Reader state, owned by the reader goroutine.
	opusIn  *opusRx
	g711In  *g711Rx
	dtmf    dtmfReceiver
	stats   rxStats
	seq     seqTracker
	ssrc    uint32
	hasSSRC bool

	// Outbound: frames from the mixer, sent by the sender goroutine, which
	// receives each into cur (a field: a local would escape through cgo).
	out chan mixFrame
	cur mixFrame
	tx  sender

	stop     chan struct{} // closed by close: ends the sender
	done     chan struct{} // closed when the reader exits
	sendDone chan struct{} // closed when the sender exits
}

// txConfig is what the sender needs from the negotiated SDP.
type txConfig struct {
	pt      uint8
	srtp    *srtp.Context
	sending bool // the mix goes to the caller: answered, and not on hold
}

// rxConfig is what the reader needs from the negotiated SDP.
type rxConfig struct {
	pt   uint8
	tePT int
	srtp *srtp.Context
}

// mixFrame is one frame of the meeting's mix on its way to the sender.
type mixFrame struct {
	n  int
	ts uint32
	at int64 // clock nanoseconds when the mixer delivered it
	b  [maxOpus]byte
}

// outQueue is the number of mix frames buffered for the sender (160 ms).
const outQueue = 8

// latchHold is how long a plain-RTP source must be silent before packets
// from another address take over (RTP bleed protection); an SRTP packet
// that authenticates takes over at once.
const latchHold = time.Second

// mediaParams sets a media session up.
type mediaParams struct {
	clock  clock.Clock
	conn   *net.UDPConn
	rtcp   *net.UDPConn
	codec  codec
	rx     rxConfig
	txSRTP *srtp.Context
	remote netip.AddrPort // from the SDP; may be invalid
	// signalIP is the INVITE's source address.
	signalIP netip.Addr
	log      *slog.Logger
	panics   guard.Counter
	push     func(payload []byte, ts uint32, level int8) error // Opus callers
	pushPCM  func(pcm []int16, ts uint32, level int8) error    // G.711 callers
	onDTMF   func(rune)
	ssrc     uint32 // ours
	seq      uint16
	tsBase   uint32
}

func newMedia(p mediaParams) (*media, error) {
	m := &media{
		clock: p.clock, conn: p.conn, rtcp: p.rtcp,
		port: p.conn.LocalAddr().(*net.UDPAddr).Port,
		out:  make(chan mixFrame, outQueue),
		done: make(chan struct{}), failed: make(chan struct{}),
		stop: make(chan struct{}), sendDone: make(chan struct{}),
		signalIP: p.signalIP.Unmap(), log: p.log, panics: p.panics,
	}
	if m.log == nil {
		m.log = slog.New(slog.DiscardHandler)
	}
	cfg := p.rx
	m.rxCfg.Store(&cfg)
	m.sdpRemote = p.remote
	m.remote = m.initialDestination(p.remote)
	m.lastRTP.Store(p.clock.Now().UnixNano())
	m.dtmf.onDigit = p.onDTMF
	if p.codec == codecOpus {
		push := func(b []byte, ts uint32, level int8) {
			if err := p.push(b, ts, level); err != nil {
				m.invalid.Add(1)
			}
		}
		var err error
		if m.opusIn, err = newOpusRx(push, &m.stats); err != nil {
			return nil, err
		}
	} else {
		m.g711In = newG711Rx(p.codec, func(pcm []int16, ts uint32, level int8) {
			if err := p.pushPCM(pcm, ts, level); err != nil {
				m.invalid.Add(1)
			}
		}, &m.stats)
	}
	if err := m.tx.init(p.codec, p.ssrc, p.seq, p.tsBase); err != nil {
		return nil, err
	}
	m.txCfg.Store(&txConfig{pt: p.rx.pt, srtp: p.txSRTP}) // not sending until answered
	return m, nil
}

// start starts the reader and the sender goroutines.
func (m *media) start() {
	go m.read()
	go m.sendLoop()
}

// close stops the reader and the sender and releases the sockets.
func (m *media) close() {
	close(m.stop)
	_ = m.conn.Close()
	_ = m.rtcp.Close()
	<-m.done
	<-m.sendDone
}

// fail ends the call after a panic in one of the media goroutines.
func (m *media) fail(any) { m.failOnce.Do(func() { close(m.failed) }) }

// setTx applies a negotiated payload type, SRTP context and direction to
// what the sender sends (the dialog goroutine, on answer and re-offers).
func (m *media) setTx(pt uint8, ctx *srtp.Context, sending bool) {
	m.txCfg.Store(&txConfig{pt: pt, srtp: ctx, sending: sending})
}

// sendLoop is the sender goroutine: each mix frame the Conference hands
// over (mix) becomes one RTP packet to the caller, at the mixer's 20 ms
// pace, while the call is sending. No allocation per packet. A panic ends
// the call (failed), never the process.
func (m *media) sendLoop() {
	defer close(m.sendDone)
	defer guard.Recover(m.log, m.panics, "sipgw RTP sender", m.fail)
	for {
		select {
		case <-m.stop:
			return
		case m.cur = <-m.out:
			if cfg := m.txCfg.Load(); cfg.sending {
				m.send(cfg)
			}
		}
	}
}

// mix is the Conference's mix callback: it copies the frame for the
// sender goroutine and never blocks; when the sender is behind, the frame
// is dropped.
func (m *media) mix(p []byte, ts uint32) {
	if len(p) == 0 || len(p) > maxOpus {
		return
	}
	var f mixFrame
	f.n, f.ts, f.at = copy(f.b[:], p), ts, m.clock.Now().UnixNano()
	select {
	case m.out <- f:
	default:
		m.dropped.Add(1)
	}
}

// send transmits the mix frame in cur to the caller (sender goroutine).
func (m *media) send(cfg *txConfig) {
	f := &m.cur
	if m.clock.Now().UnixNano()-f.at > int64(20*time.Millisecond) {
		m.lateTicks.Add(1)
	}
	dst := m.destination()
	if !dst.IsValid() {
		return
	}
	if m.resync.Swap(false) {
		m.tx.restart()
	}
	pkt, err := m.tx.packet(f.b[:f.n], f.ts, cfg)
	if err != nil {
		return
	}
	_, _ = m.conn.WriteToUDPAddrPort(pkt, dst)
}

// resyncTx tells the sender that the next frame comes from another
// source: its RTP timestamp continues one frame on, with the marker bit.
func (m *media) resyncTx() { m.resync.Store(true) }

// destination is where RTP goes: the latched source, else the SDP address
// when it is the caller's signalling address, else nowhere (invalid).
func (m *media) destination() netip.AddrPort {
	m.remoteMu.Lock()
	defer m.remoteMu.Unlock()
	return m.remote
}

// initialDestination is where RTP goes before any packet came: the SDP
// address only when its IP is the one the INVITE came from. An SDP naming
// a third party must not turn the gateway into a 50 packet/s cannon
// pointed at it: media to any other address waits until a packet from it
// arrives (and authenticates, for SRTP).
func (m *media) initialDestination(sdp netip.AddrPort) netip.AddrPort {
	if sdp.IsValid() && sdp.Addr().Unmap() == m.signalIP {
		return sdp
	}
	return netip.AddrPort{}
}

// setRemote applies the SDP address of a re-offer: when it changed,
// latching starts over.
func (m *media) setRemote(a netip.AddrPort) {
	m.remoteMu.Lock()
	defer m.remoteMu.Unlock()
	if a != m.sdpRemote {
		m.sdpRemote, m.remote, m.latched = a, m.initialDestination(a), false
	}
}

// accept applies symmetric RTP: media goes back to where the caller's
// packets come from. Only packets from the INVITE's source IP or the SDP's
// IP are taken (any port: NATs change it), so a third party that guesses
// the port cannot latch the call onto itself. It reports whether a packet
// from src is taken.
func (m *media) accept(src netip.AddrPort, now int64, authenticated bool) bool {
	m.remoteMu.Lock()
	defer m.remoteMu.Unlock()
	if ip := src.Addr(); ip != m.signalIP && ip != m.sdpRemote.Addr().Unmap() {
		return false
	}
	switch {
	case !m.latched, src == m.remote:
	case authenticated, now-m.latchedAt > int64(latchHold):
	default:
		return false
	}
	m.remote, m.latched, m.latchedAt = src, true, now
	return true
}

// read is the reader goroutine: one per socket, one buffer, no allocation
// or logging per packet. A panic (a bad packet meeting a bug) ends the
// reader and, through failed, its call; never the process.
func (m *media) read() {
	defer close(m.done)
	defer guard.Recover(m.log, m.panics, "sipgw RTP reader", m.fail)
	buf := make([]byte, 1500)
	plain := make([]byte, 1500)
	var hdr rtp.Header
	for {
		n, src, err := m.conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		m.packet(buf[:n], plain, netip.AddrPortFrom(src.Addr().Unmap(), src.Port()), &hdr)
	}
}

func (m *media) packet(pkt, plain []byte, src netip.AddrPort, hdr *rtp.Header) {
	if len(pkt) < 12 || pkt[0]>>6 != 2 {
		m.invalid.Add(1)
		return
	}
	if pt := pkt[1]; pt >= 192 && pt <= 223 {
		return // RTCP multiplexed on the RTP port (RFC 5761 §4): not used
	}
	cfg := m.rxCfg.Load()
	if cfg.srtp != nil {
		dec, err := cfg.srtp.DecryptRTP(plain[:0], pkt, hdr)
		if err != nil {
			m.rejected.Add(1) // failed authentication or replayed
			return
		}
		pkt = dec
	}
	hl, err := hdr.Unmarshal(pkt)
	if err != nil {
		m.invalid.Add(1)
		return
	}
	end := len(pkt)
	if hdr.Padding {
		if pad := int(pkt[end-1]); pad > 0 && pad <= end-hl {
			end -= pad
		}
	}
	payload := pkt[hl:end]
	pt := hdr.PayloadType
	if pt != cfg.pt && int(pt) != cfg.tePT {
		if pt != 13 { // comfort noise (RFC 3389) is expected and ignored
			m.invalid.Add(1)
		}
		return
	}
	now := m.clock.Now().UnixNano()
	if !m.accept(src, now, cfg.srtp != nil) {
		m.rejected.Add(1)
		return
	}
	m.lastRTP.Store(now)
	if !m.hasSSRC || hdr.SSRC != m.ssrc {
		// A new stream (first packet, or the phone restarted it).
		m.ssrc, m.hasSSRC = hdr.SSRC, true
		m.seq.reset()
		if m.opusIn != nil {
			m.opusIn.have = false
		}
	}
	exp, rec := m.seq.update(hdr.SequenceNumber)
	m.expected.Add(exp)
	m.received.Add(rec)
	if int(pt) == cfg.tePT {
		m.dtmf.packet(payload, hdr.Timestamp, hdr.SequenceNumber)
		return
	}
	if m.opusIn != nil {
		m.opusIn.packet(payload, hdr.Timestamp)
	} else {
		m.g711In.packet(payload, hdr.Timestamp, hdr.Marker)
	}
	m.syncStats()
}

// syncStats publishes the reader's plain counters.
func (m *media) syncStats() {
	m.lateIn.Store(m.stats.late)
	m.lostUnits.Store(m.stats.lostUnits)
	if m.stats.invalid > 0 {
		m.invalid.Add(m.stats.invalid)
		m.stats.invalid = 0
	}
}

// seqTracker follows RTP sequence numbers for loss statistics (RFC 3550
// §A.1, §A.3): each update returns how many more packets were expected
// and received.
type seqTracker struct {
	have bool
	max  uint16
}

func (s *seqTracker) reset() { s.have = false }

func (s *seqTracker) update(seq uint16) (expected, received uint64) {
	if !s.have {
		s.have, s.max = true, seq
		return 1, 1
	}
	d := seq - s.max
	switch {
	case d == 0:
		return 0, 0 // duplicate
	case d < 0x8000:
		if d > 3000 { // a jump (RFC 3550 MAX_DROPOUT): not loss
			s.max = seq
			return 1, 1
		}
		s.max = seq
		return uint64(d), 1
	default:
		// Reordered (late) packet: it was counted as expected already.
		return 0, 1
	}
}

// sender builds the caller's RTP from the meeting's mix (sender goroutine).
type sender struct {
	codec   codec
	ssrc    uint32
	seq     uint16
	ts      uint32
	started bool
	lastMix uint32
	hdr     rtp.Header
	pkt     [12 + maxOpus]byte
	enc     [12 + maxOpus + 64]byte
}

func (s *sender) init(c codec, ssrc uint32, seq uint16, ts uint32) error {
	s.codec, s.ssrc, s.seq, s.ts = c, ssrc, seq, ts
	return nil
}

// restart makes the next frame a new talkspurt: the RTP timestamp moves
// one 20 ms frame on whatever the frame's own timestamp, with the marker.
func (s *sender) restart() {
	if s.started {
		s.ts += 20 * s.codec.clock() / 1000
		s.started = false
	}
}

// packet returns the (S)RTP packet for one mix frame (Opus, or G.711 the
// mixer encoded; either way the mix's timestamps are in the codec's RTP
// clock), with cfg's payload type and SRTP context; the result is valid
// until the next call.
func (s *sender) packet(payload []byte, mixTS uint32, cfg *txConfig) ([]byte, error) {
	n := copy(s.pkt[12:], payload)
	if s.started {
		s.ts += mixTS - s.lastMix
	}
	marker := !s.started
	s.started, s.lastMix = true, mixTS
	h := s.pkt[:12]
	h[0] = 0x80
	h[1] = cfg.pt
	if marker {
		h[1] |= 0x80
	}
	h[2], h[3] = byte(s.seq>>8), byte(s.seq)
	h[4], h[5], h[6], h[7] = byte(s.ts>>24), byte(s.ts>>16), byte(s.ts>>8), byte(s.ts)
	h[8], h[9], h[10], h[11] = byte(s.ssrc>>24), byte(s.ssrc>>16), byte(s.ssrc>>8), byte(s.ssrc)
	s.seq++
	plain := s.pkt[:12+n]
	if cfg.srtp == nil {
		return plain, nil
	}
	return cfg.srtp.EncryptRTP(s.enc[:0], plain, &s.hdr)
}
