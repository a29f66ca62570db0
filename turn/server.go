package turn

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/confab-media/confab/internal/guard"
	"github.com/confab-media/confab/internal/netguard"
	"github.com/confab-media/confab/internal/pionlog"
)

// Server is a TURN relay (RFC 8656) for Confab's attendees.
type Server struct {
	cfg      Config
	log      *slog.Logger
	creds    checker
	policy   atomic.Pointer[peerPolicy] // swapped once the listeners are bound
	panics   guard.Counter
	fds      *netguard.Budget
	relayIP  netip.Addr
	met      *metrics
	pionLogs pionlog.Factory
	refusals *guard.LogLimiter
	panicLog *guard.LogLimiter // recovered panics' log lines (each is counted)
	// testHook, if set (Params.testHook, by this package's tests only),
	// sees every client datagram the engines and screen handle, so a
	// test can make them panic.
	testHook func(pkt []byte)
	packets  sync.Pool // *packet, engine → pion/turn hand-offs

	// fast says whether UDP takes the fast path (fast_linux.go: engines
	// over turn/internal/fastpath) or pion/turn's relay (pion.go).
	fast bool
	serverFast
	udp     []*lane // fast: the SO_REUSEPORT group, one engine each; else one socket. Fixed after New
	tcpLn   net.Listener
	tlsLn   net.Listener
	quit    chan struct{}
	workers sync.WaitGroup // engines and accept loops
	// readers counts pion/turn's reader goroutines that have not yet had
	// their last datagram: one per lane and one per relay (allocation).
	readers sync.WaitGroup

	mu      sync.Mutex // guards everything below, and serverFast.nextEngine
	closed  bool
	streams map[*lane]struct{}         // live TCP/TLS lanes
	relays  map[netip.AddrPort]*relay  // live allocations by relayed address
	byUser  map[string]map[*relay]bool // live allocations by attendee
	done    struct{ packets, bytes uint64 }
}

// socketBuffer is the kernel buffer asked for on client-facing UDP sockets;
// the kernel caps it (on Linux at net.core.rmem_max / wmem_max).
const socketBuffer = 4 << 20

// New validates cfg and p, binds every listener and starts serving.
func New(cfg Config, p Params) (*Server, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if p, err = p.withDefaults(); err != nil {
		return nil, err
	}
	s := &Server{
		cfg:      cfg,
		log:      p.Log,
		creds:    checker{secret: append([]byte(nil), p.Secret...), realm: cfg.Realm, now: p.Now, active: p.Active},
		panics:   p.Panics,
		testHook: p.testHook,
		fast:     haveFastPath && !p.pionRelay,
		fds:      p.FDs,
		relayIP:  netip.MustParseAddr(cfg.RelayIP).Unmap(),
		refusals: guard.NewLogLimiter(10, p.Now),
		panicLog: guard.NewLogLimiter(1, p.Now),
		quit:     make(chan struct{}),
		streams:  map[*lane]struct{}{},
		relays:   map[netip.AddrPort]*relay{},
		byUser:   map[string]map[*relay]bool{},
	}
	s.policy.Store(newPeerPolicy(cfg.AllowedPeers, cfg.DeniedPeers, cfg.AllowPrivatePeers))
	s.pionLogs = pionlog.NewFactory(p.Log, 10, p.Now)
	s.met, err = newMetrics(p.Registerer, s.allocationCount, s.relayed)
	if err != nil {
		return nil, err
	}
	if err := s.listen(); err != nil {
		return nil, errors.Join(err, s.Close())
	}
	s.denySelf()
	udp, tcp, tls := s.Addrs()
	s.log.Info("turn: listening", "udp", udp, "tcp", tcp, "tls", tls, "udp_sockets", len(s.udp), "fast_path", s.fast,
		"relay", fmt.Sprintf("%s:%d-%d", s.relayIP, cfg.RelayPortMin, cfg.RelayPortMax))
	return s, nil
}

func (s *Server) getPacket() *packet {
	if p, ok := s.packets.Get().(*packet); ok {
		return p
	}
	return new(packet)
}

// listen binds UDP (and starts the engines), then TCP (by default on the UDP
// port), then TLS.
func (s *Server) listen() error {
	// With an automatic UDP port (0) and no TCP address, TCP takes the
	// same port number when it is free, else a port of its own (the URIs
	// name each transport's real port).
	tcpFollowsAutoUDP := s.cfg.ListenTCP == "" && !s.cfg.DisableUDP &&
		netip.MustParseAddrPort(s.cfg.ListenUDP).Port() == 0
	if err := s.listenUDP(); err != nil {
		return err
	}
	host := ""
	if len(s.udp) > 0 {
		laddr := s.udp[0].LocalAddr()
		host = addrPortOf(laddr).Addr().String()
		if s.cfg.ListenTCP == "" {
			s.cfg.ListenTCP = laddr.String()
		}
	}
	if s.cfg.ListenTCP == "" {
		s.cfg.ListenTCP = defaultListen
	}
	if host == "" {
		host = netip.MustParseAddrPort(s.cfg.ListenTCP).Addr().String()
	}
	if !s.cfg.DisableTCP {
		ln, err := listenTCP(s.cfg.ListenTCP)
		if err != nil && tcpFollowsAutoUDP {
			ln, err = listenTCP(net.JoinHostPort(host, "0"))
		}
		if err != nil {
			return fmt.Errorf("listen tcp: %w", err)
		}
		s.tcpLn = s.guardStream(ln)
		s.serve(s.tcpLn)
	}
	if s.cfg.tlsEnabled() {
		if s.cfg.ListenTLS == "" {
			s.cfg.ListenTLS = net.JoinHostPort(host, strconv.Itoa(defaultTLSPort))
		}
		cert, err := tls.LoadX509KeyPair(s.cfg.CertFile, s.cfg.KeyFile)
		if err != nil {
			return fmt.Errorf("%w: tls: %v", ErrInvalidConfig, err)
		}
		ln, err := listenTCP(s.cfg.ListenTLS)
		if err != nil {
			return fmt.Errorf("listen tls: %w", err)
		}
		s.tlsLn = tls.NewListener(s.guardStream(ln), &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
		s.serve(s.tlsLn)
	}
	return nil
}

// listenUDP binds the UDP listener: the fast path's SO_REUSEPORT group,
// or pion/turn's one socket.
func (s *Server) listenUDP() error {
	if s.fast {
		return s.listenUDPFast()
	}
	return s.listenUDPPion()
}

// Addrs returns the bound UDP, TCP and TLS addresses; nil for one that is
// off.
func (s *Server) Addrs() (udp, tcp, tls net.Addr) {
	if len(s.udp) > 0 {
		udp = s.udp[0].LocalAddr()
	}
	if s.tcpLn != nil {
		tcp = s.tcpLn.Addr()
	}
	if s.tlsLn != nil {
		tls = s.tlsLn.Addr()
	}
	return udp, tcp, tls
}

// URIs returns the TURN URIs (RFC 7065) of the listeners for clients that
// reach this server at host: turn:host:port?transport=udp,
// turn:host:port?transport=tcp and turns:host:port?transport=tcp.
func (s *Server) URIs(host string) []string {
	udp, tcp, tls := s.Addrs()
	var uris []string
	add := func(scheme string, a net.Addr, transport string) {
		if a == nil {
			return
		}
		_, port, _ := net.SplitHostPort(a.String())
		uris = append(uris, scheme+":"+net.JoinHostPort(host, port)+"?transport="+transport)
	}
	add("turn", udp, "udp")
	add("turn", tcp, "tcp")
	add("turns", tls, "tcp")
	return uris
}

// Revoke ends every allocation of attendeeID now: its relayed sockets close,
// so nothing more is relayed either way and pion/turn drops the
// allocations. It does not by itself stop the attendee from allocating
// again: Params.Active must say false for that.
func (s *Server) Revoke(attendeeID string) {
	s.mu.Lock()
	var rs []*relay
	for r := range s.byUser[attendeeID] {
		rs = append(rs, r)
	}
	s.mu.Unlock()
	for _, r := range rs {
		_ = r.Close()
	}
	if len(rs) > 0 {
		s.log.Info("turn: revoked", "attendee", attendeeID, "allocations", len(rs))
	}
}

// Close stops the listeners, ends every connection and allocation, and
// returns once every goroutine Confab started has ended and every pion/turn
// reader has had its last datagram (they return right after, touching
// nothing of the Server's but its idempotent Close paths).
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	close(s.quit)
	var streams []*lane
	for l := range s.streams {
		streams = append(streams, l)
	}
	var relays []*relay
	for _, r := range s.relays {
		relays = append(relays, r)
	}
	s.mu.Unlock()

	var errs []error
	for _, ln := range []net.Listener{s.tcpLn, s.tlsLn} {
		if ln != nil {
			if err := ln.Close(); err != nil {
				errs = append(errs, err)
			}
		}
	}
	for _, l := range streams {
		if err := l.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
			errs = append(errs, err)
		}
	}
	for _, r := range relays {
		_ = r.Close()
	}
	s.stopEngines()
	s.workers.Wait() // engines have closed their sockets; accept loops are done
	for _, l := range s.udp {
		_ = l.Close()
	}
	s.readers.Wait()
	s.met.unregister()
	return errors.Join(errs...)
}

// authKey is pion/turn's AuthHandler: the long-term key for username. screen
// has already answered the failures with 401; this is the backstop.
func (s *Server) authKey(username, _ string, _ net.Addr) (key []byte, ok bool) {
	defer s.recoverCallback("turn auth handler", func() { key, ok = nil, false })
	_, key, why := s.creds.check(username)
	return key, why == reasonNone
}

// denySelf adds the server's own listeners to the refused peers, so that
// no wider AllowedPeers entry relays to the TURN ports themselves.
func (s *Server) denySelf() {
	var self []netip.AddrPort
	udp, tcp, tls := s.Addrs()
	for _, a := range []net.Addr{udp, tcp, tls} {
		if ap := addrPortOf(a); ap.IsValid() {
			self = append(self, ap)
		}
	}
	s.policy.Store(s.policy.Load().withDenied(self))
}

// permitsPeer reports whether peer may be relayed to or from.
func (s *Server) permitsPeer(peer netip.AddrPort) bool { return s.policy.Load().permits(peer) }

// permitPeer is pion/turn's PermissionHandler. screen answers forbidden
// peers (address and port) with 403 first; this is the backstop, which
// sees only the address. Send indications and relayed datagrams are
// checked with their port in relay.WriteTo and the engine.
func (s *Server) permitPeer(client net.Addr, peer net.IP) (ok bool) {
	defer s.recoverCallback("turn permission handler", func() { ok = false })
	if ip, valid := netip.AddrFromSlice(peer); valid && s.policy.Load().permitsIP(ip) {
		return true
	}
	s.refuse(reasonForbiddenPeer, "", client)
	return false
}

// refuse counts a refusal and logs it at debug level, rate-limited.
func (s *Server) refuse(why reason, attendee string, from net.Addr) {
	s.met.refused(why)
	if s.refusals.Allow() {
		s.log.Debug("turn: refused", "reason", why.String(), "attendee", attendee, "from", from)
	}
}

// recoverCallback, deferred directly, contains a panic in a callback that
// pion/turn's reader runs for a client's message (or in Confab's own code
// on that reader) so the process and the reader go on; refuse sets the
// callback's refusing result.
func (s *Server) recoverCallback(what string, refuse func()) {
	v := recover()
	if v == nil {
		return
	}
	s.contained(what, v)
	if refuse != nil {
		refuse()
	}
}

// contained counts a recovered panic and logs it (stack included) at most
// once a second.
func (s *Server) contained(what string, v any) {
	if s.panicLog.Allow() {
		guard.Handle(s.log, s.panics, what, v)
	} else if s.panics != nil {
		s.panics.Inc()
	}
}
