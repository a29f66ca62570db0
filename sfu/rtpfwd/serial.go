package rtpfwd

// Serial number arithmetic on RTP sequence numbers (16 bits) and timestamps
// (32 bits): a is newer than b when the forward distance from b to a is less
// than half the number space (RFC 1982 §3.2, as used by RFC 3550 §A.1,
// https://www.rfc-editor.org/rfc/rfc1982#section-3.2).

// seqDiff returns the signed distance a−b between two sequence numbers,
// in [−32768, 32767]; positive when a is newer than b.
func seqDiff(a, b uint16) int16 { return int16(a - b) }

// tsNewer reports whether timestamp a is strictly newer than b.
func tsNewer(a, b uint32) bool { return int32(a-b) > 0 }

// unwrapSeq returns the extended (64-bit, never wrapping) value of sequence
// number seq, taken as the nearest one to the extended sequence number ref.
func unwrapSeq(ref int64, seq uint16) int64 {
	return ref + int64(seqDiff(seq, uint16(ref)))
}
