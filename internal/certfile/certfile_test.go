package certfile

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// writePair writes a self-signed certificate for cn and its key.
func writePair(t *testing.T, dir, cn string) (string, string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := x509.MarshalECPrivateKey(key)
	cert, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(cert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600); err != nil {
		t.Fatal(err)
	}
	return cert, keyFile
}

func commonName(t *testing.T, r *Reloader) string {
	t.Helper()
	c, err := r.GetCertificate(nil)
	if err != nil {
		t.Fatal(err)
	}
	x, err := x509.ParseCertificate(c.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	return x.Subject.CommonName
}

// TestReload: a renewed pair is served after the check interval; a broken
// one keeps the previous; a missing file fails New naming it.
func TestReload(t *testing.T) {
	dir := t.TempDir()
	cert, key := writePair(t, dir, "first")
	now := time.Unix(1_800_000_000, 0)
	r, err := New(cert, key, nil, func() time.Time { return now })
	if err != nil {
		t.Fatal(err)
	}
	if cn := commonName(t, r); cn != "first" {
		t.Fatalf("serving %q", cn)
	}
	writePair(t, dir, "second")
	later := time.Now().Add(time.Minute)
	_ = os.Chtimes(cert, later, later)
	if cn := commonName(t, r); cn != "first" {
		t.Fatalf("reloaded before the check interval: %q", cn)
	}
	now = now.Add(CheckEvery)
	if cn := commonName(t, r); cn != "second" {
		t.Fatalf("after renewal: %q", cn)
	}
	if err := os.WriteFile(key, []byte("not a key"), 0o600); err != nil {
		t.Fatal(err)
	}
	_ = os.Chtimes(key, later.Add(time.Minute), later.Add(time.Minute))
	now = now.Add(CheckEvery)
	if cn := commonName(t, r); cn != "second" {
		t.Fatalf("a broken renewal replaced the certificate: %q", cn)
	}
	if _, err := New(filepath.Join(dir, "missing.pem"), key, nil, nil); err == nil {
		t.Fatal("a missing certificate file loaded")
	}
}
