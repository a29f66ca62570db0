package sipgw

import "strings"

// DTMF from callers: RFC 4733 telephone-event packets and SIP INFO.

// dtmfDigits maps RFC 4733 §3.2 event codes 0–15 to digits.
const dtmfDigits = "0123456789*#ABCD"

// dtmfReceiver turns RFC 4733 telephone-event packets into one digit per
// key press (https://www.rfc-editor.org/rfc/rfc4733#section-2.5.2). All
// packets of one event share its RTP timestamp; the sender repeats them
// with a growing duration and sends the end packet (E bit) three times. A
// digit fires on the first packet of a new timestamp, which is also the end
// packet if the start was lost. Some phones stamp events with the wrong
// clock, even reusing a timestamp for the next key, so only the timestamp
// and the E bit are trusted: after an end, a non-end packet with a newer
// sequence number starts a new event even on the same timestamp. Durations
// are ignored. Not safe for concurrent use.
type dtmfReceiver struct {
	have    bool
	ts      uint32
	seq     uint16 // of the last packet accepted
	event   uint8
	ended   bool
	onDigit func(rune)
}

// packet handles one telephone-event payload.
func (r *dtmfReceiver) packet(p []byte, ts uint32, seq uint16) {
	if len(p) < 4 {
		return
	}
	event, end := p[0], p[1]&0x80 != 0
	if r.have && int16(seq-r.seq) <= 0 && int32(ts-r.ts) <= 0 {
		return // duplicate, or reordered behind what we saw
	}
	fresh := !r.have || ts != r.ts || (r.ended && !end) || (!r.ended && event != r.event)
	r.have, r.ts, r.seq = true, ts, seq
	if fresh {
		r.event, r.ended = event, end
		if int(event) < len(dtmfDigits) && r.onDigit != nil {
			r.onDigit(rune(dtmfDigits[event]))
		}
		return
	}
	if end {
		r.ended = true
	}
}

// infoDigit extracts the digit of a SIP INFO DTMF body:
// application/dtmf-relay ("Signal=5\r\nDuration=160") or application/dtmf
// ("5"). Signal values 10 and 11 mean * and # (as some phones send them).
func infoDigit(contentType string, body []byte) (rune, bool) {
	ct, _, _ := strings.Cut(contentType, ";")
	var sig string
	switch strings.ToLower(strings.TrimSpace(ct)) {
	case "application/dtmf-relay":
		for _, ln := range strings.FieldsFunc(string(body), func(r rune) bool { return r == '\n' || r == '\r' }) {
			k, v, ok := strings.Cut(ln, "=")
			if ok && strings.EqualFold(strings.TrimSpace(k), "signal") {
				sig = strings.TrimSpace(v)
				break
			}
		}
	case "application/dtmf":
		sig = strings.TrimSpace(string(body))
	default:
		return 0, false
	}
	switch sig {
	case "10":
		return '*', true
	case "11":
		return '#', true
	}
	if len(sig) != 1 {
		return 0, false
	}
	d := rune(strings.ToUpper(sig)[0])
	if !strings.ContainsRune(dtmfDigits, d) {
		return 0, false
	}
	return d, true
}
