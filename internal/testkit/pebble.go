package testkit

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// Pebble is letsencrypt/pebble, the ACME test CA, running on 127.0.0.1.
type Pebble struct {
	// DirectoryURL is the ACME directory.
	DirectoryURL string
	// APIRoot is a PEM file of the root the CA's own HTTPS API chains to
	// (a client of DirectoryURL must trust it).
	APIRoot string
	mgmtURL string
}

// StartPebble runs pebble (installed with go install) with challenge
// validation off (PEBBLE_VA_ALWAYS_VALID: nothing here resolves public
// names) and stops it when tb ends.
func StartPebble(tb testing.TB) *Pebble {
	tb.Helper()
	bin := GoInstalled(tb, "github.com/letsencrypt/pebble/v2/cmd/pebble", "v2.10.3", "pebble")
	dir := tb.TempDir()
	cert, key := SelfSignedFiles(tb, dir, "127.0.0.1")
	port, mgmt := freeTCPPort(tb), freeTCPPort(tb)
	conf, _ := json.Marshal(map[string]any{"pebble": map[string]any{
		"listenAddress": fmt.Sprintf("127.0.0.1:%d", port), "managementListenAddress": fmt.Sprintf("127.0.0.1:%d", mgmt),
		"certificate": cert, "privateKey": key, "httpPort": freeTCPPort(tb), "tlsPort": freeTCPPort(tb),
		"ocspResponderURL": "", "externalAccountBindingRequired": false,
	}})
	cfgFile := filepath.Join(dir, "pebble.json")
	if err := os.WriteFile(cfgFile, conf, 0o600); err != nil {
		tb.Fatal(err)
	}
	cmd := exec.Command(bin, "-config", cfgFile)
	cmd.Env = append(os.Environ(), "PEBBLE_VA_ALWAYS_VALID=1", "PEBBLE_VA_NOSLEEP=1", "PEBBLE_WFE_NONCEREJECT=0")
	var out syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	p := &Pebble{DirectoryURL: fmt.Sprintf("https://127.0.0.1:%d/dir", port), APIRoot: cert, mgmtURL: fmt.Sprintf("https://127.0.0.1:%d", mgmt)}
	client := ClientTrusting(tb, cert)
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := client.Get(p.DirectoryURL)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return p
			}
		}
		if time.Now().After(deadline) {
			tb.Fatalf("pebble did not start: %v\n%s", err, out.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// IssuingRoots returns a pool of the root pebble's certificates chain to.
func (p *Pebble) IssuingRoots(tb testing.TB) *x509.CertPool {
	tb.Helper()
	resp, err := ClientTrusting(tb, p.APIRoot).Get(p.mgmtURL + "/roots/0")
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	root, _ := io.ReadAll(resp.Body)
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(root) {
		tb.Fatalf("pebble root: %s", root)
	}
	return pool
}

// SelfSignedFiles writes a self-signed server certificate for hosts (IPs
// or names) and its key into dir, returning their paths.
func SelfSignedFiles(tb testing.TB, dir string, hosts ...string) (certFile, keyFile string) {
	tb.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: "confab test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		tb.Fatal(err)
	}
	kb, _ := x509.MarshalECPrivateKey(key)
	name := strings.NewReplacer(".", "_", ":", "_").Replace(strings.Join(hosts, "-"))
	certFile, keyFile = filepath.Join(dir, name+"-cert.pem"), filepath.Join(dir, name+"-key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600); err != nil {
		tb.Fatal(err)
	}
	return certFile, keyFile
}

// ClientTrusting is an HTTP client trusting only the roots in pemFile.
func ClientTrusting(tb testing.TB, pemFile string) *http.Client {
	tb.Helper()
	b, err := os.ReadFile(pemFile)
	if err != nil {
		tb.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(b)
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
}

func freeTCPPort(tb testing.TB) int {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// syncBuffer collects a child's output for a failure message.
type syncBuffer struct {
	mu  sync.Mutex
	buf strings.Builder
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
