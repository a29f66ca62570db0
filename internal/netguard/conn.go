package netguard

import (
	"net"
	"net/netip"
	"sync"
	"time"
)

// conn enforces the first-message deadline, the idle timeout and the write
// deadline, and gives its slot back on Close. A deadline its user sets is
// kept when it is sooner than the guard's.
type conn struct {
	net.Conn
	l     *Listener
	ip    netip.Addr
	first time.Time // deadline for the first message

	mu          sync.Mutex // guards got, established and the user's deadlines
	got         int
	established bool
	userRead    time.Time
	userWrite   time.Time

	closeOnce sync.Once
}

func newConn(c net.Conn, l *Listener, ip netip.Addr) *conn {
	gc := &conn{Conn: c, l: l, ip: ip, first: l.p.Now().Add(l.cfg.FirstMessage)}
	_ = c.SetReadDeadline(gc.first) // also bounds a handshake read by the user
	return gc
}

func (c *conn) Read(b []byte) (int, error) {
	c.mu.Lock()
	d := c.first
	if c.established {
		d = c.l.p.Now().Add(c.l.cfg.Idle)
	}
	d = sooner(d, c.userRead)
	c.mu.Unlock()
	if err := c.Conn.SetReadDeadline(d); err != nil {
		return 0, err
	}
	n, err := c.Conn.Read(b)
	if n > 0 {
		c.mu.Lock()
		if !c.established {
			c.got += n
			c.established = c.got >= c.l.cfg.MinFirstBytes
		}
		c.mu.Unlock()
	}
	return n, err
}

func (c *conn) Write(b []byte) (int, error) {
	c.mu.Lock()
	d := sooner(c.l.p.Now().Add(c.l.cfg.Write), c.userWrite)
	c.mu.Unlock()
	if err := c.Conn.SetWriteDeadline(d); err != nil {
		return 0, err
	}
	return c.Conn.Write(b)
}

func (c *conn) SetDeadline(t time.Time) error {
	c.mu.Lock()
	c.userRead, c.userWrite = t, t
	c.mu.Unlock()
	return c.Conn.SetDeadline(t)
}

func (c *conn) SetReadDeadline(t time.Time) error {
	c.mu.Lock()
	c.userRead = t
	c.mu.Unlock()
	return c.Conn.SetReadDeadline(t)
}

func (c *conn) SetWriteDeadline(t time.Time) error {
	c.mu.Lock()
	c.userWrite = t
	c.mu.Unlock()
	return c.Conn.SetWriteDeadline(t)
}

func (c *conn) Close() error {
	err := c.Conn.Close()
	c.closeOnce.Do(func() { c.l.release(c.ip) })
	return err
}

// sooner is the earlier of two deadlines, a zero user deadline meaning none.
func sooner(guard, user time.Time) time.Time {
	if !user.IsZero() && user.Before(guard) {
		return user
	}
	return guard
}
