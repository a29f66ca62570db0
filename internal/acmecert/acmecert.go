// Package acmecert obtains and renews the HTTP listener's certificate from
// an ACME CA (RFC 8555; Let's Encrypt by default) with certmagic, answering
// the TLS-ALPN-01 challenge (RFC 8737) on the listener itself: the listener
// must be what the names resolve to, on port 443. Certificates and the
// account key are kept under Config.Dir and renewed in the background.
package acmecert

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/caddyserver/certmagic"
	"go.uber.org/zap"
)

// LetsEncrypt is the default CA directory.
const LetsEncrypt = certmagic.LetsEncryptProductionCA

// Config says what to obtain and from where.
type Config struct {
	Domains []string // the names the certificate covers; required
	Email   string   // the ACME account's contact (optional)
	CA      string   // the CA's directory URL; "" is Let's Encrypt
	// CARoot is a PEM file of roots to trust for the CA's own HTTPS API
	// (a private CA such as pebble or step-ca); "" trusts the system's.
	CARoot string
	Dir    string // where certificates and keys are kept; required
}

// Manager holds the certificates; Close stops its renewal goroutine.
type Manager struct {
	cache *certmagic.Cache
	magic *certmagic.Config
}

// Start obtains (or loads) the certificates, waiting until they are
// ready or ctx ends, and keeps them renewed.
func Start(ctx context.Context, cfg Config, log *slog.Logger) (*Manager, error) {
	if len(cfg.Domains) == 0 || cfg.Dir == "" {
		return nil, errors.New("acmecert: domains and dir are required")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	var roots *x509.CertPool
	if cfg.CARoot != "" {
		pem, err := os.ReadFile(cfg.CARoot)
		if err != nil {
			return nil, fmt.Errorf("acmecert: ca_root: %w", err)
		}
		roots = x509.NewCertPool()
		if !roots.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("acmecert: ca_root %s holds no PEM certificate", cfg.CARoot)
		}
	}
	if cfg.CA == "" {
		cfg.CA = LetsEncrypt
	}
	m := &Manager{}
	m.cache = certmagic.NewCache(certmagic.CacheOptions{
		GetConfigForCert: func(certmagic.Certificate) (*certmagic.Config, error) { return m.magic, nil },
		Logger:           zap.NewNop(),
	})
	m.magic = certmagic.New(m.cache, certmagic.Config{
		Storage: &certmagic.FileStorage{Path: cfg.Dir},
		Logger:  zap.NewNop(),
		OnEvent: func(_ context.Context, event string, data map[string]any) error {
			switch event {
			case "cert_obtained", "cert_failed":
				log.Info("acme: "+event, "identifier", data["identifier"], "renewal", data["renewal"])
			}
			return nil
		},
	})
	m.magic.Issuers = []certmagic.Issuer{certmagic.NewACMEIssuer(m.magic, certmagic.ACMEIssuer{
		CA: cfg.CA, Email: cfg.Email, Agreed: true, TrustedRoots: roots,
		DisableHTTPChallenge: true, // no port-80 listener: TLS-ALPN-01 on this one
		Logger:               zap.NewNop(),
	})}
	// Async management never prompts on the terminal (the sync form asks
	// for an email when none is configured); wait for the certificates.
	if err := m.magic.ManageAsync(ctx, cfg.Domains); err != nil {
		m.cache.Stop()
		return nil, fmt.Errorf("acmecert: managing %v: %w", cfg.Domains, err)
	}
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for !m.ready(cfg.Domains) {
		select {
		case <-ctx.Done():
			m.cache.Stop()
			return nil, fmt.Errorf("acmecert: no certificate for %v from %s in time (is this listener port 443 of those names?): %w",
				cfg.Domains, cfg.CA, ctx.Err())
		case <-tick.C:
		}
	}
	log.Info("acme: certificates ready", "domains", cfg.Domains, "ca", cfg.CA)
	return m, nil
}

// ready reports whether every domain has a certificate in the cache.
func (m *Manager) ready(domains []string) bool {
	for _, d := range domains {
		if len(m.cache.AllMatchingCertificates(d)) == 0 {
			return false
		}
	}
	return true
}

// TLSConfig serves the managed certificates and answers TLS-ALPN-01.
func (m *Manager) TLSConfig() *tls.Config {
	c := m.magic.TLSConfig()
	c.MinVersion = tls.VersionTLS12
	// HTTP/1.1 (the server does not speak h2 on this listener; the
	// signaling WebSocket needs HTTP/1.1) and the ACME challenge protocol.
	protos := []string{"http/1.1"}
	for _, p := range c.NextProtos {
		if p != "h2" && p != "http/1.1" {
			protos = append(protos, p)
		}
	}
	c.NextProtos = protos
	return c
}

// Close stops renewing.
func (m *Manager) Close() { m.cache.Stop() }
