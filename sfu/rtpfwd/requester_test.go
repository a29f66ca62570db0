package rtpfwd

import (
	"sync"
	"testing"
	"time"
)

func TestKeyframeRequester(t *testing.T) {
	type call struct {
		ssrc uint32
		ms   int // after the start
		want bool
	}
	for _, tc := range []struct {
		name     string
		interval time.Duration
		calls    []call
	}{
		{
			name:     "once per interval per SSRC",
			interval: 500 * time.Millisecond,
			calls: []call{
				{ssrcA, 0, true},
				{ssrcA, 1, false},
				{ssrcA, 499, false},
				{ssrcB, 499, true}, // another SSRC has its own budget
				{ssrcA, 500, true},
				{ssrcB, 600, false},
				{ssrcA, 700, false},
				{ssrcA, 1000, true},
				{ssrcB, 1000, true},
			},
		},
		{
			name:     "a refused request does not restart the interval",
			interval: 100 * time.Millisecond,
			calls: []call{
				{ssrcA, 0, true},
				{ssrcA, 90, false},
				{ssrcA, 100, true},
			},
		},
		{
			name:     "a clock going backwards refuses",
			interval: 100 * time.Millisecond,
			calls: []call{
				{ssrcA, 1000, true},
				{ssrcA, 500, false},
				{ssrcA, 1100, true},
			},
		},
		{
			name:     "no interval: always",
			interval: 0,
			calls: []call{
				{ssrcA, 0, true},
				{ssrcA, 0, true},
				{ssrcB, 1, true},
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k := NewKeyframeRequester(tc.interval)
			start := time.Unix(1700000000, 0)
			for i, c := range tc.calls {
				if got := k.Allow(c.ssrc, start.Add(time.Duration(c.ms)*time.Millisecond)); got != c.want {
					t.Errorf("call %d: Allow(%#x, +%d ms) = %v, want %v", i, c.ssrc, c.ms, got, c.want)
				}
			}
		})
	}
}

func TestKeyframeRequesterBoundedMemory(t *testing.T) {
	const interval = time.Second
	k := NewKeyframeRequester(interval)
	now := time.Unix(1700000000, 0)

	// SSRCs churn (publishers come and go): old entries are forgotten.
	for i := range uint32(10000) {
		if !k.Allow(i+1, now) {
			t.Fatalf("SSRC %d refused on its first request", i+1)
		}
		if n := len(k.last); n > maxRequesterSSRCs {
			t.Fatalf("%d SSRCs tracked, more than %d", n, maxRequesterSSRCs)
		}
		now = now.Add(10 * time.Millisecond)
	}
	// The last 100 SSRCs (1 s at 10 ms each) are still within the interval.
	for i := uint32(9901); i <= 10000; i++ {
		if k.Allow(i, now.Add(-time.Millisecond)) {
			t.Errorf("SSRC %d allowed again within its interval", i)
		}
	}

	// More SSRCs within one interval than the cap: still bounded, and the
	// most recent ones keep their limit.
	k = NewKeyframeRequester(time.Hour)
	for i := range uint32(3 * maxRequesterSSRCs) {
		k.Allow(i+1, now.Add(time.Duration(i)*time.Millisecond))
		if n := len(k.last); n > maxRequesterSSRCs {
			t.Fatalf("%d SSRCs tracked, more than %d", n, maxRequesterSSRCs)
		}
	}
	if k.Allow(3*maxRequesterSSRCs, now.Add(time.Minute)) {
		t.Error("most recent SSRC forgotten")
	}
}

func TestKeyframeRequesterDoesNotAllocate(t *testing.T) {
	k := NewKeyframeRequester(100 * time.Millisecond)
	now := time.Unix(1700000000, 0)
	k.Allow(ssrcA, now)
	k.Allow(ssrcB, now)
	allocs := testing.AllocsPerRun(1000, func() {
		now = now.Add(7 * time.Millisecond)
		k.Allow(ssrcA, now)
		k.Allow(ssrcB, now)
	})
	if allocs != 0 {
		t.Fatalf("Allow allocates %v times per call", allocs)
	}
}

// TestKeyframeRequesterConcurrent lets several subscribers' goroutines ask
// for the same SSRC at once: exactly one request per interval goes out.
func TestKeyframeRequesterConcurrent(t *testing.T) {
	k := NewKeyframeRequester(time.Hour)
	now := time.Unix(1700000000, 0)
	var wg sync.WaitGroup
	var mu sync.Mutex
	allowed := 0
	for range 8 {
		wg.Go(func() {
			for range 100 {
				if k.Allow(ssrcA, now) {
					mu.Lock()
					allowed++
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	if allowed != 1 {
		t.Fatalf("%d requests allowed, want 1", allowed)
	}
}
