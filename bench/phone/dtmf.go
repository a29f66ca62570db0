package phone

import (
	"encoding/binary"
	"fmt"
	"strings"
)

// DTMF out: RFC 4733 telephone-event packets
// (https://www.rfc-editor.org/rfc/rfc4733#section-2.5.1), as a phone
// sends a key press in the audio stream: every packet of one event
// carries the event's start timestamp and a growing duration, the first
// one the marker bit; the end packet (E bit) goes three times. While a key
// is down the audio frames it replaces are not sent, but the audio clock
// runs on, so the next audio packet's timestamp is where it would have been.

// Key press timing, in 20 ms packets: 100 ms down, then 60 ms of audio
// before the next key, as an autodialler keys.
const (
	eventPackets  = 5 // packets while the key is down
	endRepeats    = 3 // end packets
	eventGapTicks = 3 // audio packets between two keys
	eventVolume   = 10
	eventBitEnd   = 0x80
)

// eventCode maps a key to its RFC 4733 §3.2 event code.
func eventCode(d rune) (uint8, bool) {
	switch {
	case d >= '0' && d <= '9':
		return uint8(d - '0'), true
	case d == '*':
		return 10, true
	case d == '#':
		return 11, true
	case d >= 'A' && d <= 'D':
		return uint8(12 + d - 'A'), true
	}
	return 0, false
}

// checkDigits validates a key sequence.
func checkDigits(digits string) error {
	for _, d := range digits {
		if _, ok := eventCode(d); !ok {
			return fmt.Errorf("phone: %q is not a key (0-9, *, #, A-D)", d)
		}
	}
	return nil
}

// keypad sends a sequence of keys as telephone-event packets from the
// call's sending goroutine, one 20 ms tick at a time. It owns no buffers
// beyond its payload; nothing allocates per packet.
type keypad struct {
	pt        uint8  // telephone-event payload type the answer chose
	perPacket uint32 // timestamp units per 20 ms at the audio clock
	keys      string // still to press
	down      bool   // a key is being sent
	code      uint8
	startTS   uint32 // the event's timestamp
	sent      int    // packets of the current key so far
	gap       int    // audio ticks still to go before the next key
	payload   [4]byte
}

// tick reports whether this 20 ms tick sends telephone-event packets
// rather than audio and, if so, calls send once per packet (with the
// payload and whether it carries the marker bit) at timestamp ts. It
// returns lastDown = true on the tick the last key goes down (its first
// packet): when a caller has keyed the PIN's terminator, which a receiver
// acts on.
func (k *keypad) tick(ts uint32, send func(payload []byte, marker bool, ts uint32)) (event, lastDown bool) {
	if !k.down {
		if k.gap > 0 {
			k.gap--
			return false, false
		}
		if k.keys == "" {
			return false, false
		}
		d := rune(k.keys[0])
		k.keys = k.keys[1:]
		k.code, _ = eventCode(d)
		k.down, k.startTS, k.sent = true, ts, 0
	}
	k.sent++
	duration := uint32(k.sent) * k.perPacket
	k.payload[0] = k.code
	k.payload[1] = eventVolume
	binary.BigEndian.PutUint16(k.payload[2:], uint16(min(duration, 0xffff)))
	if k.sent <= eventPackets {
		send(k.payload[:], k.sent == 1, k.startTS)
		return true, k.sent == 1 && k.keys == ""
	}
	k.payload[1] |= eventBitEnd
	binary.BigEndian.PutUint16(k.payload[2:], uint16(min(uint32(eventPackets)*k.perPacket, 0xffff)))
	for range endRepeats {
		send(k.payload[:], false, k.startTS)
	}
	k.down, k.gap = false, eventGapTicks
	return true, false
}

// telephoneEventPT returns the payload type of telephone-event at rate in
// an answer's rtpmap attributes, or -1.
func telephoneEventPT(rtpmaps []string, rate int) int {
	want := fmt.Sprintf("telephone-event/%d", rate)
	for _, m := range rtpmaps {
		pt, enc, ok := strings.Cut(m, " ")
		if !ok || !strings.EqualFold(enc, want) {
			continue
		}
		var n int
		if _, err := fmt.Sscanf(pt, "%d", &n); err == nil && n >= 96 && n <= 127 {
			return n
		}
	}
	return -1
}
