package main

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
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/confab-media/confab/signaling/sigv4"
)

// selfSigned writes a certificate for 127.0.0.1 and its key into dir and
// returns their paths and a pool trusting it.
func selfSigned(t *testing.T, dir string) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "confab test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, IsCA: true, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := x509.MarshalECPrivateKey(key)
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	_ = os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	_ = os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600)
	c, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(c)
	return certFile, keyFile, pool
}

// TestHTTPSServe: with http.cert_file/key_file, confab serve speaks HTTPS on
// its listen address: a signed CreateMeeting goes over it, the
// placement's URLs are https:// and wss://, and plain HTTP is refused.
// (The request is signed by hand: aws-sdk-go v1 ignored the client's CA pool.)
func TestHTTPSServe(t *testing.T) {
	dir := t.TempDir()
	cert, key, pool := selfSigned(t, dir)
	port := freePort(t)
	endpoint := fmt.Sprintf("https://127.0.0.1:%d", port)
	cmd := exec.Command(confabBin, "serve", "--listen", fmt.Sprintf("127.0.0.1:%d", port), "--data-dir", filepath.Join(dir, "data"))
	cmd.Env = append(os.Environ(), "CONFAB_HTTP_CERT_FILE="+cert, "CONFAB_HTTP_KEY_FILE="+key,
		"CONFAB_TURN_LISTEN_UDP=127.0.0.1:0", "CONFAB_SIP_ENABLED=false",
		"CONFAB_ACCESS_KEY_ID="+testKeyID, "CONFAB_SECRET_ACCESS_KEY="+testSecret)
	var logBuf strings.Builder
	cmd.Stderr = &syncWriter{w: &logBuf}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
	}()
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := client.Get(endpoint + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no HTTPS health: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	body := `{"ClientRequestToken":"tls-1","MediaRegion":"us-east-1","ExternalMeetingId":"tls"}`
	req, _ := http.NewRequest(http.MethodPost, endpoint+"/meetings", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if err := sigv4.Sign(req, []byte(body), sigv4.Credentials{AccessKeyID: testKeyID, SecretAccessKey: testSecret}, "us-east-1", "chime", time.Now()); err != nil {
		t.Fatal(err)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var out struct {
		Meeting struct {
			MediaPlacement struct{ SignalingUrl, TurnControlUrl string }
		}
	}
	_ = json.NewDecoder(resp.Body).Decode(&out)
	resp.Body.Close()
	if sig := out.Meeting.MediaPlacement.SignalingUrl; resp.StatusCode != 200 || !strings.HasPrefix(sig, fmt.Sprintf("wss://127.0.0.1:%d/", port)) {
		t.Errorf("CreateMeeting over HTTPS: %d, SignalingUrl %q", resp.StatusCode, sig)
	}
	if tc := out.Meeting.MediaPlacement.TurnControlUrl; !strings.HasPrefix(tc, "https://") {
		t.Errorf("TurnControlUrl %q over HTTPS", tc)
	}
	plain, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/healthz", port))
	if err == nil {
		plain.Body.Close()
		if plain.StatusCode == 200 {
			t.Error("plain HTTP answered 200 on the HTTPS port")
		}
	}
}

// syncWriter serialises writes of the child's stderr with reads.
type syncWriter struct {
	mu sync.Mutex
	w  *strings.Builder
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}
