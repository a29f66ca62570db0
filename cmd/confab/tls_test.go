package main

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
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

	"github.com/confab-media/confab/internal/testkit"
	"github.com/confab-media/confab/signaling/sigv4"
)

// TestHTTPSServe: with http.cert_file/key_file, confab serve speaks HTTPS on
// its listen address: a signed CreateMeeting goes over it, the
// placement's URLs are https:// and wss://, and plain HTTP is refused.
// (The request is signed by hand: aws-sdk-go v1 ignored the client's CA pool.)
func TestHTTPSServe(t *testing.T) {
	dir := t.TempDir()
	cert, key := testkit.SelfSignedFiles(t, dir, "127.0.0.1")
	port := freePort(t)
	endpoint := fmt.Sprintf("https://127.0.0.1:%d", port)
	cmd, logBuf := startServe(t, port, "CONFAB_HTTP_CERT_FILE="+cert, "CONFAB_HTTP_KEY_FILE="+key)
	client := testkit.ClientTrusting(t, cert)
	waitHTTPS(t, client, endpoint, cmd, logBuf)
	sig, turnControl := createOverHTTPS(t, client, endpoint)
	if !strings.HasPrefix(sig, fmt.Sprintf("wss://127.0.0.1:%d/", port)) || !strings.HasPrefix(turnControl, "https://") {
		t.Errorf("over HTTPS: SignalingUrl %q, TurnControlUrl %q", sig, turnControl)
	}
	plain, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/healthz", port))
	if err == nil {
		plain.Body.Close()
		if plain.StatusCode == 200 {
			t.Error("plain HTTP answered 200 on the HTTPS port")
		}
	}
}

// TestACMEServe: with http.acme.domains, confab serve obtains its
// certificate from an ACME CA (pebble here, validation off) before serving:
// a client trusting the CA's root and asking for the name gets HTTPS, and
// the placement's URLs carry the name.
func TestACMEServe(t *testing.T) {
	pb := testkit.StartPebble(t)
	port := freePort(t)
	cmd, logBuf := startServe(t, port, "CONFAB_HTTP_ACME_DOMAINS=confab.test", "CONFAB_HTTP_ACME_CA="+pb.DirectoryURL,
		"CONFAB_HTTP_ACME_CA_ROOT="+pb.APIRoot)
	// The name resolves nowhere here: dial the listener, ask for the name.
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pb.IssuingRoots(t), ServerName: "confab.test"},
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, fmt.Sprintf("127.0.0.1:%d", port))
		},
	}}
	endpoint := fmt.Sprintf("https://confab.test:%d", port)
	waitHTTPS(t, client, endpoint, cmd, logBuf)
	if sig, _ := createOverHTTPS(t, client, endpoint); !strings.HasPrefix(sig, fmt.Sprintf("wss://confab.test:%d/", port)) {
		t.Errorf("SignalingUrl %q with ACME", sig)
	}
	if !strings.Contains(logBuf.String(), "acme: certificates ready") {
		t.Errorf("no certificate log line")
	}
}

// startServe runs confab serve on 127.0.0.1:port with a fresh data dir,
// no SIP and env added (TLS settings); it is stopped when t ends.
func startServe(t *testing.T, port int, env ...string) (*exec.Cmd, *syncWriter) {
	t.Helper()
	cmd := exec.Command(confabBin, "serve", "--listen", fmt.Sprintf("127.0.0.1:%d", port), "--data-dir", filepath.Join(t.TempDir(), "data"))
	cmd.Env = append(append(os.Environ(), "CONFAB_TURN_LISTEN_UDP=127.0.0.1:0", "CONFAB_SIP_ENABLED=false",
		"CONFAB_ACCESS_KEY_ID="+testKeyID, "CONFAB_SECRET_ACCESS_KEY="+testSecret), env...)
	logBuf := &syncWriter{w: &strings.Builder{}}
	cmd.Stderr = logBuf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
	})
	return cmd, logBuf
}

// waitHTTPS waits for /healthz over client, failing with the server's log.
func waitHTTPS(t *testing.T, client *http.Client, endpoint string, cmd *exec.Cmd, log *syncWriter) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := client.Get(endpoint + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		if cmd.ProcessState != nil || time.Now().After(deadline) {
			t.Fatalf("no HTTPS health: %v\n%s", err, log.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// createOverHTTPS signs a CreateMeeting by hand (aws-sdk-go v1 ignores a
// client's CA pool) and returns the placement's SignalingUrl and
// TurnControlUrl.
func createOverHTTPS(t *testing.T, client *http.Client, endpoint string) (signaling, turnControl string) {
	t.Helper()
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
	defer resp.Body.Close()
	var out struct {
		Meeting struct {
			MediaPlacement struct{ SignalingUrl, TurnControlUrl string }
		}
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != 200 {
		t.Fatalf("CreateMeeting over HTTPS: %d %v", resp.StatusCode, err)
	}
	return out.Meeting.MediaPlacement.SignalingUrl, out.Meeting.MediaPlacement.TurnControlUrl
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

func (s *syncWriter) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.String()
}
