package sigv4

import "errors"

// Sentinel errors returned (wrapped, with a descriptive message) by
// [Verifier.Verify]. Test for them with [errors.Is].
//
// Suggested HTTP mapping: ErrMissingAuth, ErrMalformedAuth and ErrUnknownKey
// → 401 UnauthorizedException; ErrSignatureMismatch, ErrRequestExpired and
// ErrWrongService → 403 ForbiddenException.
var (
	// ErrMissingAuth: the request has no Authorization header (this includes
	// presigned query-string requests, which are not supported).
	ErrMissingAuth = errors.New("sigv4: missing authentication token")
	// ErrMalformedAuth: the Authorization header, X-Amz-Date, credential scope
	// or query string cannot be parsed or are inconsistent with each other.
	ErrMalformedAuth = errors.New("sigv4: malformed authorization")
	// ErrUnknownKey: the access key ID is not known to the KeyLookup.
	ErrUnknownKey = errors.New("sigv4: unknown access key")
	// ErrSignatureMismatch: the signature does not match the request.
	ErrSignatureMismatch = errors.New("sigv4: signature mismatch")
	// ErrRequestExpired: X-Amz-Date is too far from the server clock.
	ErrRequestExpired = errors.New("sigv4: request time skew too large")
	// ErrWrongService: the credential scope names another service.
	ErrWrongService = errors.New("sigv4: wrong service in credential scope")
)
