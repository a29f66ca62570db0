package sipgw

import (
	"errors"
	"net"
	"net/netip"
	"testing"
	"time"
)

func TestConfigDefaults(t *testing.T) {
	c, err := Config{}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	want := Config{DialInNumber: "+17035550122", ListenUDP: "127.0.0.1:5060", ListenTCP: "127.0.0.1:5060",
		ListenTLS: "127.0.0.1:5061", RTPPortMin: 16384, RTPPortMax: 32767, RTPTimeout: 30 * time.Second,
		SessionExpires: 30 * time.Minute, MinSessionExpires: 90 * time.Second,
		NoMediaTimeout: 30 * time.Second, MaxCallsPerMeeting: 100, Stream: StreamConfig{Idle: time.Hour}}
	if c != want {
		t.Errorf("defaults\n got %+v\nwant %+v", c, want)
	}
	for _, bad := range []Config{
		{DialInNumber: "17035550122"},
		{DialInNumber: "+1234567890123456"},
		{ListenUDP: "nohost"},
		{CertFile: "c.pem"},
		{RTPPortMin: 40001, RTPPortMax: 40002},
		{RTPPortMin: 80, RTPPortMax: 90},
		{RTPTimeout: time.Millisecond},
		{MinSessionExpires: time.Minute},
		{SessionExpires: time.Minute},
		{PublicIP: "example.com"},
		{NoMediaTimeout: time.Millisecond},
		{MaxCallsPerMeeting: -1},
		{Stream: StreamConfig{MaxConnsPerIP: -1}},
	} {
		if _, err := bad.withDefaults(); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("%+v: err %v, want ErrInvalidConfig", bad, err)
		}
	}
	if _, err := New(Config{}, Params{}); !errors.Is(err, ErrInvalidConfig) {
		t.Errorf("New without Auth and Conference: %v", err)
	}
}

var ipLoopback = netip.MustParseAddr("127.0.0.1")

func TestPortAllocator(t *testing.T) {
	a := newPortAllocator(42001, 42006) // pairs 42002/3, 42004/5
	r1, c1, err := a.alloc(ipLoopback)
	if err != nil {
		t.Fatal(err)
	}
	r2, c2, err := a.alloc(ipLoopback)
	if err != nil {
		t.Fatal(err)
	}
	p1, p2 := r1.LocalAddr().(*net.UDPAddr).Port, r2.LocalAddr().(*net.UDPAddr).Port
	if p1 == p2 || p1&1 != 0 || p2&1 != 0 || p1 < 42002 || p1 > 42004 || p2 < 42002 || p2 > 42004 ||
		c1.LocalAddr().(*net.UDPAddr).Port != p1+1 || c2.LocalAddr().(*net.UDPAddr).Port != p2+1 {
		t.Errorf("ports %d/%v %d/%v", p1, c1.LocalAddr(), p2, c2.LocalAddr())
	}
	if _, _, err := a.alloc(ipLoopback); err == nil {
		t.Error("third pair allocated from a range of two")
	}
	for _, c := range []interface{ Close() error }{r1, c1, r2, c2} {
		_ = c.Close()
	}
	if r, c, err := a.alloc(ipLoopback); err != nil {
		t.Errorf("no pair after release: %v", err)
	} else {
		_, _ = r.Close(), c.Close()
	}
}

// TestPortAllocatorRandom: pairs are not handed out in order, so the next
// call's port cannot be guessed from the last one (RTP hijack).
func TestPortAllocatorRandom(t *testing.T) {
	a := newPortAllocator(43000, 43999)
	var prev int
	inOrder := 0
	for range 20 {
		r, c, err := a.alloc(ipLoopback)
		if err != nil {
			t.Fatal(err)
		}
		p := r.LocalAddr().(*net.UDPAddr).Port
		if p == prev+2 {
			inOrder++
		}
		prev = p
		_, _ = r.Close(), c.Close()
	}
	if inOrder > 2 {
		t.Errorf("%d of 20 pairs followed the previous one: allocation is sequential", inOrder)
	}
}
