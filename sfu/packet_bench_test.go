package sfu

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pion/rtp"

	"github.com/confab-media/confab/bench/attendee"
)

// The per-packet benchmarks measure one audio packet's way through the
// real stack: pion's ICE UDP mux over a loopback socket, DTLS-SRTP, the
// interceptors and Confab's own code. The remote peer is a stock pion
// client (bench/attendee) in a child process — this test binary run again
// with packetPeerEnv set — so the process measured (CPU time from
// getrusage, allocations from the runtime) is the server alone.

// packetPeerEnv carries the child's signaling URL and join token.
const packetPeerEnv = "CONFAB_SFU_PACKET_PEER"

func TestMain(m *testing.M) {
	if v := os.Getenv(packetPeerEnv); v != "" {
		os.Exit(runPacketPeer(v, os.Stdin, os.Stdout))
	}
	os.Exit(m.Run())
}

// runPacketPeer is the child: it joins, says "joined", then answers each
// "send N" line on in by sending N Opus packets as fast as it can and
// saying "sent". It leaves at EOF.
func runPacketPeer(v string, in io.Reader, out io.Writer) int {
	url, token, _ := strings.Cut(v, " ")
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	a, err := attendee.Dial(ctx, attendee.Config{SignalingURL: url, JoinToken: token, Name: "packet-peer", Loopback: true})
	cancel()
	if err != nil {
		fmt.Fprintln(out, "error:", err)
		return 1
	}
	defer a.Close()
	fmt.Fprintln(out, "joined")
	payload := make([]byte, 60) // a 20 ms Opus voice frame at ~24 kb/s
	payload[0] = 0x78           // TOC: SILK-only wideband 20 ms, mono, one frame
	// Sequence numbers ahead of the paced sender's (which starts at 0 on
	// the same SSRC), so SRTP's replay window sees no duplicates, and less
	// than 2^15 ahead, so its rollover estimate holds (RFC 3711 §3.3.1).
	pkt := &rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 111, SequenceNumber: 1000, Timestamp: 1}, Payload: payload}
	sc := bufio.NewScanner(in)
	for sc.Scan() {
		var n int
		if _, err := fmt.Sscanf(sc.Text(), "send %d", &n); err != nil {
			fmt.Fprintln(out, "error:", err)
			return 1
		}
		for range n {
			_ = a.WriteAudio(pkt)
			pkt.SequenceNumber++
			pkt.Timestamp += 960
		}
		fmt.Fprintln(out, "sent")
	}
	return 0
}

// packetPeer is the parent's handle on the child.
type packetPeer struct {
	cmd *exec.Cmd
	in  io.WriteCloser
	out *bufio.Scanner
}

// startPacketPeer joins a child process peer to a new meeting of f and
// returns it with the server's Peer for it.
func startPacketPeer(b *testing.B, f *fixture) (*packetPeer, *Peer) {
	mid := f.meeting()
	a := f.attendee(mid, "packet-peer")
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), packetPeerEnv+"="+f.signalingURL(mid)+" "+a.JoinToken)
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	pp := &packetPeer{cmd: cmd, in: in, out: bufio.NewScanner(out)}
	b.Cleanup(func() {
		_ = in.Close()
		if err := cmd.Wait(); err != nil {
			b.Errorf("packet peer: %v", err)
		}
	})
	pp.expect(b, "joined")
	f.sv.mu.Lock()
	defer f.sv.mu.Unlock()
	for _, p := range f.sv.peers {
		return pp, p
	}
	b.Fatal("no server peer for the packet peer")
	return nil, nil
}

func (pp *packetPeer) expect(b *testing.B, line string) {
	if !pp.out.Scan() || pp.out.Text() != line {
		b.Fatalf("packet peer said %q (%v), want %q", pp.out.Text(), pp.out.Err(), line)
	}
}

// cpuTime is this process's user+system CPU time.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func mallocs() uint64 {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.Mallocs
}

// BenchmarkAudioPacket measures one audio packet of a meeting with one
// WebRTC attendee:
//
//   - out/confab: the mixer's sink for one listener (mixSender.sink) on a
//     track no PeerConnection is bound to — Confab's part of the way out.
//   - out/wire: the listener's track → pion (interceptors, SRTP) → the
//     batching socket → sendmmsg, 50 packets a batch as one mixer tick.
//   - in/wire: the client sends; the socket → ICE mux → SRTP → the track
//     reader → the mixer leg's Push. Measured over what arrived.
//
// Figures: ns/op is wall time per packet (for in, with the pacing waits:
// read cpu-ns/pkt); cpu-ns/pkt is the whole
// server process's CPU time per packet (every goroutine, the mixer's 20 ms
// tick included); allocs/pkt likewise counts every allocation.
func BenchmarkAudioPacket(b *testing.B) {
	b.Run("out/confab", func(b *testing.B) {
		s, err := newMixSender(&counters{})
		if err != nil {
			b.Fatal(err)
		}
		payload := make([]byte, 60)
		b.ReportAllocs()
		ts := uint32(0)
		for b.Loop() {
			s.sink(payload, ts)
			ts += 960
		}
	})
	b.Run("out/wire", func(b *testing.B) {
		f := buildFixture(b, Config{}, nil)
		_, p := startPacketPeer(b, f)
		pkt := &rtp.Packet{Header: rtp.Header{Version: 2, Timestamp: 1}, Payload: make([]byte, 60)}
		runtime.GC()
		cpu0, m0 := cpuTime(b), mallocs()
		b.ResetTimer()
		for i := range b.N {
			if i%50 == 0 {
				f.sv.out.Begin()
			}
			if err := p.out.track.WriteRTP(pkt); err != nil {
				b.Fatal(err)
			}
			pkt.SequenceNumber++
			pkt.Timestamp += 960
			if i%50 == 49 || i == b.N-1 {
				f.sv.out.End()
			}
		}
		b.StopTimer()
		b.ReportMetric(float64(cpuTime(b)-cpu0)/float64(b.N), "cpu-ns/pkt")
		b.ReportMetric(float64(mallocs()-m0)/float64(b.N), "allocs/pkt")
	})
	b.Run("in/wire", func(b *testing.B) {
		f := buildFixture(b, Config{}, nil)
		if b.N > 30000 {
			// Beyond, the blast runs 2^15 ahead of the paced sender on the
			// same SSRC and SRTP's rollover estimate drops packets.
			b.Fatalf("in/wire: -benchtime %dx; at most 30000x", b.N)
		}
		pp, _ := startPacketPeer(b, f)
		stats := &f.sv.stats
		runtime.GC()
		in0, cpu0, m0 := stats.audioInPkts.Load(), cpuTime(b), mallocs()
		b.ResetTimer()
		// In rounds of 100 packets, each waiting for the last to arrive
		// (or 20 ms), so the socket's receive buffer is not what limits
		// the count.
		sent := uint64(0)
		for left := b.N; left > 0; left -= 100 {
			n := min(left, 100)
			fmt.Fprintf(pp.in, "send %d\n", n)
			pp.expect(b, "sent")
			sent += uint64(n)
			deadline := time.Now().Add(20 * time.Millisecond)
			for stats.audioInPkts.Load()-in0 < sent && time.Now().Before(deadline) {
				time.Sleep(100 * time.Microsecond)
			}
		}
		b.StopTimer()
		got := stats.audioInPkts.Load() - in0
		if got == 0 {
			b.Fatal("no packet arrived")
		}
		b.ReportMetric(float64(cpuTime(b)-cpu0)/float64(got), "cpu-ns/pkt")
		b.ReportMetric(float64(mallocs()-m0)/float64(got), "allocs/pkt")
		b.ReportMetric(100*float64(got)/float64(b.N), "%arrived")
	})
}
