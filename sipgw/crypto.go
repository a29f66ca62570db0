package sipgw

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"

	"github.com/pion/srtp/v3"
)

// SDES key exchange for SRTP, RFC 4568 (https://www.rfc-editor.org/rfc/rfc4568).

// srtpSuite is an a=crypto suite pion/srtp implements.
type srtpSuite struct {
	profile         srtp.ProtectionProfile
	keyLen, saltLen int
}

// srtpSuites maps the suite names of RFC 4568 §6.2, RFC 6188 and RFC 7714
// to pion profiles. AEAD_AES_*_GCM_8 and the 192-bit suites are not
// supported by pion and are skipped.
var srtpSuites = map[string]srtpSuite{
	"AEAD_AES_256_GCM":        {srtp.ProtectionProfileAeadAes256Gcm, 32, 12},
	"AEAD_AES_128_GCM":        {srtp.ProtectionProfileAeadAes128Gcm, 16, 12},
	"AES_256_CM_HMAC_SHA1_80": {srtp.ProtectionProfileAes256CmHmacSha1_80, 32, 14},
	"AES_256_CM_HMAC_SHA1_32": {srtp.ProtectionProfileAes256CmHmacSha1_32, 32, 14},
	"AES_CM_256_HMAC_SHA1_80": {srtp.ProtectionProfileAes256CmHmacSha1_80, 32, 14}, // FreeSWITCH's spelling
	"AES_CM_256_HMAC_SHA1_32": {srtp.ProtectionProfileAes256CmHmacSha1_32, 32, 14},
	"AES_CM_128_HMAC_SHA1_80": {srtp.ProtectionProfileAes128CmHmacSha1_80, 16, 14},
	"AES_CM_128_HMAC_SHA1_32": {srtp.ProtectionProfileAes128CmHmacSha1_32, 16, 14},
}

// sdesCrypto is one a=crypto line of an offer that the gateway can use.
type sdesCrypto struct {
	tag       string
	suiteName string // as offered, echoed in the answer
	suite     srtpSuite
	key, salt []byte
	mki       []byte // their master key identifier, carried in each packet; nil if none
}

// parseCrypto parses the value of an a=crypto attribute,
// "<tag> <suite> inline:<key||salt>[|lifetime][|mki:len] [session params]".
// It reports false for suites pion lacks, lines with session parameters
// (UNENCRYPTED_SRTP, KDR, ... change the transform), several keys, and
// malformed keys.
func parseCrypto(v string) (sdesCrypto, bool) {
	f := strings.Fields(v)
	if len(f) != 3 { // more fields are session parameters
		return sdesCrypto{}, false
	}
	var c sdesCrypto
	if n, err := strconv.ParseUint(f[0], 10, 32); err != nil || len(f[0]) > 9 || n > 999999999 {
		return c, false
	}
	c.tag, c.suiteName = f[0], f[1]
	suite, ok := srtpSuites[strings.ToUpper(f[1])]
	if !ok {
		return c, false
	}
	c.suite = suite
	inline, ok := strings.CutPrefix(f[2], "inline:")
	if !ok || strings.Contains(inline, ";") || strings.Contains(inline, "inline:") {
		return c, false
	}
	parts := strings.Split(inline, "|")
	if len(parts) > 3 {
		return c, false
	}
	raw, err := base64.StdEncoding.DecodeString(parts[0])
	if err != nil {
		raw, err = base64.RawStdEncoding.DecodeString(parts[0])
	}
	if err != nil || len(raw) != suite.keyLen+suite.saltLen {
		return c, false
	}
	c.key, c.salt = raw[:suite.keyLen], raw[suite.keyLen:]
	for _, p := range parts[1:] {
		if val, size, isMKI := strings.Cut(p, ":"); isMKI {
			mki, ok := parseMKI(val, size)
			if !ok {
				return c, false
			}
			c.mki = mki
		} else if !validLifetime(p) {
			return c, false
		}
	}
	return c, true
}

// parseMKI decodes "value:length" into length big-endian bytes.
func parseMKI(val, size string) ([]byte, bool) {
	n, err1 := strconv.ParseUint(val, 10, 64)
	l, err2 := strconv.Atoi(size)
	if err1 != nil || err2 != nil || l < 1 || l > 8 || (l < 8 && n >= 1<<(8*l)) {
		return nil, false
	}
	b := make([]byte, l)
	for i := l - 1; i >= 0; i-- {
		b[i] = byte(n)
		n >>= 8
	}
	return b, true
}

// validLifetime accepts "2^N" and decimal key lifetimes.
func validLifetime(s string) bool {
	if e, ok := strings.CutPrefix(s, "2^"); ok {
		n, err := strconv.Atoi(e)
		return err == nil && n > 0 && n <= 64
	}
	n, err := strconv.ParseUint(s, 10, 64)
	return err == nil && n > 0
}

// srtpSession is a call's SRTP state: their key decrypts what we receive,
// our own random key encrypts what we send.
type srtpSession struct {
	offer          sdesCrypto
	ourKey, ourSal []byte
	rx, tx         *srtp.Context
}

// newSRTPSession creates the contexts for an accepted offer, with replay
// protection on the receive side (pion leaves it off by default).
func newSRTPSession(c sdesCrypto) (*srtpSession, error) {
	s := &srtpSession{offer: c}
	key := make([]byte, c.suite.keyLen+c.suite.saltLen)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	s.ourKey, s.ourSal = key[:c.suite.keyLen], key[c.suite.keyLen:]
	if err := s.rekeyRx(c); err != nil {
		return nil, err
	}
	tx, err := srtp.CreateContext(s.ourKey, s.ourSal, c.suite.profile)
	if err != nil {
		return nil, fmt.Errorf("sipgw: srtp send context: %w", err)
	}
	s.tx = tx
	return s, nil
}

// rekeyRx replaces the receive context (a re-INVITE with a new key).
func (s *srtpSession) rekeyRx(c sdesCrypto) error {
	opts := []srtp.ContextOption{srtp.SRTPReplayProtection(128)}
	if c.mki != nil {
		opts = append(opts, srtp.MasterKeyIndicator(c.mki))
	}
	rx, err := srtp.CreateContext(c.key, c.salt, c.suite.profile, opts...)
	if err != nil {
		return fmt.Errorf("sipgw: srtp receive context: %w", err)
	}
	s.offer, s.rx = c, rx
	return nil
}

// sameKey reports whether c carries the key the receive context uses.
func (s *srtpSession) sameKey(c sdesCrypto) bool {
	return s.offer.suite.profile == c.suite.profile &&
		string(s.offer.key) == string(c.key) && string(s.offer.salt) == string(c.salt) &&
		string(s.offer.mki) == string(c.mki)
}

// answerLine is the a=crypto value of the answer: the offer's tag and
// suite with our key.
func (s *srtpSession) answerLine() string {
	k := make([]byte, 0, len(s.ourKey)+len(s.ourSal))
	k = append(append(k, s.ourKey...), s.ourSal...)
	return s.offer.tag + " " + s.offer.suiteName + " inline:" + base64.StdEncoding.EncodeToString(k)
}
