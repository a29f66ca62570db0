package rtpfwd

// H.264 RTP payload format, RFC 6184 (https://www.rfc-editor.org/rfc/rfc6184).
// Every payload starts with a NAL unit header (§5.3) whose low five bits are
// the type: 1–23 a single NAL unit packet (§5.6), 24 an STAP-A aggregation
// packet (§5.7.1), 28 an FU-A fragment (§5.8). The interleaved-mode types
// (STAP-B, MTAP, FU-B), which WebRTC does not negotiate, are not recognised.
const (
	naluTypeMask = 0x1f
	naluIDR      = 5  // coded slice of an IDR picture
	naluSPS      = 7  // sequence parameter set
	naluSTAPA    = 24 // single-time aggregation packet
	naluFUA      = 28 // fragmentation unit
	fuStartBit   = 0x80
)

// h264Keyframe reports whether payload (an RTP payload of an H.264 stream)
// starts a keyframe: it is, or aggregates, or begins a fragment of, an IDR
// slice or a sequence parameter set (which precedes the IDR picture).
func h264Keyframe(payload []byte) bool {
	if len(payload) < 1 {
		return false
	}
	switch t := payload[0] & naluTypeMask; t {
	case naluIDR, naluSPS:
		return true
	case naluSTAPA:
		return stapAKeyframe(payload[1:])
	case naluFUA:
		// FU indicator, then FU header |S|E|R|Type| (§5.8).
		if len(payload) < 2 {
			return false
		}
		fu := payload[1]
		t := fu & naluTypeMask
		return fu&fuStartBit != 0 && (t == naluIDR || t == naluSPS)
	}
	return false
}

// stapAKeyframe walks the aggregation units of an STAP-A payload (past its
// NAL unit header), each a 16-bit NAL unit size followed by the NAL unit
// (RFC 6184 §5.7.1), and reports whether one is an IDR slice or an SPS.
// It stops at the first malformed unit.
func stapAKeyframe(units []byte) bool {
	for len(units) >= 2 {
		size := int(units[0])<<8 | int(units[1])
		units = units[2:]
		if size == 0 || size > len(units) {
			return false
		}
		if t := units[0] & naluTypeMask; t == naluIDR || t == naluSPS {
			return true
		}
		units = units[size:]
	}
	return false
}
