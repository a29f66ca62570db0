// Package sigv4 verifies (and, for tests and load clients, creates) AWS
// Signature Version 4 signed HTTP requests, as sent by the AWS SDKs to the
// Amazon Chime SDK Meetings REST API (signing name "chime").
//
// Only the Authorization-header form is supported:
//
//	Authorization: AWS4-HMAC-SHA256 Credential=AKID/20240506/us-east-1/chime/aws4_request, SignedHeaders=host;x-amz-date, Signature=<64 hex>
//
// Presigned (query-string) requests are rejected with [ErrMissingAuth]. The
// payload hash is always computed from the body; X-Amz-Content-Sha256 is not
// consulted (the Go SDKs and boto do not send it for this service).
//
// A [Verifier] is safe for concurrent use. It caches derived signing keys per
// (access key, date, region, service) in a small bounded cache and compares
// signatures in constant time.
//
// The algorithm is described at
// https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html
package sigv4
