package config

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
)

// fakeNet is a host with a default route via route and local addresses.
type fakeNet struct {
	route netip.Addr
	local []netip.Addr
}

func (f fakeNet) DefaultRouteIP() (netip.Addr, error) {
	if !f.route.IsValid() {
		return netip.Addr{}, errors.New("no route")
	}
	return f.route, nil
}

func (f fakeNet) IsLocal(ip netip.Addr) bool {
	for _, a := range f.local {
		if a == ip {
			return true
		}
	}
	return false
}

func envOf(kv ...string) func(string) string {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return func(k string) string { return m[k] }
}

// TestPublicIPFillsAddresses: one setting fills the public URL (listen
// port), media, TURN and SIP addresses; relay_ip only when the address is
// local; explicit keys win.
func TestPublicIPFillsAddresses(t *testing.T) {
	nat := fakeNet{}
	c, err := load([]string{"--public-ip", "203.0.113.7", "--listen", "0.0.0.0:8080"}, nil, nat)
	if err != nil {
		t.Fatal(err)
	}
	if c.HTTP.PublicURL != "http://203.0.113.7:8080" || len(c.Media.PublicIPs) != 1 || c.Media.PublicIPs[0] != "203.0.113.7" ||
		c.TURN.PublicHost != "203.0.113.7" || c.SIP.PublicIP != "203.0.113.7" || c.TURN.RelayIP != "" {
		t.Fatalf("behind NAT: url %s media %v turn %s/%q sip %s", c.HTTP.PublicURL, c.Media.PublicIPs, c.TURN.PublicHost, c.TURN.RelayIP, c.SIP.PublicIP)
	}
	onHost := fakeNet{local: []netip.Addr{netip.MustParseAddr("203.0.113.7")}}
	c, err = load(nil, envOf("CONFAB_PUBLIC_IP", "203.0.113.7", "CONFAB_PUBLIC_URL", "https://meet.example.com",
		"CONFAB_TURN_PUBLIC_HOST", "turn.example.com"), onHost)
	if err != nil {
		t.Fatal(err)
	}
	if c.TURN.RelayIP != "203.0.113.7" || c.HTTP.PublicURL != "https://meet.example.com" || c.TURN.PublicHost != "turn.example.com" {
		t.Fatalf("on the host: relay %q url %s turn host %s", c.TURN.RelayIP, c.HTTP.PublicURL, c.TURN.PublicHost)
	}
	c, err = load([]string{"--public-ip", "auto", "--listen", "0.0.0.0:9000"}, nil, fakeNet{route: netip.MustParseAddr("10.0.0.5")})
	if err != nil || c.PublicIP != "10.0.0.5" || c.HTTP.PublicURL != "http://10.0.0.5:9000" {
		t.Fatalf("auto: %v, public_ip %q url %s", err, c.PublicIP, c.HTTP.PublicURL)
	}
	if _, err := load([]string{"--public-ip", "auto"}, nil, fakeNet{}); err == nil || !strings.Contains(err.Error(), "public_ip") {
		t.Fatalf("auto without a route: %v", err)
	}
}

// TestRefusesWhatCannotWork: each names its key.
func TestRefusesWhatCannotWork(t *testing.T) {
	for _, c := range []struct {
		name string
		args []string
		env  []string
		key  string
	}{
		{"public URL on a wildcard", []string{"--listen", "0.0.0.0:8080"}, nil, "http.public_url"},
		{"public_ip not an IP", []string{"--public-ip", "meet.example.com"}, nil, "public_ip"},
		{"wildcard relay ip", nil, []string{"CONFAB_CONFIG_BODY", "turn:\n  relay_ip: 0.0.0.0\n"}, "turn.relay_ip"},
		{"http and sip tcp on one port", []string{"--listen", "127.0.0.1:5060"}, nil, "sip.listen_tcp"},
		{"media and turn on one udp port", nil, []string{"CONFAB_MEDIA_UDP_LISTEN", "0.0.0.0:3478"}, "turn.listen_udp"},
		{"sip and turn on one udp port", nil, []string{"CONFAB_SIP_LISTEN_UDP", "0.0.0.0:3478"}, "sip.listen_udp"},
		{"overlapping ranges", nil, []string{"CONFAB_CONFIG_BODY", "sip:\n  rtp_port_min: 50000\n  rtp_port_max: 50100\n"}, "sip.rtp_port_min–max"},
	} {
		_, err := load(c.args, envOf(c.env...), fakeNet{})
		if err == nil || !strings.Contains(err.Error(), c.key) {
			t.Errorf("%s: %v, want an error naming %s", c.name, err, c.key)
		}
	}
	// Different hosts on one port do not collide.
	if _, err := load(nil, envOf("CONFAB_SIP_LISTEN_UDP", "127.0.0.2:3478"), fakeNet{}); err != nil {
		t.Errorf("udp 3478 on two loopback addresses: %v", err)
	}
}

func TestConfigBody(t *testing.T) {
	c, err := load(nil, envOf("CONFAB_CONFIG_BODY", "account_id: \"123456789012\"\nsip:\n  enabled: false\n"), fakeNet{})
	if err != nil || c.AccountID != "123456789012" || c.SIP.Enabled {
		t.Fatalf("body: %v %+v", err, c.AccountID)
	}
	if _, err := load(nil, envOf("CONFAB_CONFIG_BODY", "nonsense_key: 1\n"), fakeNet{}); err == nil || !strings.Contains(err.Error(), "nonsense_key") {
		t.Fatalf("unknown key in the body: %v", err)
	}
	if _, err := load([]string{"--config", "/nonexistent.yaml"}, envOf("CONFAB_CONFIG_BODY", "log:\n  level: info\n"), fakeNet{}); err == nil ||
		!strings.Contains(err.Error(), "CONFAB_CONFIG_BODY") {
		t.Fatalf("file and body together: %v", err)
	}
}

// TestAutomaticEnvironment: every scalar key and string list has a
// variable named after its path; bad values name the variable and key.
func TestAutomaticEnvironment(t *testing.T) {
	c, err := load(nil, envOf(
		"CONFAB_TURN_RELAY_PORT_MIN", "40000", "CONFAB_TURN_RELAY_PORT_MAX", "40999",
		"CONFAB_SIP_RTP_TIMEOUT", "45s", "CONFAB_MEDIA_TOP_TALKERS", "5",
		"CONFAB_TURN_ALLOWED_PEERS", "203.0.113.7, 198.51.100.0/24",
		"CONFAB_DEMO_ENABLED", "false", "CONFAB_HTTP_PUBLIC_URL", "https://meet.example.com",
		"CONFAB_NOTIFICATIONS_LIMITS_TARGET_EVENTS", "500",
	), fakeNet{})
	if err != nil {
		t.Fatal(err)
	}
	if c.TURN.RelayPortMin != 40000 || c.TURN.RelayPortMax != 40999 || c.SIP.RTPTimeout.Std().Seconds() != 45 ||
		c.Media.TopTalkers != 5 || len(c.TURN.AllowedPeers) != 2 || c.TURN.AllowedPeers[1] != "198.51.100.0/24" ||
		c.Demo.Enabled == nil || *c.Demo.Enabled || c.HTTP.PublicURL != "https://meet.example.com" ||
		c.Notifications.Limits.TargetEvents != 500 {
		t.Fatalf("automatic env not applied: %+v %+v %+v", c.TURN, c.SIP.RTPTimeout, c.Demo)
	}
	for env, want := range map[string]string{
		"CONFAB_TURN_RELAY_PORT_MIN": "turn.relay_port_min",
		"CONFAB_SIP_RTP_TIMEOUT":     "sip.rtp_timeout",
		"CONFAB_CREDENTIALS":         "credentials",
	} {
		_, err := load(nil, envOf(env, "not a number: x"), fakeNet{})
		if err == nil || !strings.Contains(err.Error(), env) || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v", env, err)
		}
	}
}

// TestDidYouMean: a mistyped flag or key names the one meant.
func TestDidYouMean(t *testing.T) {
	_, err := load([]string{"--listn", "127.0.0.1:9"}, nil, fakeNet{})
	if err == nil || !strings.Contains(err.Error(), "did you mean --listen?") {
		t.Errorf("mistyped flag: %v", err)
	}
	_, err = load(nil, envOf("CONFAB_CONFIG_BODY", "turn:\n  relay_port_mn: 40000\n"), fakeNet{})
	if err == nil || !strings.Contains(err.Error(), `turn.relay_port_mn: unknown key (did you mean "relay_port_min"?)`) {
		t.Errorf("mistyped key: %v", err)
	}
	_, err = load(nil, envOf("CONFAB_CONFIG_BODY", "zzzqqq: 1\n"), fakeNet{})
	if err == nil || strings.Contains(err.Error(), "did you mean") {
		t.Errorf("a key like nothing should get no suggestion: %v", err)
	}
}

// TestTLSSettings: a certificate or ACME names make the public URL https;
// the two sources are exclusive; bad ACME values name their key.
func TestTLSSettings(t *testing.T) {
	c, err := load(nil, envOf("CONFAB_HTTP_CERT_FILE", "/etc/confab/cert.pem", "CONFAB_HTTP_KEY_FILE", "/etc/confab/key.pem"), fakeNet{})
	if err != nil || c.HTTP.PublicURL != "https://127.0.0.1:8080" {
		t.Fatalf("cert files: %v, public url %s", err, c.HTTP.PublicURL)
	}
	c, err = load([]string{"--listen", "0.0.0.0:443"}, envOf("CONFAB_HTTP_ACME_DOMAINS", "meet.example.com,www.meet.example.com",
		"CONFAB_HTTP_ACME_EMAIL", "ops@example.com"), fakeNet{})
	if err != nil || c.HTTP.PublicURL != "https://meet.example.com" || len(c.HTTP.ACME.Domains) != 2 {
		t.Fatalf("acme: %v, public url %s, domains %v", err, c.HTTP.PublicURL, c.HTTP.ACME.Domains)
	}
	for _, tc := range []struct {
		env []string
		key string
	}{
		{[]string{"CONFAB_HTTP_CERT_FILE", "/c.pem"}, "http.cert_file"},
		{[]string{"CONFAB_HTTP_ACME_DOMAINS", "meet.example.com", "CONFAB_HTTP_CERT_FILE", "/c.pem", "CONFAB_HTTP_KEY_FILE", "/k.pem"}, "http.acme.domains"},
		{[]string{"CONFAB_HTTP_ACME_DOMAINS", "203.0.113.7"}, "http.acme.domains[0]"},
		{[]string{"CONFAB_HTTP_ACME_DOMAINS", "meet.example.com", "CONFAB_HTTP_ACME_CA", "http://ca.example.com/dir"}, "http.acme.ca"},
	} {
		if _, err := load(nil, envOf(tc.env...), fakeNet{}); err == nil || !strings.Contains(err.Error(), tc.key) {
			t.Errorf("%v: %v, want an error naming %s", tc.env, err, tc.key)
		}
	}
}
