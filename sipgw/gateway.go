package sipgw

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/confab-media/confab/internal/clock"
	"github.com/confab-media/confab/internal/guard"
	"github.com/confab-media/confab/internal/netguard"
)

// Gateway is the SIP dial-in gateway: a UAS on UDP, TCP and TLS that admits
// callers with a join token and attaches each call to its meeting's audio.
type Gateway struct {
	cfg     Config
	p       Params
	log     *slog.Logger
	clock   clock.Clock
	metrics *metrics
	ports   *portAllocator
	bindIP  netip.Addr // RTP sockets bind here (unspecified: all interfaces)

	ua  *sipgo.UserAgent
	srv *sipgo.Server
	cli *sipgo.Client
	// dialogUAs builds the dialogs of each transport ("udp", "tcp", "tls"),
	// with RewriteContact so in-dialog requests we send (BYE) go back to the
	// caller's source address — over its own connection for TCP and TLS,
	// since softphones accept no inbound TLS.
	dialogUAs map[string]*sipgo.DialogUA

	udp        net.PacketConn
	tcp, tls   net.Listener
	serveGroup sync.WaitGroup // the three serve goroutines

	seats *seats // one call per attendee, calls per meeting

	mu       sync.Mutex          // guards calls, outbound and closed
	calls    map[string]*call    // by dialog ID
	outbound map[string]*outCall // placed calls (dialout.go), by Call-ID
	closed   bool
	handlers sync.WaitGroup // SIP request handlers in flight (each call's lives as long as it)
	closing  chan struct{}  // closed by Close: calls end with BYE
	// ctx is cancelled by Close: SIP media applications' handler
	// invocations in flight give up.
	ctx      context.Context
	cancel   context.CancelFunc
	closeOne sync.Once
}

// New validates cfg, starts listening on UDP, TCP and TLS and returns the
// running gateway.
func New(cfg Config, p Params) (*Gateway, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if p.Auth == nil || p.Conference == nil {
		return nil, fmt.Errorf("%w: Params.Auth and Params.Conference are required", ErrInvalidConfig)
	}
	if p.Clock == nil {
		p.Clock = clock.System{}
	}
	if p.Log == nil {
		p.Log = slog.New(slog.DiscardHandler)
	}
	met, err := newMetrics(p.Registerer)
	if err != nil {
		return nil, err
	}
	g := &Gateway{
		cfg: cfg, p: p, log: p.Log, clock: p.Clock, metrics: met,
		ports:    newPortAllocator(cfg.RTPPortMin, cfg.RTPPortMax),
		calls:    make(map[string]*call),
		outbound: make(map[string]*outCall),
		seats:    newSeats(),
		closing:  make(chan struct{}),
	}
	g.ctx, g.cancel = context.WithCancel(context.Background())
	host, _, _ := net.SplitHostPort(cfg.ListenUDP)
	if ip, err := netip.ParseAddr(host); err == nil {
		g.bindIP = ip.Unmap()
	}
	tlsConf, err := g.tlsConfig()
	if err != nil {
		return nil, err
	}
	if err := g.listen(tlsConf); err != nil {
		g.closeListeners()
		return nil, err
	}
	// sipgo logs junk input at Error level with its bytes: limited.
	sipLog := slog.New(newLogLimiter(p.Log.Handler(), p.Clock.Now, met.junk.Inc)).With("component", "sipgo")
	g.ua, err = sipgo.NewUA(
		sipgo.WithUserAgent("confab"),
		sipgo.WithUserAgenTLSConfig(tlsConf),
		sipgo.WithUserAgentTransportLayerOptions(sip.WithTransportLayerLogger(sipLog)),
		sipgo.WithUserAgentTransactionLayerOptions(sip.WithTransactionLayerLogger(sipLog)),
	)
	if err == nil {
		g.srv, err = sipgo.NewServer(g.ua, sipgo.WithServerLogger(sipLog))
	}
	if err == nil {
		g.cli, err = sipgo.NewClient(g.ua, sipgo.WithClientLogger(sipLog))
	}
	var outCli *sipgo.Client
	if err == nil {
		// Calls placed over UDP go out from the UDP listener (the trunk sees
		// our signalling port, and no ephemeral socket is left to sipgo's
		// reference counting).
		outCli, err = sipgo.NewClient(g.ua, sipgo.WithClientLogger(sipLog), sipgo.WithClientConnectionAddr(g.udp.LocalAddr().String()))
	}
	if err != nil {
		g.closeListeners()
		return nil, fmt.Errorf("sipgw: sip stack: %w", err)
	}
	g.dialogUAs = map[string]*sipgo.DialogUA{}
	for tr, a := range map[string]net.Addr{"udp": g.udp.LocalAddr(), "tcp": g.tcp.Addr(), "tls": g.tls.Addr()} {
		g.dialogUAs[tr] = &sipgo.DialogUA{Client: g.cli, ContactHDR: g.contact(tr, a, netip.Addr{}), RewriteContact: true}
	}
	// A call another node handed over came from that node's address: its
	// in-dialog requests go to the caller's Contact instead.
	g.dialogUAs[handoverUA] = &sipgo.DialogUA{Client: g.cli, ContactHDR: g.contact("udp", g.udp.LocalAddr(), netip.Addr{})}
	g.dialogUAs[dialOutUDP] = &sipgo.DialogUA{Client: outCli, ContactHDR: g.contact("udp", g.udp.LocalAddr(), netip.Addr{})}
	g.srv.OnInvite(g.handle(g.onInvite))
	g.srv.OnAck(g.handle(g.onAck))
	g.srv.OnBye(g.handle(g.onBye))
	g.srv.OnCancel(g.handle(g.onCancel))
	g.srv.OnInfo(g.handle(g.onInfo))
	g.srv.OnUpdate(g.handle(g.onUpdate))
	g.srv.OnOptions(g.handle(g.onOptions))
	g.srv.OnRegister(g.handle(g.onRegister))
	g.srv.OnNoRoute(g.handle(g.onNoRoute))

	g.serveGroup.Add(3)
	go func() { defer g.serveGroup.Done(); _ = g.srv.ServeUDP(g.udp) }()
	go func() { defer g.serveGroup.Done(); _ = g.srv.ServeTCP(g.tcp) }()
	go func() { defer g.serveGroup.Done(); _ = g.srv.ServeTLS(g.tls) }()
	g.log.Info("sipgw: listening", "udp", g.udp.LocalAddr(), "tcp", g.tcp.Addr(), "tls", g.tls.Addr(),
		"dialIn", cfg.DialInNumber, "requireSRTP", cfg.RequireSRTP)
	return g, nil
}

func (g *Gateway) listen(tlsConf *tls.Config) error {
	var err error
	if g.udp, err = net.ListenPacket("udp", g.cfg.ListenUDP); err != nil {
		return fmt.Errorf("sipgw: listen udp: %w", err)
	}
	tcp, err := netguard.Listen("tcp", g.cfg.ListenTCP, g.streamConfig(), g.streamParams("tcp"))
	if err != nil {
		return fmt.Errorf("sipgw: listen tcp: %w", err)
	}
	g.tcp = tcp
	// The TLS handshake runs over the guarded TCP connection, within its
	// first-message deadline; the guard above TLS gives the first SIP
	// message the same deadline (a handshake and then silence is cut too).
	// It counts the same connections again: its caps are never the
	// tighter ones, and it takes nothing from the descriptor budget.
	tlsTCP, err := netguard.Listen("tcp", g.cfg.ListenTLS, g.streamConfig(), g.streamParams("tls"))
	if err != nil {
		return fmt.Errorf("sipgw: listen tls: %w", err)
	}
	above := g.streamConfig()
	above.Budget = nil
	g.tls = netguard.Wrap(tls.NewListener(tlsTCP, tlsConf), above, netguard.Params{Log: g.log})
	return nil
}

// streamConfig bounds the TCP and TLS listeners (each has its own caps;
// both take from the process's descriptor budget).
func (g *Gateway) streamConfig() netguard.Config {
	sc := g.cfg.Stream
	return netguard.Config{MaxConns: sc.MaxConns, MaxPerIP: sc.MaxConnsPerIP, FirstMessage: sc.FirstMessage,
		Idle: sc.Idle, Budget: g.p.FDs}
}

func (g *Gateway) streamParams(transport string) netguard.Params {
	refused := map[string]prometheus.Counter{}
	for _, r := range []string{netguard.RefusedMaxConns, netguard.RefusedPerIP, netguard.RefusedBudget} {
		refused[r] = g.metrics.streamRef.WithLabelValues(transport, r)
	}
	// Now stays the wall clock: socket deadlines are wall-clock times,
	// whatever Params.Clock says.
	return netguard.Params{Log: g.log, OnRefuse: func(reason string) {
		if c := refused[reason]; c != nil {
			c.Inc()
		}
	}}
}

func (g *Gateway) closeListeners() {
	if g.udp != nil {
		_ = g.udp.Close()
	}
	if g.tcp != nil {
		_ = g.tcp.Close()
	}
	if g.tls != nil {
		_ = g.tls.Close()
	}
}

// Addrs returns the UDP, TCP and TLS listen addresses.
func (g *Gateway) Addrs() (udp, tcp, tls net.Addr) {
	return g.udp.LocalAddr(), g.tcp.Addr(), g.tls.Addr()
}

// Close ends every call with BYE, stops listening and waits for every
// goroutine the gateway started. It is idempotent.
func (g *Gateway) Close() error {
	g.closeOne.Do(func() {
		g.mu.Lock()
		g.closed = true
		n := len(g.calls)
		g.mu.Unlock()
		g.log.Info("sipgw: closing", "calls", n)
		close(g.closing)
		g.cancel()
		g.handlers.Wait() // calls send BYE and end; other handlers return
		g.closeListeners()
		_ = g.ua.Close()
		g.serveGroup.Wait()
		g.log.Info("sipgw: closed")
	})
	return nil
}

// handle wraps a request handler: it counts it for Close and, once the
// gateway is closing, turns away every request that does not belong to a
// call still ending (whose ACK or BYE must get through). A panic in the
// handler is contained: the request gets 500 (a call whose goroutine it
// was has already ended itself, see call.run).
func (g *Gateway) handle(h func(*sip.Request, sip.ServerTransaction)) sipgo.RequestHandler {
	return func(req *sip.Request, tx sip.ServerTransaction) {
		defer guard.Recover(g.log, g.p.Panics, "sipgw "+string(req.Method)+" handler", func(any) {
			if !req.IsAck() {
				g.respond(req, tx, refuse(500, "Server Internal Error"))
			}
		})
		g.mu.Lock()
		if g.closed {
			// A registered call's handler holds the count above zero, so
			// Add below cannot race with Close's Wait returning.
			id, err := sip.DialogIDFromRequestUAS(req)
			if err != nil || g.calls[id] == nil {
				g.mu.Unlock()
				if !req.IsAck() {
					g.respond(req, tx, refuseShutdown)
				}
				return
			}
		}
		g.handlers.Add(1)
		g.mu.Unlock()
		defer g.handlers.Done()
		h(req, tx)
	}
}

// respond sends a final response built from req and r (a refusal, or
// statusOK). It does not wait for the ACK of a failure response: the
// transaction layer retransmits it.
func (g *Gateway) respond(req *sip.Request, tx sip.ServerTransaction, r *refusal, extra ...sip.Header) {
	res := sip.NewResponseFromRequest(req, r.code, r.reason, nil)
	for _, h := range r.headers {
		res.AppendHeader(sip.NewHeader(h[0], h[1]))
	}
	for _, h := range extra {
		res.AppendHeader(h)
	}
	if err := tx.Respond(res); err != nil {
		g.log.Debug("sipgw: respond failed", "code", r.code, "err", err)
	}
}

// lookup returns the call a request belongs to, or nil.
func (g *Gateway) lookup(req *sip.Request) *call {
	id, err := sip.DialogIDFromRequestUAS(req)
	if err != nil {
		return nil
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.calls[id]
}

// register adds a call; it fails once the gateway is closing.
func (g *Gateway) register(c *call) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return false
	}
	g.calls[c.dlg.ID] = c
	return true
}

func (g *Gateway) unregister(c *call) {
	g.mu.Lock()
	defer g.mu.Unlock()
	delete(g.calls, c.dlg.ID)
}

// activeCalls returns the number of calls (for tests).
func (g *Gateway) activeCalls() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.calls)
}

// The gateway's option tags and methods.
const (
	allowMethods = "INVITE, ACK, BYE, CANCEL, OPTIONS, INFO, UPDATE, REGISTER"
	supported    = "timer"
)

func (g *Gateway) onOptions(req *sip.Request, tx sip.ServerTransaction) {
	res := sip.NewResponseFromRequest(req, 200, "OK", nil)
	res.AppendHeader(sip.NewHeader("Allow", allowMethods))
	res.AppendHeader(sip.NewHeader("Accept", "application/sdp"))
	res.AppendHeader(sip.NewHeader("Supported", supported))
	if err := tx.Respond(res); err != nil {
		g.log.Debug("sipgw: respond to OPTIONS failed", "err", err)
	}
}

func (g *Gateway) onNoRoute(req *sip.Request, tx sip.ServerTransaction) {
	if req.IsAck() {
		return
	}
	g.respond(req, tx, refuse(405, "Method Not Allowed", [2]string{"Allow", allowMethods}))
}

// onCancel sees only CANCELs that match no INVITE transaction (sipgo
// answers the others itself: 200, and 487 to the INVITE).
func (g *Gateway) onCancel(req *sip.Request, tx sip.ServerTransaction) {
	g.respond(req, tx, refuse(481, "Call/Transaction Does Not Exist"))
}

func (g *Gateway) onAck(req *sip.Request, tx sip.ServerTransaction) {
	if c := g.lookup(req); c != nil {
		c.ack(req, tx)
	}
}

func (g *Gateway) onBye(req *sip.Request, tx sip.ServerTransaction) {
	c := g.lookup(req)
	if c == nil {
		if oc := g.outboundFor(req); oc != nil { // a placed call's callee hangs up
			if err := oc.dlg.ReadBye(req, tx); err != nil {
				g.respond(req, tx, refuse(500, "Invalid CSeq"))
			}
			return
		}
		g.respond(req, tx, refuse(481, "Call/Transaction Does Not Exist"))
		return
	}
	if err := c.dlg.ReadBye(req, tx); err != nil {
		g.respond(req, tx, refuse(500, "Invalid CSeq"))
	}
}

func (g *Gateway) onInfo(req *sip.Request, tx sip.ServerTransaction) {
	c := g.lookup(req)
	if c == nil {
		g.respond(req, tx, refuse(481, "Call/Transaction Does Not Exist"))
		return
	}
	body := req.Body()
	if len(body) == 0 { // keep-alive INFO
		g.respond(req, tx, statusOK)
		return
	}
	ct := ""
	if h := req.ContentType(); h != nil {
		ct = h.Value()
	}
	d, ok := infoDigit(ct, body)
	if !ok {
		g.respond(req, tx, refuse(415, "Unsupported INFO body",
			[2]string{"Accept", "application/dtmf-relay, application/dtmf"}))
		return
	}
	c.digit(d)
	g.respond(req, tx, statusOK)
}

// contact returns the Contact of the gateway on a transport.
func (g *Gateway) contact(transport string, listen net.Addr, ip netip.Addr) sip.ContactHeader {
	host, portStr, _ := net.SplitHostPort(listen.String())
	port, _ := strconv.Atoi(portStr)
	if ip.IsValid() {
		host = ip.String()
	}
	uri := sip.Uri{Scheme: "sip", User: g.cfg.DialInNumber, Host: host, Port: port}
	if transport != "udp" {
		uri.UriParams = sip.NewParams()
		uri.UriParams.Add("transport", transport)
	}
	return sip.ContactHeader{Address: uri}
}

// listenAddr returns the listener of a transport.
func (g *Gateway) listenAddr(transport string) net.Addr {
	switch transport {
	case "tcp":
		return g.tcp.Addr()
	case "tls":
		return g.tls.Addr()
	}
	return g.udp.LocalAddr()
}

// advertisedIP is the address of the SDP c= line and the Contact: PublicIP,
// else the bind address, else the local address that routes to the caller.
func (g *Gateway) advertisedIP(caller string) netip.Addr {
	if g.cfg.PublicIP != "" {
		ip, _ := netip.ParseAddr(g.cfg.PublicIP)
		return ip.Unmap()
	}
	if g.bindIP.IsValid() && !g.bindIP.IsUnspecified() {
		return g.bindIP
	}
	if c, err := net.Dial("udp", caller); err == nil { // no packet is sent
		defer c.Close()
		if a, ok := c.LocalAddr().(*net.UDPAddr); ok {
			if ip, ok := netip.AddrFromSlice(a.IP); ok {
				return ip.Unmap()
			}
		}
	}
	return netip.AddrFrom4([4]byte{127, 0, 0, 1})
}

// transportOf returns "udp", "tcp" or "tls" for a request.
func transportOf(req *sip.Request) string {
	return strings.ToLower(req.Transport())
}
