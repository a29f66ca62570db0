//go:build !linux

package turn

import "net"

// Server is a TURN relay; off Linux New always fails.
type Server struct{}

// New returns ErrUnsupported off Linux.
func New(Config, Params) (*Server, error) { return nil, ErrUnsupported }

func (*Server) Addrs() (udp, tcp, tls net.Addr) { return nil, nil, nil }
func (*Server) URIs(string) []string            { return nil }
func (*Server) Revoke(string)                   {}
func (*Server) Close() error                    { return nil }
