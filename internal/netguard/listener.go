package netguard

import (
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"time"
)

// Refusal reasons passed to Params.OnRefuse.
const (
	RefusedMaxConns = "max_conns" // the listener's cap
	RefusedPerIP    = "per_ip"    // the remote IP's cap
	RefusedBudget   = "budget"    // the shared descriptor budget
)

// Config bounds one listener; zero values take the defaults.
type Config struct {
	// MaxConns is the most open connections on this listener. Default 1024.
	MaxConns int
	// MaxPerIP is the most open connections from one remote IP. Default 32.
	MaxPerIP int
	// FirstMessage is how long after accept the first MinFirstBytes bytes
	// may take to arrive (a TLS handshake included). Default 10 s.
	FirstMessage time.Duration
	// MinFirstBytes is how many bytes count as a first message. Default 16.
	MinFirstBytes int
	// Idle is the read deadline after the first message, renewed on every
	// read. Default 5 min.
	Idle time.Duration
	// Write bounds each Write. Default 10 s.
	Write time.Duration
	// Budget, if set, is shared with other listeners.
	Budget *Budget
}

func (c Config) withDefaults() Config {
	if c.MaxConns <= 0 {
		c.MaxConns = 1024
	}
	if c.MaxPerIP <= 0 {
		c.MaxPerIP = 32
	}
	if c.FirstMessage <= 0 {
		c.FirstMessage = 10 * time.Second
	}
	if c.MinFirstBytes <= 0 {
		c.MinFirstBytes = 16
	}
	if c.Idle <= 0 {
		c.Idle = 5 * time.Minute
	}
	if c.Write <= 0 {
		c.Write = 10 * time.Second
	}
	return c
}

// Params are the listener's dependencies; all optional.
type Params struct {
	Log *slog.Logger
	// OnRefuse is called (on the accepting goroutine) for each connection
	// closed at accept, with one of the Refused* reasons; count it.
	OnRefuse func(reason string)
	// Now is the clock deadlines are computed from (default time.Now).
	Now func() time.Time
}

// Listener is a net.Listener whose connections are bounded as Config says.
type Listener struct {
	net.Listener
	cfg Config
	p   Params

	mu    sync.Mutex // guards open and perIP
	open  int
	perIP map[netip.Addr]int
}

var _ net.Listener = (*Listener)(nil)

// Listen listens on network/addr ("tcp", "tcp4", "tcp6") and guards it.
func Listen(network, addr string, cfg Config, p Params) (*Listener, error) {
	ln, err := net.Listen(network, addr)
	if err != nil {
		return nil, err
	}
	return Wrap(ln, cfg, p), nil
}

// Wrap guards ln. Closing the returned listener closes ln.
func Wrap(ln net.Listener, cfg Config, p Params) *Listener {
	if p.Now == nil {
		p.Now = time.Now
	}
	if p.Log == nil {
		p.Log = slog.New(slog.DiscardHandler)
	}
	return &Listener{Listener: ln, cfg: cfg.withDefaults(), p: p, perIP: map[netip.Addr]int{}}
}

// Accept returns the next connection within the caps; connections over a cap
// are closed here and never returned.
func (l *Listener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		ip := remoteIP(c)
		if reason := l.admit(ip); reason != "" {
			_ = c.Close()
			if l.p.OnRefuse != nil {
				l.p.OnRefuse(reason)
			}
			continue
		}
		return newConn(c, l, ip), nil
	}
}

// Open is the number of open guarded connections.
func (l *Listener) Open() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.open
}

// admit takes a slot for ip, or names the cap that refuses it.
func (l *Listener) admit(ip netip.Addr) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case l.open >= l.cfg.MaxConns:
		return RefusedMaxConns
	case l.perIP[ip] >= l.cfg.MaxPerIP:
		return RefusedPerIP
	case !l.cfg.Budget.acquire():
		return RefusedBudget
	}
	l.open++
	l.perIP[ip]++
	return ""
}

func (l *Listener) release(ip netip.Addr) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.open--
	if n := l.perIP[ip] - 1; n > 0 {
		l.perIP[ip] = n
	} else {
		delete(l.perIP, ip)
	}
	l.cfg.Budget.release()
}

func remoteIP(c net.Conn) netip.Addr {
	if ap, err := netip.ParseAddrPort(c.RemoteAddr().String()); err == nil {
		return ap.Addr().Unmap()
	}
	return netip.Addr{}
}
