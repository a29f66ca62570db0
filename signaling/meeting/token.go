package meeting

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"strings"
)

// Join tokens.
//
// A token is unpadded base64url (RFC 4648 §5) of
//
//	version(1) | meetingID(16) | attendeeID(16) | nonce(16) | mac(16)
//
// where nonce is 128 random bits kept with the attendee and mac is the first
// 128 bits of HMAC-SHA256(key, label | version | meetingID | attendeeID | nonce).
// The alphabet [A-Za-z0-9_-] makes it a valid RFC 7230 token, which matters
// because browsers send it as a WebSocket subprotocol. "<token>#content"
// authenticates the attendee's content-share session "<AttendeeId>#content".
// The key lives in the data directory; the token itself is never stored.

const (
	tokenVersion  = 1
	tokenNonceLen = 16
	tokenMACLen   = 16
	tokenRawLen   = 1 + 16 + 16 + tokenNonceLen + tokenMACLen
	tokenLabel    = "confab/join-token"
	// ContentSuffix marks a content-share token and attendee ID.
	ContentSuffix = "#content"
)

type tokenCodec struct{ key []byte }

func (c tokenCodec) mac(dst []byte, raw []byte) []byte {
	h := hmac.New(sha256.New, c.key)
	h.Write([]byte(tokenLabel))
	h.Write(raw[:1+16+16+tokenNonceLen])
	return h.Sum(dst)[:tokenMACLen]
}

// mint returns the token of an attendee. It is deterministic, so the same
// attendee always gets the same token back.
func (c tokenCodec) mint(meetingID, attendeeID string, nonce []byte) string {
	mid, ok1 := parseGUID(meetingID)
	aid, ok2 := parseGUID(attendeeID)
	if !ok1 || !ok2 || len(nonce) != tokenNonceLen {
		panic("meeting: mint token for malformed ids") // ids are ours; a bug
	}
	raw := make([]byte, 0, tokenRawLen+sha256.Size)
	raw = append(raw, tokenVersion)
	raw = append(raw, mid[:]...)
	raw = append(raw, aid[:]...)
	raw = append(raw, nonce...)
	raw = c.mac(raw, raw)
	return base64.RawURLEncoding.EncodeToString(raw[:tokenRawLen])
}

type parsedToken struct {
	meetingID, attendeeID string
	nonce                 [tokenNonceLen]byte
	content               bool
}

// parse checks encoding and MAC in constant time; it does not look at state.
func (c tokenCodec) parse(token string) (parsedToken, bool) {
	var p parsedToken
	if t, ok := strings.CutSuffix(token, ContentSuffix); ok {
		token, p.content = t, true
	}
	if base64.RawURLEncoding.DecodedLen(len(token)) != tokenRawLen {
		return p, false
	}
	var raw [tokenRawLen]byte
	// Strict: non-zero padding bits in the last character would otherwise let
	// several strings decode to one token.
	if n, err := base64.RawURLEncoding.Strict().Decode(raw[:], []byte(token)); err != nil || n != tokenRawLen {
		return p, false
	}
	if raw[0] != tokenVersion {
		return p, false
	}
	var macBuf [sha256.Size]byte
	want := c.mac(macBuf[:0], raw[:])
	if subtle.ConstantTimeCompare(want, raw[tokenRawLen-tokenMACLen:]) != 1 {
		return p, false
	}
	p.meetingID = formatGUID([16]byte(raw[1:17]))
	p.attendeeID = formatGUID([16]byte(raw[17:33]))
	copy(p.nonce[:], raw[33:33+tokenNonceLen])
	return p, true
}

// TokenMeetingID reads the meeting ID out of a join token (or
// "<token>#content") without verifying it: a routing hint for a cluster
// node that must send the token on to the node hosting the meeting, which
// verifies it. Nothing may be granted on its strength.
func TokenMeetingID(token string) (string, bool) {
	token, _ = strings.CutSuffix(token, ContentSuffix)
	if base64.RawURLEncoding.DecodedLen(len(token)) != tokenRawLen {
		return "", false
	}
	var raw [tokenRawLen]byte
	if n, err := base64.RawURLEncoding.Strict().Decode(raw[:], []byte(token)); err != nil || n != tokenRawLen || raw[0] != tokenVersion {
		return "", false
	}
	return formatGUID([16]byte(raw[1:17])), true
}
