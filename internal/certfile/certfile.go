// Package certfile serves a TLS certificate from PEM files and picks up a
// renewed pair (certbot, cert-manager, a cron job) without a restart: the
// files' modification times are checked at most every CheckEvery, on a
// handshake, and a pair that fails to load keeps the previous one serving.
package certfile

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"
)

// CheckEvery bounds how often the files are looked at.
const CheckEvery = 30 * time.Second

// Reloader holds the current certificate of a cert/key file pair.
type Reloader struct {
	certFile, keyFile string
	log               *slog.Logger
	now               func() time.Time

	mu        sync.Mutex
	cert      *tls.Certificate
	certMod   time.Time
	keyMod    time.Time
	checkedAt time.Time
}

// New loads the pair; an error names the file that failed.
func New(certFile, keyFile string, log *slog.Logger, now func() time.Time) (*Reloader, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if now == nil {
		now = time.Now
	}
	r := &Reloader{certFile: certFile, keyFile: keyFile, log: log, now: now}
	if err := r.load(); err != nil {
		return nil, err
	}
	return r, nil
}

func (r *Reloader) load() error {
	cs, err := os.Stat(r.certFile)
	if err != nil {
		return fmt.Errorf("certificate %s: %w", r.certFile, err)
	}
	ks, err := os.Stat(r.keyFile)
	if err != nil {
		return fmt.Errorf("key %s: %w", r.keyFile, err)
	}
	c, err := tls.LoadX509KeyPair(r.certFile, r.keyFile)
	if err != nil {
		return fmt.Errorf("certificate %s / key %s: %w", r.certFile, r.keyFile, err)
	}
	r.cert, r.certMod, r.keyMod = &c, cs.ModTime(), ks.ModTime()
	return nil
}

// GetCertificate is a tls.Config.GetCertificate that reloads changed files.
func (r *Reloader) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if now := r.now(); now.Sub(r.checkedAt) >= CheckEvery {
		r.checkedAt = now
		cs, cerr := os.Stat(r.certFile)
		ks, kerr := os.Stat(r.keyFile)
		if cerr == nil && kerr == nil && (!cs.ModTime().Equal(r.certMod) || !ks.ModTime().Equal(r.keyMod)) {
			old := r.cert
			if err := r.load(); err != nil {
				r.cert = old
				r.log.Warn("certfile: the renewed certificate did not load; still serving the previous one", "err", err)
			} else {
				r.log.Info("certfile: certificate reloaded", "cert", r.certFile)
			}
		}
	}
	return r.cert, nil
}

// TLSConfig is a server tls.Config serving the pair (TLS 1.2 and later,
// HTTP/1.1 for the signaling WebSocket).
func (r *Reloader) TLSConfig() *tls.Config {
	return &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: r.GetCertificate, NextProtos: []string{"http/1.1"}}
}
