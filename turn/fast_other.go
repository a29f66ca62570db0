//go:build !linux

package turn

import (
	"errors"
	"net/netip"
)

// Without the fast path (turn/internal/fastpath is Linux only) every UDP
// datagram goes through pion/turn's relay (pion.go). These stand-ins keep
// the shared code compiling; Server.fast is always false here, so none of
// them is called.

const haveFastPath = false

type (
	serverFast struct{}
	relayFast  struct{}
)

func (*Server) listenUDPFast() error                                  { return errNoFastPath }
func (*Server) stopEngines()                                          {}
func (*Server) allocateFast(*lane, int, pendingAlloc) (*relay, error) { return nil, errNoFastPath }
func (*Server) toEngineLocked(*relay) bool                            { return false }
func (*relay) writeFast([]byte, netip.AddrPort) (int, error)          { return 0, errNoFastPath }
func (*relay) retireFast()                                            {}

var errNoFastPath = errors.New("turn: no fast path on this platform")
