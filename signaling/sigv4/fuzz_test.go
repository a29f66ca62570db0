package sigv4

import (
	"errors"
	"testing"
)

// FuzzVerify feeds arbitrary Authorization header values and raw query
// strings to Verify: it must never panic, and every failure must wrap
// exactly one sentinel error.
func FuzzVerify(f *testing.F) {
	r, body := signedServerRequest(f, testTime)
	f.Add(r.Header.Get("Authorization"), r.URL.RawQuery)
	f.Add("", "")
	f.Add("AWS4-HMAC-SHA256 ", "a=%")
	f.Add("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240506//chime/aws4_request,SignedHeaders=host;;x,Signature=zz", "X-Amz-Signature=1")
	f.Add("AWS4-HMAC-SHA256 Credential=/,SignedHeaders=,Signature=", "&&;")
	f.Add("AWS4-HMAC-SHA256 Credential=A/20240506/r/chime/aws4_request, SignedHeaders=host;x-"+string(make([]byte, 80))+", Signature=00", "k")

	sentinels := []error{ErrMissingAuth, ErrMalformedAuth, ErrUnknownKey, ErrSignatureMismatch, ErrRequestExpired, ErrWrongService}
	v := newTestVerifier(testTime)
	f.Fuzz(func(t *testing.T, auth, rawQuery string) {
		req := r.Clone(r.Context())
		req.Header = r.Header.Clone()
		req.Header["Authorization"] = []string{auth}
		req.URL.RawQuery = rawQuery
		_, err := v.Verify(req, body)
		if err == nil {
			return
		}
		n := 0
		for _, s := range sentinels {
			if errors.Is(err, s) {
				n++
			}
		}
		if n != 1 {
			t.Fatalf("error %v wraps %d sentinels", err, n)
		}
	})
}
