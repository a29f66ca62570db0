package phone

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"strings"

	"github.com/pion/srtp/v3"
)

// SRTP keyed by SDES (RFC 4568, https://www.rfc-editor.org/rfc/rfc4568):
// the caller offers one a=crypto line, AES_CM_128_HMAC_SHA1_80, the suite
// every SIP phone has; the answer's line keys what the gateway sends.

const (
	sdesSuite = "AES_CM_128_HMAC_SHA1_80"
	sdesKey   = 16
	sdesSalt  = 14
)

// sdesKeys is the caller's master key and salt, as its offer carries them.
type sdesKeys struct{ key, salt []byte }

func newSDESKeys() sdesKeys {
	b := make([]byte, sdesKey+sdesSalt)
	_, _ = rand.Read(b)
	return sdesKeys{key: b[:sdesKey], salt: b[sdesKey:]}
}

// line is the offer's a=crypto value.
func (k sdesKeys) line() string {
	return "1 " + sdesSuite + " inline:" + base64.StdEncoding.EncodeToString(append(append([]byte(nil), k.key...), k.salt...))
}

// context is the SRTP context of the caller's outgoing packets.
func (k sdesKeys) context() (*srtp.Context, error) {
	return srtp.CreateContext(k.key, k.salt, srtp.ProtectionProfileAes128CmHmacSha1_80)
}

// answerContext parses the answer's a=crypto value ("1 suite
// inline:key||salt[|...]") into the context of what the gateway sends.
func answerContext(v string) (*srtp.Context, error) {
	f := strings.Fields(v)
	if len(f) < 3 || !strings.EqualFold(f[1], sdesSuite) {
		return nil, fmt.Errorf("phone: answer crypto %q: want %s", v, sdesSuite)
	}
	inline, ok := strings.CutPrefix(f[2], "inline:")
	if !ok {
		return nil, fmt.Errorf("phone: answer crypto %q: no inline key", v)
	}
	inline, _, _ = strings.Cut(inline, "|")
	raw, err := base64.StdEncoding.DecodeString(inline)
	if err != nil {
		raw, err = base64.RawStdEncoding.DecodeString(inline)
	}
	if err != nil || len(raw) != sdesKey+sdesSalt {
		return nil, fmt.Errorf("phone: answer crypto %q: bad key", v)
	}
	return srtp.CreateContext(raw[:sdesKey], raw[sdesKey:], srtp.ProtectionProfileAes128CmHmacSha1_80,
		srtp.SRTPReplayProtection(256))
}
