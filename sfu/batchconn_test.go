package sfu

import (
	"bytes"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"
)

// TestBatchConn: on a real loopback socket, writes between Begin and End
// reach the wire only at End, in order, in ceil(n/maxBatch) sendmmsg calls;
// nested batches send at the last End; a write outside a batch goes at
// once; a datagram to a closed port does not stop the rest.
func TestBatchConn(t *testing.T) {
	b := newBatchConn(loopbackUDP(t))
	defer b.Close()
	if b.sender == nil {
		t.Fatal("no sendmmsg on a UDP socket")
	}
	peer := loopbackUDP(t)
	defer peer.Close()
	recv := func(n int, wait time.Duration) [][]byte {
		t.Helper()
		var got [][]byte
		buf := make([]byte, 2048)
		for len(got) < n {
			_ = peer.SetReadDeadline(time.Now().Add(wait))
			k, _, err := peer.ReadFrom(buf)
			if err != nil {
				break
			}
			got = append(got, append([]byte(nil), buf[:k]...))
		}
		return got
	}
	to := peer.LocalAddr()

	b.Begin()
	const n = maxBatch + 6
	for i := range n {
		if _, err := b.WriteTo([]byte(fmt.Sprintf("pkt-%03d", i)), to); err != nil {
			t.Fatal(err)
		}
	}
	// The first maxBatch went when the queue filled; the rest wait for End.
	if got := recv(n, 200*time.Millisecond); len(got) != maxBatch {
		t.Fatalf("before End: %d datagrams on the wire, want %d (one full batch)", len(got), maxBatch)
	}
	b.End()
	if got := recv(6, time.Second); len(got) != 6 || !bytes.Equal(got[5], []byte(fmt.Sprintf("pkt-%03d", n-1))) {
		t.Fatalf("after End: %q", got)
	}
	if b.batches.Load() != 2 || b.batched.Load() != n {
		t.Errorf("%d batches, %d batched; want 2, %d", b.batches.Load(), b.batched.Load(), n)
	}

	// Nested: the inner End sends nothing, the outer one everything.
	b.Begin()
	b.Begin()
	_, _ = b.WriteTo([]byte("a"), to)
	b.End()
	if got := recv(1, 100*time.Millisecond); len(got) != 0 {
		t.Fatalf("inner End sent %q", got)
	}
	_, _ = b.WriteTo([]byte("b"), to)
	b.End()
	if got := recv(2, time.Second); len(got) != 2 || string(got[0]) != "a" || string(got[1]) != "b" {
		t.Fatalf("outer End: %q", got)
	}

	// Outside a batch: straight to the socket.
	_, _ = b.WriteTo([]byte("now"), to)
	if got := recv(1, time.Second); len(got) != 1 || string(got[0]) != "now" {
		t.Fatalf("unbatched write: %q", got)
	}

	// A refused destination in the middle of a batch does not stop it.
	b.Begin()
	_, _ = b.WriteTo([]byte("x"), to)
	_, _ = b.WriteTo([]byte("refused"), &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 0})
	_, _ = b.WriteTo([]byte("y"), to)
	b.End()
	if got := recv(2, time.Second); len(got) != 2 || string(got[1]) != "y" {
		t.Fatalf("batch with a refused datagram: %q (send errors %d)", got, b.sendErrors.Load())
	}
}

// TestBatchConnConcurrent: several goroutines batching and writing at once
// (mixer ticks, video fan-outs, DTLS) lose and duplicate nothing.
func TestBatchConnConcurrent(t *testing.T) {
	b := newBatchConn(loopbackUDP(t))
	defer b.Close()
	peer := loopbackUDP(t)
	defer peer.Close()
	_ = peer.SetReadBuffer(4 << 20)
	const writers, each = 4, 200
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				if i%10 == 0 {
					b.Begin()
				}
				_, _ = b.WriteTo([]byte(fmt.Sprintf("%d-%d", w, i)), peer.LocalAddr())
				if i%10 == 9 {
					b.End()
				}
			}
		}()
	}
	wg.Wait()
	seen := map[string]bool{}
	buf := make([]byte, 64)
	for len(seen) < writers*each {
		_ = peer.SetReadDeadline(time.Now().Add(time.Second))
		n, _, err := peer.ReadFrom(buf)
		if err != nil {
			break
		}
		if seen[string(buf[:n])] {
			t.Fatalf("duplicate %s", buf[:n])
		}
		seen[string(buf[:n])] = true
	}
	if len(seen) != writers*each {
		t.Fatalf("%d of %d datagrams arrived", len(seen), writers*each)
	}
}

func loopbackUDP(t *testing.T) *net.UDPConn {
	t.Helper()
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	return c
}
