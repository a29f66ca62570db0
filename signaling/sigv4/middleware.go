package sigv4

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
)

// maxSignedBody bounds the body Require reads to verify its hash.
const maxSignedBody = 1 << 20

// Require lets through requests signed by one of v's keys, as the Chime
// API itself requires (for endpoints outside the Chime API, such as the
// notifications admin API); others get 401 (no, malformed or unknown
// credentials) or 403 (a bad signature, a stale date) as JSON, and a body
// over 1 MiB gets 413. next reads the verified body.
func Require(v *Verifier, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxSignedBody))
		if err != nil {
			http.Error(w, "request body too large", http.StatusRequestEntityTooLarge)
			return
		}
		if _, err := v.Verify(r, body); err != nil {
			status := http.StatusForbidden
			if errors.Is(err, ErrMissingAuth) || errors.Is(err, ErrMalformedAuth) || errors.Is(err, ErrUnknownKey) {
				status = http.StatusUnauthorized
			}
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			_ = json.NewEncoder(w).Encode(map[string]string{"message": err.Error()})
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		next.ServeHTTP(w, r)
	})
}
