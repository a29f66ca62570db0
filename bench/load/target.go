package load

import (
	"bytes"
	"fmt"
	"net"
	"net/url"
)

// Target is the deployment under load.
type Target struct {
	// URL is the control plane endpoint, e.g. http://127.0.0.1:8080.
	URL string
	// AccessKeyID and SecretAccessKey sign control-plane calls (SigV4).
	AccessKeyID, SecretAccessKey string
	// Region is the MediaRegion of the meetings (default us-east-1).
	Region string
	// MetricsURL is the Prometheus endpoint sampled for server CPU and
	// memory; default URL + "/metrics". "-" turns sampling off.
	MetricsURL string
	// AllowRemote permits a target outside loopback.
	AllowRemote bool
	// SIP is the SIP gateway's UDP address (host:port) the phone callers
	// dial; default the URL's host, port 5060. SIPNumber is the number
	// they dial (default +17035550122, Confab's default dial-in number).
	SIP, SIPNumber string
	// SIPAppSecret, if set, is the secret the server signs SIP media
	// application invocations with (sip.application_secret): the PIN
	// flow's handler then refuses unsigned ones.
	SIPAppSecret string
	// Janus, if set, is a Janus server's HTTP API root (e.g.
	// http://127.0.0.1:8088/janus): the audio scenario runs against its
	// AudioBridge instead of Confab (runJanus). ServerPID is a local
	// server process whose CPU and memory are read from /proc (Janus has
	// no /metrics). LocalIP, if set, restricts the peers' ICE to that
	// address.
	Janus     string
	ServerPID int
	LocalIP   string
}

// check validates the target and refuses non-loopback hosts unless allowed.
func (t *Target) check() error {
	u, err := url.Parse(t.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("load: target %q is not an http(s) URL", t.URL)
	}
	if t.Janus != "" {
		if u, err = url.Parse(t.Janus); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("load: --janus %q is not an http(s) URL", t.Janus)
		}
	}
	if !t.AllowRemote {
		host := u.Hostname()
		ips, err := net.LookupIP(host)
		if err != nil || len(ips) == 0 {
			return fmt.Errorf("load: target host %q does not resolve: %v", host, err)
		}
		for _, ip := range ips {
			if !ip.IsLoopback() {
				return fmt.Errorf("load: target %s is not on loopback; pass --allow-remote to load it", t.URL)
			}
		}
	}
	if t.Janus == "" && (t.AccessKeyID == "" || t.SecretAccessKey == "") {
		return fmt.Errorf("load: target credentials are required")
	}
	if t.Region == "" {
		t.Region = "us-east-1"
	}
	if t.MetricsURL == "" {
		t.MetricsURL = t.URL + "/metrics"
	}
	if t.SIP == "" {
		t.SIP = net.JoinHostPort(u.Hostname(), "5060")
	}
	if t.SIPNumber == "" {
		t.SIPNumber = "+17035550122"
	}
	return nil
}

func bytesReader(b []byte) *bytes.Reader { return bytes.NewReader(b) }
