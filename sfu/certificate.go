package sfu

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"sync"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/confab-media/confab/internal/clock"
)

// The shared DTLS certificate lasts certValidity and is replaced
// certRenewBefore its expiry.
const (
	certValidity    = 30 * 24 * time.Hour
	certRenewBefore = 7 * 24 * time.Hour
)

// dtlsCertificate is the DTLS certificate every PeerConnection of a Server
// presents (RFC 8827 §6.5 lets an endpoint reuse one across sessions; the
// SDP fingerprint binds it). Without it pion generates an ECDSA key and a
// self-signed certificate for each PeerConnection, on the join path and
// under the Server's lock. A new one is made when the current one is
// within certRenewBefore of expiring; peers keep the one they started with.
type dtlsCertificate struct {
	clock clock.Clock

	mu   sync.Mutex
	cert *webrtc.Certificate
}

func newDTLSCertificate(clk clock.Clock) *dtlsCertificate {
	return &dtlsCertificate{clock: clk}
}

// get returns the current certificate, generating it on first use and
// after it came within certRenewBefore of its expiry.
func (c *dtlsCertificate) get() (webrtc.Certificate, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cert == nil || c.clock.Now().Add(certRenewBefore).After(c.cert.Expires()) {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return webrtc.Certificate{}, fmt.Errorf("sfu: DTLS key: %w", err)
		}
		serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
		if err != nil {
			return webrtc.Certificate{}, fmt.Errorf("sfu: DTLS certificate serial: %w", err)
		}
		now := c.clock.Now()
		cert, err := webrtc.NewCertificate(key, x509.Certificate{
			SerialNumber: serial,
			Subject:      pkix.Name{CommonName: "confab"},
			Issuer:       pkix.Name{CommonName: "confab"},
			NotBefore:    now.Add(-24 * time.Hour), // peers with a clock a little behind
			NotAfter:     now.Add(certValidity),
		})
		if err != nil {
			return webrtc.Certificate{}, fmt.Errorf("sfu: DTLS certificate: %w", err)
		}
		c.cert = cert
	}
	return *c.cert, nil
}
