package sipgw

import (
	"crypto/rand"
	"net"
	"net/netip"
	"testing"

	"github.com/pion/rtp"
	"github.com/pion/srtp/v3"

	"github.com/confab-media/confab/internal/clock"
)

// Per-frame costs of the media paths (one 20 ms frame per op):
//
//	go test -run '^$' -bench . -benchmem ./sipgw/

// mixFrames returns Opus frames of the meeting's mix (a tone, 32 kbit/s).
func mixFrames(tb testing.TB, n int) [][]byte {
	g := newToneEncoder(tb, 48000, 440, 8000)
	fs := make([][]byte, n)
	for i := range fs {
		fs[i], _ = g.next()
	}
	return fs
}

// ulawFrames returns n 20 ms PCMU payloads of a tone.
func ulawFrames(n int) [][]byte {
	x := sine8k(160*n, 1000, 8000, 0)
	fs := make([][]byte, n)
	for i := range fs {
		fs[i] = ulaw(x[i*160 : (i+1)*160])
	}
	return fs
}

// BenchmarkG711In: caller → meeting: G.711 decode, reorder ring,
// concealer, level (the mixer upsamples; no Opus encode per caller).
func BenchmarkG711In(b *testing.B) {
	r := newG711Rx(codecPCMU, func([]int16, uint32, int8) {}, &rxStats{})
	fs := ulawFrames(50)
	b.ReportAllocs()
	ts := uint32(0)
	i := 0
	for b.Loop() {
		r.packet(fs[i%len(fs)], ts, false)
		ts += 160
		i++
	}
}

// BenchmarkG711Out: meeting → caller: the mix's Opus decoded straight at
// 8 kHz, G.711-encoded, RTP header.
func BenchmarkG711Out(b *testing.B) {
	var s sender
	if err := s.init(codecPCMU, 1, 1, 1); err != nil {
		b.Fatal(err)
	}
	cfg := &txConfig{pt: 0}
	fs := mixFrames(b, 50)
	b.ReportAllocs()
	ts := uint32(0)
	i := 0
	for b.Loop() {
		if _, err := s.packet(fs[i%len(fs)], ts, cfg); err != nil {
			b.Fatal(err)
		}
		ts += 960
		i++
	}
}

// BenchmarkG711Path: both directions of one G.711 call per frame.
func BenchmarkG711Path(b *testing.B) {
	r := newG711Rx(codecPCMU, func([]int16, uint32, int8) {}, &rxStats{})
	var s sender
	if err := s.init(codecPCMU, 1, 1, 1); err != nil {
		b.Fatal(err)
	}
	cfg := &txConfig{pt: 0}
	in, out := ulawFrames(50), mixFrames(b, 50)
	b.ReportAllocs()
	ts := uint32(0)
	i := 0
	for b.Loop() {
		r.packet(in[i%len(in)], ts, false)
		if _, err := s.packet(out[i%len(out)], ts*6, cfg); err != nil {
			b.Fatal(err)
		}
		ts += 160
		i++
	}
}

// BenchmarkOpusIn: caller → meeting for an Opus caller: the level decode
// at 16 kHz (the payload itself is pushed untouched).
func BenchmarkOpusIn(b *testing.B) {
	r, err := newOpusRx(func([]byte, uint32, int8) {}, &rxStats{})
	if err != nil {
		b.Fatal(err)
	}
	fs := mixFrames(b, 50)
	b.ReportAllocs()
	ts := uint32(0)
	i := 0
	for b.Loop() {
		r.packet(fs[i%len(fs)], ts)
		ts += 960
		i++
	}
}

// srtpPair returns a send and a receive context sharing a key.
func srtpPair(tb testing.TB) (tx, rx *srtp.Context) {
	key := make([]byte, 44)
	_, _ = rand.Read(key)
	var err error
	if tx, err = srtp.CreateContext(key[:32], key[32:], srtp.ProtectionProfileAeadAes256Gcm); err != nil {
		tb.Fatal(err)
	}
	if rx, err = srtp.CreateContext(key[:32], key[32:], srtp.ProtectionProfileAeadAes256Gcm, srtp.SRTPReplayProtection(128)); err != nil {
		tb.Fatal(err)
	}
	return tx, rx
}

// testMedia returns a media session on loopback sockets (not started),
// pushing into push.
func testMedia(tb testing.TB, c codec, rx *srtp.Context, push func([]byte, uint32, int8) error) *media {
	a, _ := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	b, _ := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	tb.Cleanup(func() { _ = a.Close(); _ = b.Close() })
	pt := uint8(111)
	if c != codecOpus {
		pt = 0
	}
	m, err := newMedia(mediaParams{clock: clock.System{}, conn: a, rtcp: b, codec: c,
		rx: rxConfig{pt: pt, tePT: 101, srtp: rx}, push: push, ssrc: 7, seq: 1, tsBase: 1,
		pushPCM:  func([]int16, uint32, int8) error { return nil },
		signalIP: netip.AddrFrom4([4]byte{127, 0, 0, 1})})
	if err != nil {
		tb.Fatal(err)
	}
	return m
}

// BenchmarkSRTPOpusIn: one SRTP (AEAD_AES_256_GCM) Opus packet received:
// decrypt, replay check, latch, sequence stats, level decode, push.
func BenchmarkSRTPOpusIn(b *testing.B) {
	tx, rx := srtpPair(b)
	m := testMedia(b, codecOpus, rx, func([]byte, uint32, int8) error { return nil })
	fs := mixFrames(b, 50)
	pkts := make([][]byte, 2000)
	for i := range pkts {
		p := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 111, SequenceNumber: uint16(i), Timestamp: uint32(i * 960), SSRC: 9},
			Payload: fs[i%len(fs)]}
		raw, _ := p.Marshal()
		pkts[i], _ = tx.EncryptRTP(nil, raw, nil)
	}
	src := netip.MustParseAddrPort("127.0.0.1:5004")
	buf, plain := make([]byte, 1500), make([]byte, 1500)
	var hdr rtp.Header
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if i == len(pkts) { // the replay window forbids reuse: re-key
			b.StopTimer()
			tx, rx = srtpPair(b)
			for j := range pkts {
				p := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 111, SequenceNumber: uint16(j), Timestamp: uint32(j * 960), SSRC: 9},
					Payload: fs[j%len(fs)]}
				raw, _ := p.Marshal()
				pkts[j], _ = tx.EncryptRTP(nil, raw, nil)
			}
			m.rxCfg.Store(&rxConfig{pt: 111, tePT: 101, srtp: rx})
			m.hasSSRC = false
			i = 0
			b.StartTimer()
		}
		n := copy(buf, pkts[i])
		m.packet(buf[:n], plain, src, &hdr)
		i++
	}
}

// BenchmarkSRTPOpusOut: one mix frame to an Opus caller: RTP header and
// SRTP (AEAD_AES_256_GCM) encryption.
func BenchmarkSRTPOpusOut(b *testing.B) {
	tx, _ := srtpPair(b)
	var s sender
	if err := s.init(codecOpus, 1, 1, 1); err != nil {
		b.Fatal(err)
	}
	cfg := &txConfig{pt: 111, srtp: tx}
	fs := mixFrames(b, 50)
	b.ReportAllocs()
	ts := uint32(0)
	i := 0
	for b.Loop() {
		if _, err := s.packet(fs[i%len(fs)], ts, cfg); err != nil {
			b.Fatal(err)
		}
		ts += 960
		i++
	}
}

// TestHotPathsDoNotAllocate: the gateway's per-packet and per-frame work
// allocates nothing in steady state. pion/srtp v3.0.10 itself allocates a
// few small objects per packet (the AES-GCM nonce, the replay detector's
// closure); that is measured separately and bounded.
func TestHotPathsDoNotAllocate(t *testing.T) {
	g := newG711Rx(codecPCMU, func([]int16, uint32, int8) {}, &rxStats{})
	in := ulawFrames(10)
	ts := uint32(0)
	if n := testing.AllocsPerRun(200, func() { g.packet(in[ts/160%10], ts, false); ts += 160 }); n != 0 {
		t.Errorf("G.711 in: %.1f allocs per frame", n)
	}

	mix := mixFrames(t, 10)
	for _, c := range []codec{codecPCMU, codecOpus} {
		var s sender
		if err := s.init(c, 1, 1, 1); err != nil {
			t.Fatal(err)
		}
		cfg := &txConfig{}
		if n := testing.AllocsPerRun(200, func() {
			if _, err := s.packet(mix[ts/160%10], ts*6, cfg); err != nil {
				t.Fatal(err)
			}
			ts += 160
		}); n != 0 {
			t.Errorf("%v out: %.1f allocs per frame", c, n)
		}
	}

	// Receive: plain RTP through media.packet (latch, stats, decode, push).
	var sp sender
	_ = sp.init(codecPCMU, 9, 1, 1)
	var pkts [][]byte
	for i := range 300 {
		p, _ := sp.packet(mix[i%10], uint32(i*960), &txConfig{})
		pkts = append(pkts, append([]byte(nil), p...))
	}
	m := testMedia(t, codecPCMU, nil, func([]byte, uint32, int8) error { return nil })
	src := netip.MustParseAddrPort("127.0.0.1:5004")
	buf, plain := make([]byte, 1500), make([]byte, 1500)
	var hdr rtp.Header
	i := 0
	if n := testing.AllocsPerRun(200, func() {
		k := copy(buf, pkts[i])
		i++
		m.packet(buf[:k], plain, src, &hdr)
	}); n != 0 {
		t.Errorf("RTP G.711 in: %.1f allocs per packet", n)
	}
	if m.received.Load() < 200 {
		t.Errorf("only %d packets accepted", m.received.Load())
	}
	if n := testing.AllocsPerRun(200, func() {
		m.mix(mix[0], 960)
		m.cur = <-m.out
		m.send(m.txCfg.Load())
	}); n != 0 {
		t.Errorf("mix hand-off and send: %.1f allocs per frame", n)
	}

	// SRTP: pion's allocations only.
	tx, rx := srtpPair(t)
	var ss sender
	_ = ss.init(codecPCMU, 9, 1, 1)
	cfg := &txConfig{srtp: tx}
	var enc [][]byte
	out := testing.AllocsPerRun(200, func() {
		p, _ := ss.packet(mix[ts/160%10], ts*6, cfg)
		ts += 160
		if len(enc) < 300 {
			enc = append(enc, append([]byte(nil), p...)) // +1, not counted below
		}
	}) - 1
	ms := testMedia(t, codecPCMU, rx, func([]byte, uint32, int8) error { return nil })
	i = 0
	inS := testing.AllocsPerRun(200, func() {
		k := copy(buf, enc[i])
		i++
		ms.packet(buf[:k], plain, src, &hdr)
	})
	t.Logf("pion/srtp allocations per packet: encrypt %.0f, decrypt %.0f", out, inS)
	if out > 2 || inS > 3 {
		t.Errorf("SRTP allocations per packet: encrypt %.1f, decrypt %.1f", out, inS)
	}
}
