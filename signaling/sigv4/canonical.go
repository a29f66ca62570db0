package sigv4

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"net/textproto"
	"slices"
	"strconv"
	"strings"
)

const (
	algorithm       = "AWS4-HMAC-SHA256"
	amzDateLayout   = "20060102T150405Z"
	scopeTerminator = "aws4_request"
	upperhex        = "0123456789ABCDEF"
)

// errBadQuery is returned by the canonicalisation code for a query string
// that cannot be decoded unambiguously; callers wrap it in their own error.
var errBadQuery = errors.New("query string has an invalid percent-escape or a ';' separator")

// isUnreserved reports whether c is an RFC 3986 unreserved character.
func isUnreserved(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' ||
		c == '-' || c == '.' || c == '_' || c == '~'
}

func appendPctEncoded(buf []byte, c byte) []byte {
	return append(buf, '%', upperhex[c>>4], upperhex[c&15])
}

// appendCanonicalRequest appends the SigV4 canonical request for r to buf.
// payloadHash is the lowercase hex SHA-256 of the body.
func appendCanonicalRequest(buf []byte, r *http.Request, signedHeaders string, payloadHash []byte) ([]byte, error) {
	method := r.Method
	if method == "" {
		method = http.MethodGet
	}
	buf = append(buf, method...)
	buf = append(buf, '\n')
	buf = appendCanonicalURI(buf, r.URL.EscapedPath())
	buf = append(buf, '\n')
	var err error
	if buf, err = appendCanonicalQuery(buf, r.URL.RawQuery); err != nil {
		return buf, err
	}
	buf = append(buf, '\n')
	buf = appendCanonicalHeaders(buf, r, signedHeaders)
	buf = append(buf, '\n')
	buf = append(buf, signedHeaders...)
	buf = append(buf, '\n')
	return append(buf, payloadHash...), nil
}

// appendCanonicalURI URI-encodes the (already escaped) path once more, as
// required for every service but S3: each byte other than an unreserved
// character or '/' becomes %XX.
func appendCanonicalURI(buf []byte, escapedPath string) []byte {
	if escapedPath == "" {
		return append(buf, '/')
	}
	for i := 0; i < len(escapedPath); i++ {
		if c := escapedPath[i]; isUnreserved(c) || c == '/' {
			buf = append(buf, c)
		} else {
			buf = appendPctEncoded(buf, c)
		}
	}
	return buf
}

// queryPair holds one raw (still percent-encoded) key/value pair.
type queryPair struct{ k, v string }

// appendCanonicalQuery decodes the raw query like url.ParseQuery ('+' is a
// space, empty segments are skipped, a key without '=' has an empty value),
// sorts the pairs by decoded key then decoded value, and re-encodes them per
// RFC 3986 (space as %20). It fails on a bad percent-escape or a ';', which
// url.ParseQuery would silently drop.
func appendCanonicalQuery(buf []byte, raw string) ([]byte, error) {
	if raw == "" {
		return buf, nil
	}
	var arr [16]queryPair
	pairs := arr[:0]
	for raw != "" {
		var seg string
		seg, raw, _ = strings.Cut(raw, "&")
		if seg == "" {
			continue
		}
		k, v, _ := strings.Cut(seg, "=")
		if !validQueryComponent(k) || !validQueryComponent(v) {
			return buf, errBadQuery
		}
		pairs = append(pairs, queryPair{k, v})
	}
	if len(pairs) > 1 {
		slices.SortFunc(pairs, func(a, b queryPair) int {
			if c := compareDecoded(a.k, b.k); c != 0 {
				return c
			}
			return compareDecoded(a.v, b.v)
		})
	}
	for i, p := range pairs {
		if i > 0 {
			buf = append(buf, '&')
		}
		buf = appendQueryComponent(buf, p.k)
		buf = append(buf, '=')
		buf = appendQueryComponent(buf, p.v)
	}
	return buf, nil
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c <= 'F':
		return c - 'A' + 10
	default:
		return c - 'a' + 10
	}
}

// validQueryComponent reports whether s holds only well-formed escapes and
// no ';' (which Go's url.ParseQuery rejects).
func validQueryComponent(s string) bool {
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case ';':
			return false
		case '%':
			if i+2 >= len(s) || !isHex(s[i+1]) || !isHex(s[i+2]) {
				return false
			}
			i += 2
		}
	}
	return true
}

// decodeAt decodes the byte starting at s[i] of a valid query component and
// returns it with the index of the next one.
func decodeAt(s string, i int) (byte, int) {
	switch c := s[i]; c {
	case '+':
		return ' ', i + 1
	case '%':
		return unhex(s[i+1])<<4 | unhex(s[i+2]), i + 3
	default:
		return c, i + 1
	}
}

// compareDecoded compares two valid query components by their decoded bytes
// without allocating.
func compareDecoded(a, b string) int {
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		var ca, cb byte
		ca, i = decodeAt(a, i)
		cb, j = decodeAt(b, j)
		if ca != cb {
			if ca < cb {
				return -1
			}
			return 1
		}
	}
	switch {
	case i < len(a):
		return 1
	case j < len(b):
		return -1
	}
	return 0
}

func appendQueryComponent(buf []byte, s string) []byte {
	for i := 0; i < len(s); {
		var c byte
		c, i = decodeAt(s, i)
		if isUnreserved(c) {
			buf = append(buf, c)
		} else {
			buf = appendPctEncoded(buf, c)
		}
	}
	return buf
}

// appendCanonicalHeaders appends "name:value\n" for every name in the
// ';'-separated, lowercase signedHeaders list.
func appendCanonicalHeaders(buf []byte, r *http.Request, signedHeaders string) []byte {
	for list := signedHeaders; list != ""; {
		var name string
		name, list, _ = strings.Cut(list, ";")
		buf = append(buf, name...)
		buf = append(buf, ':')
		switch name {
		case "host":
			host := r.Host
			if host == "" {
				host = r.URL.Host
			}
			buf = appendHeaderValue(buf, host)
		case "content-length":
			// A Go server keeps Content-Length in r.Header; a request built
			// in-process may only have r.ContentLength.
			if vs := r.Header["Content-Length"]; len(vs) > 0 {
				buf = appendHeaderValues(buf, vs)
			} else if r.ContentLength >= 0 {
				buf = strconv.AppendInt(buf, r.ContentLength, 10)
			}
		default:
			buf = appendHeaderValues(buf, headerValues(r.Header, name))
		}
		buf = append(buf, '\n')
	}
	return buf
}

// headerValues returns the values of the header with the given lowercase
// name, without allocating for canonical keys.
func headerValues(h http.Header, name string) []string {
	var kb [64]byte
	if len(name) <= len(kb) {
		k := kb[:len(name)]
		upper := true
		for i := 0; i < len(name); i++ {
			c := name[i]
			if upper && 'a' <= c && c <= 'z' {
				c -= 'a' - 'A'
			}
			k[i] = c
			upper = c == '-'
		}
		if vs, ok := h[string(k)]; ok {
			return vs
		}
	} else if vs, ok := h[textproto.CanonicalMIMEHeaderKey(name)]; ok {
		return vs
	}
	// Keys that are not in canonical form (names with bytes that
	// textproto leaves alone, or maps filled in by hand).
	for k, vs := range h {
		if strings.EqualFold(k, name) {
			return vs
		}
	}
	return nil
}

// appendHeaderValues joins trimmed values with ','.
func appendHeaderValues(buf []byte, vs []string) []byte {
	for i, v := range vs {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = appendHeaderValue(buf, v)
	}
	return buf
}

// appendHeaderValue trims v and collapses inner runs of spaces to one.
func appendHeaderValue(buf []byte, v string) []byte {
	v = strings.TrimSpace(v)
	space := false
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c == ' ' {
			if space {
				continue
			}
			space = true
		} else {
			space = false
		}
		buf = append(buf, c)
	}
	return buf
}

// hexSHA256 returns the lowercase hex SHA-256 of b.
func hexSHA256(b []byte) (out [sha256.Size * 2]byte) {
	sum := sha256.Sum256(b)
	hex.Encode(out[:], sum[:])
	return out
}

// signature computes the request signature: it builds the canonical request
// and the string to sign in buf (whose grown backing array it returns for
// reuse) and takes HMAC-SHA256 with the derived key.
func signature(buf []byte, r *http.Request, signedHeaders string, payloadHash []byte, amzDate, scope string, key *[sha256.Size]byte) ([sha256.Size]byte, []byte, error) {
	buf, err := appendCanonicalRequest(buf[:0], r, signedHeaders, payloadHash)
	if err != nil {
		return [sha256.Size]byte{}, buf, err
	}
	crHash := sha256.Sum256(buf)

	// HMAC-SHA256 by hand for a 32-byte key (shorter than the block size),
	// so the hot path does not allocate: H((K^opad) || H((K^ipad) || msg)).
	buf = buf[:0]
	for i := 0; i < sha256.BlockSize; i++ {
		var k byte
		if i < len(key) {
			k = key[i]
		}
		buf = append(buf, k^0x36)
	}
	buf = append(buf, algorithm+"\n"...)
	buf = append(buf, amzDate...)
	buf = append(buf, '\n')
	buf = append(buf, scope...)
	buf = append(buf, '\n')
	buf = hex.AppendEncode(buf, crHash[:])
	inner := sha256.Sum256(buf)

	var outer [sha256.BlockSize + sha256.Size]byte
	for i := 0; i < sha256.BlockSize; i++ {
		var k byte
		if i < len(key) {
			k = key[i]
		}
		outer[i] = k ^ 0x5c
	}
	copy(outer[sha256.BlockSize:], inner[:])
	return sha256.Sum256(outer[:]), buf, nil
}

// deriveSigningKey computes the SigV4 signing key
// HMAC(HMAC(HMAC(HMAC("AWS4"+secret, date), region), service), "aws4_request").
func deriveSigningKey(secret, date, region, service string) [sha256.Size]byte {
	k := hmacSum([]byte("AWS4"+secret), date)
	k = hmacSum(k, region)
	k = hmacSum(k, service)
	k = hmacSum(k, scopeTerminator)
	var out [sha256.Size]byte
	copy(out[:], k)
	return out
}

func hmacSum(key []byte, data string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(data))
	return m.Sum(nil)
}
