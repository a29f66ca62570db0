package acmecert

import (
	"context"
	"crypto/tls"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/confab-media/confab/internal/testkit"
)

// TestObtainFromPebble: a certificate for confab.test is obtained from
// pebble (the ACME test CA) and served; a client trusting pebble's issuing
// root and asking for confab.test completes HTTPS/1.1 against the
// listener; a second Start on the same dir reuses what is stored.
func TestObtainFromPebble(t *testing.T) {
	pb := testkit.StartPebble(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	store := t.TempDir()
	cfg := Config{Domains: []string{"confab.test"}, CA: pb.DirectoryURL, CARoot: pb.APIRoot, Dir: store}
	m, err := Start(ctx, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", m.TLSConfig())
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok") })}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()

	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pb.IssuingRoots(t), ServerName: "confab.test"}, ForceAttemptHTTP2: true}}
	res, err := client.Get("https://" + ln.Addr().String() + "/")
	if err != nil {
		t.Fatalf("HTTPS with the ACME certificate: %v", err)
	}
	res.Body.Close()
	if res.TLS == nil || res.ProtoMajor != 1 || len(res.TLS.PeerCertificates) == 0 || res.TLS.PeerCertificates[0].DNSNames[0] != "confab.test" {
		t.Fatalf("served %s %+v", res.Proto, res.TLS)
	}
	m2, err := Start(ctx, cfg, nil)
	if err != nil {
		t.Fatalf("restart on the stored certificate: %v", err)
	}
	m2.Close()
}

func TestStartRefusesIncompleteConfig(t *testing.T) {
	if _, err := Start(context.Background(), Config{Dir: t.TempDir()}, nil); err == nil {
		t.Fatal("no domains accepted")
	}
}
