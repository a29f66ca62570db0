package phone

import (
	"encoding/binary"
	"testing"
)

// TestKeypad: "1#" goes out as RFC 4733 events: per key five packets of a
// growing duration on the key's start timestamp (the first with the
// marker bit), then three end packets in one tick, then three ticks of
// audio; the first tick of "#", the last key, reports it.
func TestKeypad(t *testing.T) {
	type sent struct {
		code   uint8
		end    bool
		dur    uint16
		marker bool
		ts     uint32
	}
	var got []sent
	k := &keypad{pt: 101, perPacket: 160, keys: "1#"}
	var events, audio, lastAt int
	for tick := range 30 {
		ts := uint32(1000 + 160*tick)
		ev, done := k.tick(ts, func(p []byte, marker bool, ts uint32) {
			got = append(got, sent{p[0], p[1]&0x80 != 0, binary.BigEndian.Uint16(p[2:]), marker, ts})
		})
		if ev {
			events++
		} else {
			audio++
		}
		if done {
			lastAt = tick
		}
	}
	// Key 1: ticks 0–5, gap 6–8, key #: ticks 9–14.
	if events != 12 || lastAt != 9 {
		t.Fatalf("%d event ticks, done at tick %d", events, lastAt)
	}
	if len(got) != 16 {
		t.Fatalf("%d packets, want 16", len(got))
	}
	for i, p := range got {
		key, n := i/8, i%8
		wantCode, wantTS := uint8(1), uint32(1000)
		if key == 1 {
			wantCode, wantTS = 11, 1000+160*9
		}
		wantDur := uint16(160 * min(n+1, 5))
		if p.code != wantCode || p.ts != wantTS || p.end != (n >= 5) || p.marker != (n == 0) || p.dur != wantDur {
			t.Errorf("packet %d: %+v, want code %d ts %d end %v marker %v duration %d", i, p, wantCode, wantTS, n >= 5, n == 0, wantDur)
		}
	}
}

func TestDigitsChecked(t *testing.T) {
	if err := checkDigits("0123456789*#ABCD"); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"12x", "1 2", "é"} {
		if checkDigits(bad) == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestTelephoneEventPT(t *testing.T) {
	maps := []string{"0 PCMU/8000", "101 telephone-event/8000", "102 telephone-event/48000"}
	if pt := telephoneEventPT(maps, 8000); pt != 101 {
		t.Fatalf("8 kHz: %d", pt)
	}
	if pt := telephoneEventPT(maps, 48000); pt != 102 {
		t.Fatalf("48 kHz: %d", pt)
	}
	if pt := telephoneEventPT([]string{"13 telephone-event/8000"}, 8000); pt != -1 {
		t.Fatalf("static payload type accepted: %d", pt)
	}
}
