package turn

import "errors"

var (
	// ErrInvalidConfig wraps every Config and Params validation failure.
	ErrInvalidConfig = errors.New("turn: invalid config")
	// ErrClosed is returned for work asked of a closed Server.
	ErrClosed = errors.New("turn: server closed")
	// ErrQuota is what the relay generator returns (pion/turn then answers
	// 508) when a cap is reached between the quota check and the
	// allocation.
	ErrQuota = errors.New("turn: allocation quota reached")
	// ErrTCPRelay is returned for a TCP relay (RFC 6062), which Confab does
	// not offer.
	ErrTCPRelay = errors.New("turn: tcp relay allocations are not supported")
)
