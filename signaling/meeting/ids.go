package meeting

import (
	"crypto/rand"
	"encoding/hex"
	"strings"
)

// newGUID returns a random RFC 4122 version 4 UUID in lower case, the form
// Chime uses for MeetingId and AttendeeId.
func newGUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // never fails (Go 1.24+)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return formatGUID(b)
}

func formatGUID(b [16]byte) string {
	var s [36]byte
	hex.Encode(s[0:8], b[0:4])
	s[8] = '-'
	hex.Encode(s[9:13], b[4:6])
	s[13] = '-'
	hex.Encode(s[14:18], b[6:8])
	s[18] = '-'
	hex.Encode(s[19:23], b[8:10])
	s[23] = '-'
	hex.Encode(s[24:36], b[10:16])
	return string(s[:])
}

// parseGUID decodes the GUID pattern [a-fA-F0-9]{8}(-[a-fA-F0-9]{4}){3}-[a-fA-F0-9]{12}.
func parseGUID(s string) (b [16]byte, ok bool) {
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return b, false
	}
	var hexs [32]byte
	copy(hexs[0:8], s[0:8])
	copy(hexs[8:12], s[9:13])
	copy(hexs[12:16], s[14:18])
	copy(hexs[16:20], s[19:23])
	copy(hexs[20:32], s[24:36])
	if _, err := hex.Decode(b[:], hexs[:]); err != nil {
		return b, false
	}
	return b, true
}

// IsGUID reports whether s matches the Chime GUID pattern.
func IsGUID(s string) bool {
	_, ok := parseGUID(s)
	return ok
}

// normID lower-cases a GUID so lookups ignore case, as the pattern allows both.
func normID(s string) string { return strings.ToLower(s) }
