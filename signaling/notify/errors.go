package notify

import "errors"

// Sentinel errors. Every error the package returns wraps one of these (with
// %w), so callers branch with errors.Is and map to their own status codes at
// the edge; Admin does that for its HTTP API.
var (
	// ErrClosed: the Service has been closed.
	ErrClosed = errors.New("notify: service closed")
	// ErrInvalidConfig: a Config field is out of range or inconsistent.
	ErrInvalidConfig = errors.New("notify: invalid configuration")
	// ErrInvalidHook: a hook definition is incomplete or malformed.
	ErrInvalidHook = errors.New("notify: invalid hook")
	// ErrHookNotFound: no hook has that name.
	ErrHookNotFound = errors.New("notify: hook not found")
	// ErrHookExists: a hook of that name already exists.
	ErrHookExists = errors.New("notify: hook already exists")
	// ErrHookReadOnly: the hook comes from the configuration file and cannot
	// be changed through the admin API.
	ErrHookReadOnly = errors.New("notify: hook is defined in the configuration file")
	// ErrInvalidARN: the string is not an ARN of a supported target service.
	ErrInvalidARN = errors.New("notify: invalid target ARN")
	// ErrNoEndpoint: no configured Endpoint serves the ARN's service, region
	// and account.
	ErrNoEndpoint = errors.New("notify: no endpoint configured for the ARN")
	// ErrDeadLetterNotFound: no dead letter has that id.
	ErrDeadLetterNotFound = errors.New("notify: dead letter not found")
	// ErrNotRedrivable: the dead letter's target no longer exists, or the
	// message is over the size limit.
	ErrNotRedrivable = errors.New("notify: dead letter cannot be re-driven")
	// ErrTooLarge: a message is over Config.MaxMessageBytes.
	ErrTooLarge = errors.New("notify: message too large")
	// ErrBadSignature: a webhook request's signature headers do not verify.
	ErrBadSignature = errors.New("notify: webhook signature does not verify")
)
