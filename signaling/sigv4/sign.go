package sigv4

import (
	"errors"
	"fmt"
	"net/http"
	"net/textproto"
	"sort"
	"strings"
	"time"
)

// Sign signs r in place with SigV4 for tests and load clients. body must be
// the exact bytes that will be sent (r.Body is not read or changed).
//
// Sign sets r.Host from r.URL.Host if it is empty, canonicalises header keys,
// sets X-Amz-Date to now (in UTC) and replaces any Authorization header. It
// signs host, x-amz-date and every other header already present except
// hop-by-hop headers, Authorization, Content-Length, User-Agent and
// X-Amzn-Trace-Id. The query string is signed as it is (r.URL.RawQuery is
// not rewritten). region may be empty.
func Sign(r *http.Request, body []byte, c Credentials, region, service string, now time.Time) error {
	if r == nil || r.URL == nil {
		return errors.New("sigv4: Sign: request or its URL is nil")
	}
	if c.AccessKeyID == "" || c.SecretAccessKey == "" {
		return errors.New("sigv4: Sign: access key ID and secret access key are required")
	}
	if strings.ContainsAny(c.AccessKeyID, "/, =") || strings.Contains(region, "/") ||
		service == "" || strings.Contains(service, "/") {
		return errors.New("sigv4: Sign: access key ID, region or service contains an invalid character")
	}
	amzDate := now.UTC().Format(amzDateLayout)
	date := amzDate[:8]

	if r.Host == "" {
		r.Host = r.URL.Host
	}
	if r.Header == nil {
		r.Header = make(http.Header)
	}
	for k, vs := range r.Header {
		if ck := textproto.CanonicalMIMEHeaderKey(k); ck != k {
			delete(r.Header, k)
			r.Header[ck] = append(r.Header[ck], vs...)
		}
	}
	r.Header.Del("Authorization")
	r.Header.Set("X-Amz-Date", amzDate)

	names := make([]string, 0, len(r.Header)+1)
	names = append(names, "host")
	for k := range r.Header {
		name := strings.ToLower(k)
		if !signable(name) {
			continue
		}
		names = append(names, name)
	}
	sort.Strings(names)
	signedHeaders := strings.Join(names, ";")

	scope := date + "/" + region + "/" + service + "/" + scopeTerminator
	key := deriveSigningKey(c.SecretAccessKey, date, region, service)
	payloadHash := hexSHA256(body)
	sig, _, err := signature(make([]byte, 0, 1024), r, signedHeaders, payloadHash[:], amzDate, scope, &key)
	if err != nil {
		return fmt.Errorf("sigv4: Sign: %w", err)
	}
	r.Header.Set("Authorization", fmt.Sprintf("%s Credential=%s/%s, SignedHeaders=%s, Signature=%x",
		algorithm, c.AccessKeyID, scope, signedHeaders, sig[:]))
	return nil
}

// signable reports whether Sign should sign the (lowercase) header name.
func signable(name string) bool {
	switch name {
	case "authorization", "host", "content-length", "user-agent", "x-amzn-trace-id",
		"connection", "keep-alive", "proxy-authorization", "proxy-connection",
		"te", "trailer", "transfer-encoding", "upgrade", "expect":
		return false
	}
	// Names that cannot appear in a SignedHeaders list.
	return name != "" && !strings.ContainsAny(name, ";:, \t")
}
