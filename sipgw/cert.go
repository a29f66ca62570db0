package sipgw

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"net"
	"time"
)

// tlsConfig loads CertFile/KeyFile, or generates a self-signed certificate
// in memory when both are empty. The generated certificate is for
// development only: phones cannot verify it, and it changes on every start.
func (g *Gateway) tlsConfig() (*tls.Config, error) {
	var cert tls.Certificate
	var err error
	if g.cfg.CertFile != "" {
		cert, err = tls.LoadX509KeyPair(g.cfg.CertFile, g.cfg.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("sipgw: load TLS certificate: %w", err)
		}
	} else {
		host, _, _ := net.SplitHostPort(g.cfg.ListenTLS)
		cert, err = selfSigned(host, g.cfg.PublicIP)
		if err != nil {
			return nil, fmt.Errorf("sipgw: self-signed certificate: %w", err)
		}
		g.log.Warn("sipgw: TLS uses a generated self-signed certificate (development only); set CertFile and KeyFile")
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}, nil
}

// selfSigned returns an ECDSA P-256 certificate valid for a day for
// localhost, the loopback addresses and the given hosts.
func selfSigned(hosts ...string) (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	if err != nil {
		return tls.Certificate{}, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: "confab sipgw (self-signed)"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil && !ip.IsUnspecified() {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else if h != "" && ip == nil {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
}
