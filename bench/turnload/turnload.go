// Package turnload is `confab bench turn`: it loads a TURN server (RFC
// 8656) — Confab's or another, coturn for one — with many parallel
// clients, each allocating a relay with time-limited shared-secret
// credentials (draft-uberti-behave-turn-rest-00, as Confab and coturn's
// use-auth-secret mint them) and sending fixed-size datagrams at a fixed
// rate through it to UDP echo peers the load generator runs itself. Every
// datagram is relayed twice (client → peer, and the echo back), and the
// round trip is timed.
//
// Every client has its own socket, one sending and one receiving
// goroutine; every echo peer one goroutine; so the generator spreads over
// every core (GOMAXPROCS) rather than topping out on one thread as
// turnutils_uclient does. Buffers are reused: the send and receive loops
// allocate nothing per datagram (pion/turn's client itself may).
package turnload

import (
	"context"
	"crypto/hmac"
	"crypto/sha1" //nolint:gosec // the TURN REST scheme is defined on HMAC-SHA1
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/logging"
	"github.com/pion/turn/v4"
)

// Config is one load.
type Config struct {
	// Server is the TURN server's UDP address (host:port).
	Server string
	// Realm is the server's realm (Confab: "confab").
	Realm string
	// Credentials gives client i its username and password: minted from a
	// shared secret ([SecretCredentials]) or fetched from the deployment.
	Credentials func(i int) (username, password string, err error)
	// Clients allocate one relay each; Peers echo (default 4).
	Clients, Peers int
	// Rate is the datagrams each client sends per second; Size their
	// length in bytes (at least 16: a sequence number and a send time).
	Rate, Size int
	// Duration is how long every client sends, after all have allocated.
	Duration time.Duration
	// PeerIP is the address the echo peers listen on (default 127.0.0.1);
	// the server must be allowed to relay to it.
	PeerIP string
}

// Result is what a load measured.
type Result struct {
	Clients   int      `json:"clients"`
	Allocated int      `json:"allocated"`
	Errors    []string `json:"errors,omitempty"`
	Seconds   float64  `json:"seconds"`
	Sent      uint64   `json:"sent"`
	Received  uint64   `json:"received"`
	LossPct   float64  `json:"lossPct"`
	// RelayedPerSecond is the datagrams the server relayed per second:
	// each echoed datagram twice.
	RelayedPerSecond float64 `json:"relayedPerSecond"`
	// RTTMs are round-trip-time percentiles (client → relay → peer →
	// relay → client), from a histogram of 0.1 ms buckets.
	RTTMsP50 float64 `json:"rttMsP50"`
	RTTMsP99 float64 `json:"rttMsP99"`
	RTTMsMax float64 `json:"rttMsMax"`
}

// rttBuckets is the histogram: 0.1 ms each, up to 1 s.
const rttBuckets = 10000

// stats is shared by every client's sender and receiver; atomics only, so
// that receivers on every core do not contend on a lock.
type stats struct {
	sent, received atomic.Uint64
	hist           [rttBuckets + 1]atomic.Uint64
	maxNs          atomic.Int64
}

func (s *stats) rtt(d time.Duration) {
	s.hist[min(int(d/(100*time.Microsecond)), rttBuckets)].Add(1)
	for {
		m := s.maxNs.Load()
		if int64(d) <= m || s.maxNs.CompareAndSwap(m, int64(d)) {
			return
		}
	}
}

func (s *stats) quantile(q float64) float64 {
	var n uint64
	for i := range s.hist {
		n += s.hist[i].Load()
	}
	if n == 0 {
		return 0
	}
	want := uint64(q * float64(n))
	var acc uint64
	for i := range s.hist {
		acc += s.hist[i].Load()
		if acc > want {
			return float64(i+1) / 10
		}
	}
	return float64(rttBuckets) / 10
}

// SecretCredentials mints each client a REST username
// ("<expiry>:bench-turn-<i>", an hour ahead) and password
// (base64(HMAC-SHA1(secret, username))), as a server with a shared secret
// (coturn's use-auth-secret) checks them.
func SecretCredentials(secret []byte) func(i int) (string, string, error) {
	return func(i int) (string, string, error) {
		username := fmt.Sprintf("%d:bench-turn-%d", time.Now().Add(time.Hour).Unix(), i)
		mac := hmac.New(sha1.New, secret)
		mac.Write([]byte(username))
		return username, base64.StdEncoding.EncodeToString(mac.Sum(nil)), nil
	}
}

// client is one TURN client with its relay.
type client struct {
	conn  net.PacketConn
	tc    *turn.Client
	relay net.PacketConn
	peer  net.Addr
}

// Run applies the load and returns what it measured; ctx ends it early.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	if cfg.Peers <= 0 {
		cfg.Peers = 4
	}
	if cfg.PeerIP == "" {
		cfg.PeerIP = "127.0.0.1"
	}
	if cfg.Size < 16 || cfg.Size > 1400 || cfg.Rate <= 0 || cfg.Clients <= 0 || cfg.Duration <= 0 || cfg.Credentials == nil {
		return nil, errors.New("turnload: clients, rate and duration must be positive, size 16 to 1400, credentials given")
	}
	lf := logging.NewDefaultLoggerFactory()
	lf.DefaultLogLevel = logging.LogLevelError

	// Echo peers.
	var peers []net.PacketConn
	var bg sync.WaitGroup
	defer func() {
		for _, p := range peers {
			_ = p.Close()
		}
		bg.Wait()
	}()
	for range cfg.Peers {
		p, err := net.ListenPacket("udp4", net.JoinHostPort(cfg.PeerIP, "0"))
		if err != nil {
			return nil, fmt.Errorf("turnload: echo peer: %w", err)
		}
		peers = append(peers, p)
		bg.Go(func() { echo(p) })
	}

	// Allocations, in parallel.
	res := &Result{Clients: cfg.Clients}
	clients := make([]*client, cfg.Clients)
	errs := make([]error, cfg.Clients)
	var wg sync.WaitGroup
	for i := range clients {
		wg.Go(func() {
			clients[i], errs[i] = allocate(cfg, i, peers[i%len(peers)].LocalAddr(), lf)
		})
	}
	wg.Wait()
	defer func() {
		for _, c := range clients {
			if c != nil {
				_ = c.relay.Close()
				c.tc.Close()
				_ = c.conn.Close()
			}
		}
	}()
	for i, err := range errs {
		if err != nil {
			if len(res.Errors) < 20 {
				res.Errors = append(res.Errors, fmt.Sprintf("client %d: %v", i, err))
			}
			continue
		}
		res.Allocated++
	}
	if res.Allocated == 0 {
		return res, errors.New("turnload: no client could allocate a relay")
	}

	// Load: every client sends at its rate and times the echoes.
	var st stats
	runCtx, cancel := context.WithTimeout(ctx, cfg.Duration)
	defer cancel()
	start := time.Now()
	var senders, receivers sync.WaitGroup
	for _, c := range clients {
		if c == nil {
			continue
		}
		receivers.Go(func() { receive(c.relay, &st) })
		senders.Go(func() { send(runCtx, c, cfg, &st) })
	}
	senders.Wait()
	res.Seconds = time.Since(start).Seconds()
	time.Sleep(500 * time.Millisecond) // the last echoes
	for _, c := range clients {
		if c != nil {
			_ = c.relay.SetReadDeadline(time.Now())
		}
	}
	receivers.Wait()
	res.Sent, res.Received = st.sent.Load(), st.received.Load()
	if res.Sent > 0 {
		res.LossPct = 100 * (1 - float64(res.Received)/float64(res.Sent))
	}
	res.RelayedPerSecond = 2 * float64(res.Received) / res.Seconds
	res.RTTMsP50, res.RTTMsP99 = st.quantile(0.5), st.quantile(0.99)
	res.RTTMsMax = float64(st.maxNs.Load()) / float64(time.Millisecond)
	return res, nil
}

func allocate(cfg Config, i int, peer net.Addr, lf logging.LoggerFactory) (*client, error) {
	conn, err := net.ListenPacket("udp4", "0.0.0.0:0")
	if err != nil {
		return nil, err
	}
	user, pass, err := cfg.Credentials(i)
	if err != nil {
		_ = conn.Close()
		return nil, fmt.Errorf("credentials: %w", err)
	}
	tc, err := turn.NewClient(&turn.ClientConfig{STUNServerAddr: cfg.Server, TURNServerAddr: cfg.Server,
		Username: user, Password: pass, Realm: cfg.Realm, Conn: conn, LoggerFactory: lf})
	if err != nil {
		_ = conn.Close()
		return nil, err
	}
	if err := tc.Listen(); err != nil {
		tc.Close()
		_ = conn.Close()
		return nil, err
	}
	relay, err := tc.Allocate()
	if err != nil {
		tc.Close()
		_ = conn.Close()
		return nil, fmt.Errorf("allocate: %w", err)
	}
	return &client{conn: conn, tc: tc, relay: relay, peer: peer}, nil
}

// echo sends every datagram back where it came from (the relay).
func echo(p net.PacketConn) {
	buf := make([]byte, 2048)
	for {
		n, from, err := p.ReadFrom(buf)
		if err != nil {
			return
		}
		_, _ = p.WriteTo(buf[:n], from)
	}
}

// send writes cfg.Rate datagrams a second through the relay to the peer,
// each carrying its sequence number and send time, until ctx ends.
func send(ctx context.Context, c *client, cfg Config, st *stats) {
	buf := make([]byte, cfg.Size)
	interval := time.Second / time.Duration(cfg.Rate)
	tick := time.NewTicker(max(interval, time.Millisecond))
	defer tick.Stop()
	start := time.Now()
	var seq uint64
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-tick.C:
			// Catch up to the schedule: a ticker slower than the rate, or
			// one that fell behind, sends several per tick.
			due := uint64(now.Sub(start) / interval)
			for ; seq < due; seq++ {
				binary.BigEndian.PutUint64(buf[0:8], seq)
				binary.BigEndian.PutUint64(buf[8:16], uint64(time.Now().UnixNano()))
				if _, err := c.relay.WriteTo(buf, c.peer); err == nil {
					st.sent.Add(1)
				}
			}
		}
	}
}

// receive reads the echoes and times them, until the relay closes or its
// read deadline passes.
func receive(relay net.PacketConn, st *stats) {
	buf := make([]byte, 2048)
	for {
		n, _, err := relay.ReadFrom(buf)
		if err != nil {
			return
		}
		if n < 16 {
			continue
		}
		sent := int64(binary.BigEndian.Uint64(buf[8:16]))
		st.received.Add(1)
		st.rtt(time.Duration(time.Now().UnixNano() - sent))
	}
}
