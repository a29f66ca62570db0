package rtpfwd

import (
	"testing"
	"time"
)

func TestSeqDiff(t *testing.T) {
	for _, tc := range []struct {
		a, b uint16
		want int16
	}{
		{5, 5, 0},
		{6, 5, 1},
		{5, 6, -1},
		{0, 65535, 1},     // wrap forward
		{65535, 0, -1},    // wrap backward
		{32767, 0, 32767}, // farthest still newer
		{32768, 0, -32768},
	} {
		if got := seqDiff(tc.a, tc.b); got != tc.want {
			t.Errorf("seqDiff(%d, %d) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
}

func TestTsNewer(t *testing.T) {
	for _, tc := range []struct {
		a, b uint32
		want bool
	}{
		{1, 0, true},
		{0, 0, false},
		{0, 1, false},
		{0, 0xffffffff, true}, // wrap
		{0xffffffff, 0, false},
		{1<<31 - 1, 0, true},
		{1 << 31, 0, false},
	} {
		if got := tsNewer(tc.a, tc.b); got != tc.want {
			t.Errorf("tsNewer(%#x, %#x) = %v, want %v", tc.a, tc.b, got, tc.want)
		}
	}
}

func TestUnwrapSeq(t *testing.T) {
	for _, tc := range []struct {
		ref  int64
		seq  uint16
		want int64
	}{
		{100, 101, 101},
		{100, 99, 99},
		{65535, 0, 65536},
		{65536, 65535, 65535},
		{3 * 65536, 2, 3*65536 + 2},
		{3*65536 + 2, 65534, 3*65536 - 2},
		{0, 65535, -1},
	} {
		if got := unwrapSeq(tc.ref, tc.seq); got != tc.want {
			t.Errorf("unwrapSeq(%d, %d) = %d, want %d", tc.ref, tc.seq, got, tc.want)
		}
	}
}

func TestDurationTicks(t *testing.T) {
	for _, tc := range []struct {
		d    time.Duration
		rate uint32
		want uint32
	}{
		{0, 90000, 0},
		{-time.Second, 90000, 0},
		{time.Second, 90000, 90000},
		{33 * time.Millisecond, 90000, 2970},
		{time.Second / 30, 90000, 2999}, // 33.333333 ms rounds down
		{20 * time.Millisecond, 48000, 960},
		{time.Nanosecond, 90000, 0},
		{90 * time.Minute, 90000, 486000000},
		{7 * time.Hour, 90000, maxTickStep},           // 2.27e9 ticks: clamped
		{1 << 62, 90000, maxTickStep},                 // secs*rate overflow guarded
		{time.Hour, 1<<32 - 1, maxTickStep},           // huge clock rate
		{1500 * time.Millisecond, 0, 0},               // no clock: caller steps by 1
		{time.Second + time.Nanosecond, 1e9, 1e9 + 1}, // sub-second part kept
	} {
		if got := durationTicks(tc.d, tc.rate); got != tc.want {
			t.Errorf("durationTicks(%v, %d) = %d, want %d", tc.d, tc.rate, got, tc.want)
		}
	}
}
