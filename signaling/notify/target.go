package notify

import (
	"context"
	"strings"
)

// Target keys name a delivery target: a hook, a meeting's target ARN, or the
// DLQ. Each key has one worker (dispatcher) and one outbox bucket.
const (
	hookPrefix = "hook:"
	dlqTarget  = "dlq"
)

func hookKey(name string) string { return hookPrefix + name }

// hookName returns the hook a key names, if it names one.
func hookName(key string) (string, bool) { return strings.CutPrefix(key, hookPrefix) }

// isMeetingTarget reports whether key is a meeting target ARN.
func isMeetingTarget(key string) bool {
	return key != dlqTarget && !strings.HasPrefix(key, hookPrefix)
}

// sender delivers entries to one target.
type sender interface {
	// batchLimit is the most entries one send takes (1: unbatched).
	batchLimit() int
	// send attempts every entry; errs[i] is nil when batch[i] was accepted.
	send(ctx context.Context, batch []*entry) (errs []error)
}

// targetState is whether a target takes events now.
type targetState int

const (
	targetActive targetState = iota
	targetPaused             // a disabled hook
	targetGone               // a deleted hook, or the DLQ after it left the configuration
)

// targetSet tells the dispatcher where a target key's events go; the
// registry implements it.
type targetSet interface {
	// target returns key's sender and state now. For a meeting target ARN
	// it builds a new sender each call (the worker keeps it); err is set
	// when that fails, and attempts then fail with it.
	target(ctx context.Context, key string) (sender, targetState, error)
}

var _ targetSet = (*registry)(nil)
