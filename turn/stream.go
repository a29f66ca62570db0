package turn

import (
	"errors"
	"net"
	"net/netip"
	"time"

	"github.com/confab-media/confab/internal/guard"
	"github.com/confab-media/confab/internal/netguard"
)

// guardStream bounds a TCP listener's connections (netguard): deadlines for
// the TLS handshake and first message, an idle timeout, caps per source IP
// and overall, and the process's descriptor budget. A TLS listener wraps
// the guarded one, so the handshake is under the first-message deadline.
func (s *Server) guardStream(ln net.Listener) *netguard.Listener {
	cfg := s.cfg.Stream
	cfg.Budget = s.fds
	return netguard.Wrap(ln, cfg, netguard.Params{Log: s.log, OnRefuse: s.streamRefused})
}

// streamRefused counts a connection netguard closed at accept.
func (s *Server) streamRefused(why string) {
	switch why {
	case netguard.RefusedMaxConns:
		s.refuse(reasonStreamCap, "", nil)
	case netguard.RefusedPerIP:
		s.refuse(reasonStreamPerIP, "", nil)
	case netguard.RefusedBudget:
		s.refuse(reasonStreamBudget, "", nil)
	}
}

func listenTCP(addr string) (net.Listener, error) {
	ap, err := netip.ParseAddrPort(addr)
	if err != nil {
		return nil, err
	}
	network := "tcp6"
	if ap.Addr().Unmap().Is4() {
		network = "tcp4"
	}
	return net.Listen(network, ap.String())
}

// serve accepts TURN-over-TCP/TLS connections (RFC 8656 §3.1) on ln; each
// becomes a lane of its own.
func (s *Server) serve(ln net.Listener) {
	s.workers.Add(1)
	go func() {
		defer s.workers.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				if errors.Is(err, net.ErrClosed) {
					return
				}
				// Out of descriptors or the like: back off, keep serving.
				s.log.Warn("turn: accept", "err", err)
				select {
				case <-s.quit:
					return
				case <-time.After(100 * time.Millisecond):
				}
				continue
			}
			s.startStreamGuarded(c)
		}
	}()
}

// startStreamGuarded is startStream with a panic contained: the
// connection is closed and the accept loop goes on.
func (s *Server) startStreamGuarded(c net.Conn) {
	defer guard.Recover(s.log, s.panics, "turn stream start", func(any) { _ = c.Close() })
	s.startStream(c)
}

func (s *Server) startStream(c net.Conn) {
	l := newStreamLane(s, c)
	s.mu.Lock()
	if s.closed || len(s.streams) >= s.cfg.MaxAllocations {
		s.mu.Unlock()
		_ = c.Close()
		return
	}
	s.streams[l] = struct{}{}
	s.readers.Add(1)
	s.mu.Unlock()
	l.onGone = func() {
		s.mu.Lock()
		delete(s.streams, l)
		s.mu.Unlock()
		s.readers.Done()
	}
	if err := l.start(); err != nil {
		s.log.Warn("turn: tcp lane", "err", err)
		l.readerDone()
	}
}
