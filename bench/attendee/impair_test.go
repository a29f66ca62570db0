package attendee

import (
	"net"
	"testing"
	"time"
)

// impairedPair returns an impaired sender socket and a plain receiver on
// loopback.
func impairedPair(t *testing.T, im Impairment) (*impairedConn, *net.UDPConn) {
	t.Helper()
	rx, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	tx, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	c := newImpairedConn(tx, newImpairer(im))
	t.Cleanup(func() { _ = c.Close(); _ = rx.Close() })
	return c, rx
}

// sendAndCount sends n datagrams of size bytes, numbered, and returns the
// numbers received until none came for wait, in arrival order, and when
// the last one arrived.
func sendAndCount(t *testing.T, c *impairedConn, rx *net.UDPConn, n, size int, wait time.Duration) ([]int, time.Time) {
	t.Helper()
	// Read while sending: a burst would overflow the socket's buffer.
	type result struct {
		got  []int
		last time.Time
	}
	done := make(chan result, 1)
	go func() {
		var r result
		rb := make([]byte, 2048)
		for {
			_ = rx.SetReadDeadline(time.Now().Add(wait))
			k, _, err := rx.ReadFrom(rb)
			if err != nil {
				done <- r
				return
			}
			if k >= 2 {
				r.got = append(r.got, int(rb[0])<<8|int(rb[1]))
				r.last = time.Now()
			}
		}
	}()
	buf := make([]byte, size)
	for i := range n {
		buf[0], buf[1] = byte(i>>8), byte(i)
		if _, err := c.WriteTo(buf, rx.LocalAddr()); err != nil {
			t.Fatal(err)
		}
		if i%50 == 49 {
			time.Sleep(time.Millisecond) // let the reader keep up
		}
	}
	r := <-done
	return r.got, r.last
}

// TestImpairmentLossIsSeeded: about LossPct of the datagrams are dropped,
// and the same seed drops the same ones.
func TestImpairmentLossIsSeeded(t *testing.T) {
	im := Impairment{LossPct: 10, Seed: 42}
	c1, rx1 := impairedPair(t, im)
	got1, _ := sendAndCount(t, c1, rx1, 1000, 100, 300*time.Millisecond)
	c2, rx2 := impairedPair(t, im)
	got2, _ := sendAndCount(t, c2, rx2, 1000, 100, 300*time.Millisecond)
	if lost := 1000 - len(got1); lost < 60 || lost > 140 {
		t.Fatalf("10%% loss dropped %d of 1000", lost)
	}
	if len(got1) != len(got2) {
		t.Fatalf("same seed, different losses: %d vs %d received", len(got1), len(got2))
	}
	for i := range got1 {
		if got1[i] != got2[i] {
			t.Fatalf("same seed, different datagram dropped near #%d", got1[i])
		}
	}
	if st := c1.p.snapshot(); st.DroppedOut != uint64(1000-len(got1)) {
		t.Fatalf("counted %d drops, %d went missing", st.DroppedOut, 1000-len(got1))
	}
}

// TestImpairmentDelay: every datagram arrives no sooner than Delay−Jitter.
func TestImpairmentDelay(t *testing.T) {
	c, rx := impairedPair(t, Impairment{Delay: 80 * time.Millisecond, Jitter: 20 * time.Millisecond, Seed: 1})
	start := time.Now()
	if _, err := c.WriteTo([]byte("x"), rx.LocalAddr()); err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 16)
	_ = rx.SetReadDeadline(time.Now().Add(2 * time.Second))
	if _, _, err := rx.ReadFrom(b); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 60*time.Millisecond {
		t.Fatalf("arrived after %v, want at least 60 ms", d)
	}
}

// TestImpairmentBandwidthCap: 40 datagrams of 1000 bytes at 800 kbps take
// at least 400 ms to leave, and a queue longer than maxQueueDelay drops.
func TestImpairmentBandwidthCap(t *testing.T) {
	c, rx := impairedPair(t, Impairment{BandwidthKbps: 800, Seed: 1})
	start := time.Now()
	got, last := sendAndCount(t, c, rx, 40, 1000, time.Second)
	if len(got) != 40 {
		t.Fatalf("received %d of 40 (none should be dropped: 400 ms of queue)", len(got))
	}
	// Each takes 10 ms at the cap: the last leaves ~390 ms after the first.
	if d := last.Sub(start); d < 380*time.Millisecond {
		t.Fatalf("40 × 1000 bytes at 800 kbps arrived within %v", d)
	}
	// 100 more at once: past 500 ms of queue they are dropped.
	got, _ = sendAndCount(t, c, rx, 100, 1000, time.Second)
	st := c.p.snapshot()
	if st.QueueDrops == 0 || len(got)+int(st.QueueDrops) != 100 {
		t.Fatalf("received %d, queue drops %d (want 100 in all, some dropped)", len(got), st.QueueDrops)
	}
}
