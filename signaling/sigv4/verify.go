package sigv4

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"
)

const (
	// DefaultMaxSkew is the clock skew allowed when VerifierConfig.MaxSkew is 0.
	DefaultMaxSkew = 15 * time.Minute
	// DefaultService is the signing name used when VerifierConfig.Service is "".
	DefaultService = "chime"

	// keyCacheSize bounds the number of derived signing keys kept. One entry
	// is needed per (access key, day, region, service) in use.
	keyCacheSize = 1024
	// maxPooledBuf is the largest scratch buffer returned to the pool.
	maxPooledBuf = 64 << 10
)

// Credentials is an AWS-style access key pair.
type Credentials struct {
	AccessKeyID     string
	SecretAccessKey string
}

// KeyLookup returns the secret access key for an access key ID, or ok=false
// if the key is unknown or disabled. It is called on every Verify and must be
// safe for concurrent use.
type KeyLookup func(accessKeyID string) (secret string, ok bool)

// VerifierConfig holds static settings.
type VerifierConfig struct {
	// Service is the signing name the credential scope must carry
	// ("" → DefaultService, "chime").
	Service string
	// MaxSkew is the allowed distance between X-Amz-Date and the server
	// clock, in either direction (<= 0 → DefaultMaxSkew, 15 minutes).
	MaxSkew time.Duration
}

// VerifierParams holds the Verifier's dependencies.
type VerifierParams struct {
	// Lookup resolves access key IDs to secrets. Required.
	Lookup KeyLookup
	// Now is the clock (nil → time.Now).
	Now func() time.Time
}

// Result describes an authenticated request. Region is taken verbatim from
// the credential scope and may be empty.
type Result struct {
	AccessKeyID string
	Region      string
	Service     string
}

// Verifier checks SigV4 Authorization headers. It is safe for concurrent use.
type Verifier struct {
	service string
	maxSkew time.Duration
	lookup  KeyLookup
	now     func() time.Time
	keys    keyCache
	bufs    sync.Pool // *[]byte scratch buffers
}

// NewVerifier returns a Verifier. It panics if p.Lookup is nil.
func NewVerifier(cfg VerifierConfig, p VerifierParams) *Verifier {
	if p.Lookup == nil {
		panic("sigv4: NewVerifier: VerifierParams.Lookup is nil")
	}
	v := &Verifier{
		service: cfg.Service,
		maxSkew: cfg.MaxSkew,
		lookup:  p.Lookup,
		now:     p.Now,
		keys:    keyCache{max: keyCacheSize, m: make(map[string]cachedKey)},
	}
	if v.service == "" {
		v.service = DefaultService
	}
	if v.maxSkew <= 0 {
		v.maxSkew = DefaultMaxSkew
	}
	if v.now == nil {
		v.now = time.Now
	}
	v.bufs.New = func() any {
		b := make([]byte, 0, 1024)
		return &b
	}
	return v
}

// Verify authenticates a server-side request whose body has already been
// read into body. It does not read r.Body. The Host header is taken from
// r.Host. On failure the error wraps one of the package's sentinel errors.
func (v *Verifier) Verify(r *http.Request, body []byte) (Result, error) {
	authVals := r.Header["Authorization"]
	if len(authVals) == 0 || authVals[0] == "" {
		if r.URL != nil && strings.Contains(r.URL.RawQuery, "X-Amz-Signature") {
			return Result{}, fmt.Errorf("%w: presigned (query-string) requests are not supported; send an Authorization header", ErrMissingAuth)
		}
		return Result{}, fmt.Errorf("%w: the request has no Authorization header", ErrMissingAuth)
	}
	if len(authVals) > 1 {
		return Result{}, fmt.Errorf("%w: more than one Authorization header", ErrMalformedAuth)
	}
	if r.URL == nil {
		return Result{}, fmt.Errorf("%w: request has no URL", ErrMalformedAuth)
	}
	var a authorization
	if err := a.parse(authVals[0]); err != nil {
		return Result{}, err
	}

	dateVals := r.Header["X-Amz-Date"]
	if len(dateVals) != 1 {
		return Result{}, fmt.Errorf("%w: the request must carry exactly one X-Amz-Date header", ErrMalformedAuth)
	}
	amzDate := dateVals[0]
	t, err := time.Parse(amzDateLayout, amzDate)
	if err != nil || len(amzDate) != len(amzDateLayout) { // Parse tolerates fractional seconds
		return Result{}, fmt.Errorf("%w: X-Amz-Date %q is not in the form 20060102T150405Z", ErrMalformedAuth, amzDate)
	}
	if a.date != amzDate[:8] {
		return Result{}, fmt.Errorf("%w: date in credential scope (%s) does not match the day of X-Amz-Date (%s)", ErrMalformedAuth, a.date, amzDate)
	}
	if a.service != v.service {
		return Result{}, fmt.Errorf("%w: credential scope names service %q, expected %q", ErrWrongService, a.service, v.service)
	}
	now := v.now()
	if d := now.Sub(t); d > v.maxSkew || d < -v.maxSkew {
		return Result{}, fmt.Errorf("%w: request time %s is more than %s away from server time %s",
			ErrRequestExpired, amzDate, v.maxSkew, now.UTC().Format(amzDateLayout))
	}

	secret, ok := v.lookup(a.accessKeyID)
	if !ok {
		return Result{}, fmt.Errorf("%w: the access key ID %q is not recognised", ErrUnknownKey, a.accessKeyID)
	}
	key, cached := v.keys.get(a.cacheKey, secret)
	if !cached {
		key = deriveSigningKey(secret, a.date, a.region, a.service)
	}

	payloadHash := hexSHA256(body)
	bp := v.bufs.Get().(*[]byte)
	sig, buf, err := signature(*bp, r, a.signedHeaders, payloadHash[:], amzDate, a.scope, &key)
	if cap(buf) <= maxPooledBuf {
		*bp = buf[:0]
		v.bufs.Put(bp)
	}
	if err != nil {
		return Result{}, fmt.Errorf("%w: %v", ErrMalformedAuth, err)
	}
	if !hmac.Equal(sig[:], a.signature[:]) {
		return Result{}, fmt.Errorf("%w: the request signature we calculated does not match the signature you provided; check your secret access key and signing method", ErrSignatureMismatch)
	}
	// Cache only keys that produced a valid signature, so unauthenticated
	// callers cannot churn the cache.
	if !cached {
		v.keys.put(a.cacheKey, secret, key)
	}
	return Result{AccessKeyID: a.accessKeyID, Region: a.region, Service: a.service}, nil
}

// authorization is a parsed Authorization header. All strings are
// substrings of the header value.
type authorization struct {
	accessKeyID   string
	date          string // YYYYMMDD
	region        string // may be empty
	service       string
	scope         string // date/region/service/aws4_request
	cacheKey      string // accessKeyID/date/region/service
	signedHeaders string
	signature     [sha256.Size]byte
}

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrMalformedAuth}, args...)...)
}

// parse parses
// "AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=...".
// Components may appear in any order, separated by ',' and optional spaces.
func (a *authorization) parse(h string) error {
	rest, ok := strings.CutPrefix(h, algorithm)
	if !ok || rest == "" || rest[0] != ' ' {
		return malformed("the Authorization header must use the %s scheme", algorithm)
	}
	var haveCred, haveHeaders, haveSig bool
	for rest != "" {
		var part string
		part, rest, _ = strings.Cut(rest, ",")
		name, val, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return malformed("Authorization component %q is not of the form name=value", part)
		}
		switch name {
		case "Credential":
			if haveCred {
				return malformed("duplicate Credential in Authorization header")
			}
			haveCred = true
			if err := a.parseCredential(val); err != nil {
				return err
			}
		case "SignedHeaders":
			if haveHeaders {
				return malformed("duplicate SignedHeaders in Authorization header")
			}
			haveHeaders = true
			if err := checkSignedHeaders(val); err != nil {
				return err
			}
			a.signedHeaders = val
		case "Signature":
			if haveSig {
				return malformed("duplicate Signature in Authorization header")
			}
			haveSig = true
			if len(val) != hex.EncodedLen(sha256.Size) {
				return malformed("Signature must be %d hex digits", hex.EncodedLen(sha256.Size))
			}
			for i := range a.signature {
				hi, lo := val[2*i], val[2*i+1]
				if !isHex(hi) || !isHex(lo) {
					return malformed("Signature is not hexadecimal")
				}
				a.signature[i] = unhex(hi)<<4 | unhex(lo)
			}
		default:
			return malformed("unknown Authorization component %q", name)
		}
	}
	if !haveCred || !haveHeaders || !haveSig {
		return malformed("the Authorization header must contain Credential, SignedHeaders and Signature")
	}
	return nil
}

// parseCredential parses "AKID/YYYYMMDD/region/service/aws4_request".
func (a *authorization) parseCredential(c string) error {
	akid, scope, ok1 := strings.Cut(c, "/")
	date, rest, ok2 := strings.Cut(scope, "/")
	region, rest, ok3 := strings.Cut(rest, "/")
	service, term, ok4 := strings.Cut(rest, "/")
	if !ok1 || !ok2 || !ok3 || !ok4 || term != scopeTerminator {
		return malformed("Credential must be of the form <access key>/<date>/<region>/<service>/%s", scopeTerminator)
	}
	if akid == "" || service == "" {
		return malformed("Credential has an empty access key or service")
	}
	if len(date) != 8 {
		return malformed("Credential date %q is not of the form YYYYMMDD", date)
	}
	for i := 0; i < len(date); i++ {
		if date[i] < '0' || date[i] > '9' {
			return malformed("Credential date %q is not of the form YYYYMMDD", date)
		}
	}
	a.accessKeyID, a.date, a.region, a.service = akid, date, region, service
	a.scope = scope
	a.cacheKey = c[:len(c)-len(scopeTerminator)-1]
	return nil
}

// checkSignedHeaders requires a non-empty ';'-separated list of lowercase
// header names that includes host.
func checkSignedHeaders(list string) error {
	host := false
	for rest := list; ; {
		var name string
		var more bool
		name, rest, more = strings.Cut(rest, ";")
		if name == "" {
			return malformed("SignedHeaders %q contains an empty header name", list)
		}
		for i := 0; i < len(name); i++ {
			c := name[i]
			if c <= ' ' || c >= 0x7f || c == ':' || c == ',' || ('A' <= c && c <= 'Z') {
				return malformed("SignedHeaders %q must list lowercase header names", list)
			}
		}
		host = host || name == "host"
		if !more {
			break
		}
	}
	if !host {
		return malformed("SignedHeaders must include host")
	}
	return nil
}

// keyCache is a bounded, concurrency-safe map from "akid/date/region/service"
// to the derived signing key. Entries remember the secret they were derived
// from, so a rotated secret is never served from a stale entry.
type keyCache struct {
	mu  sync.RWMutex
	max int
	m   map[string]cachedKey
}

type cachedKey struct {
	secret string
	key    [sha256.Size]byte
}

func (c *keyCache) get(id, secret string) ([sha256.Size]byte, bool) {
	c.mu.RLock()
	e, ok := c.m[id]
	c.mu.RUnlock()
	if !ok || e.secret != secret {
		return [sha256.Size]byte{}, false
	}
	return e.key, true
}

func (c *keyCache) put(id, secret string, key [sha256.Size]byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.m[id]; !ok && len(c.m) >= c.max {
		// Evict an arbitrary entry; keys are cheap to re-derive.
		for k := range c.m {
			delete(c.m, k)
			break
		}
	}
	// Clone: id is a substring of a request header.
	c.m[strings.Clone(id)] = cachedKey{secret: secret, key: key}
}

func (c *keyCache) len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.m)
}
