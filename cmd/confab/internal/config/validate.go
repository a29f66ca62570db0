package config

import (
	"errors"
	"fmt"
	"math"
	"net"
	"net/netip"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/confab-media/confab/sma"
	"github.com/confab-media/confab/turn"
)

// Validate checks every rule documented on the Config fields and returns all
// violations joined with errors.Join (nil if there are none). Each one is a
// *FieldError naming its key. Validate does not normalize: call Normalize
// first on a Config not produced by Load (an empty PublicURL, for one, is
// reported as missing).
func (c Config) Validate() error {
	var v validator

	// http
	if err := checkListen(c.HTTP.Listen); err != "" {
		v.add("http.listen", "%s", err)
	}
	if err := checkPublicURL(c.HTTP.PublicURL); err != "" {
		v.add("http.public_url", "%s", err)
	} else if u, _ := url.Parse(c.HTTP.PublicURL); u != nil {
		if ip, err := netip.ParseAddr(u.Hostname()); err == nil && ip.IsUnspecified() {
			v.add("http.public_url", "host %s is not an address clients can reach: set public_ip (or http.public_url)", u.Hostname())
		}
	}
	if c.HTTP.MetricsListen != "" {
		if err := checkListen(c.HTTP.MetricsListen); err != "" {
			v.add("http.metrics_listen", "%s", err)
		}
	}
	if (c.HTTP.CertFile == "") != (c.HTTP.KeyFile == "") {
		v.add("http.cert_file", "cert_file and key_file go together")
	}
	if len(c.HTTP.ACME.Domains) > 0 && c.HTTP.CertFile != "" {
		v.add("http.acme.domains", "ACME and http.cert_file are exclusive: choose one source of certificates")
	}
	for i, d := range c.HTTP.ACME.Domains {
		if d == "" || strings.ContainsAny(d, "/:@ ") || net.ParseIP(d) != nil {
			v.add(fmt.Sprintf("http.acme.domains[%d]", i), "must be a DNS name (got %q)", d)
		}
	}
	if ca := c.HTTP.ACME.CA; ca != "" && !strings.HasPrefix(ca, "https://") {
		v.add("http.acme.ca", "must be an https:// ACME directory URL (got %q)", ca)
	}
	if c.PublicIP != "" {
		if ip, err := netip.ParseAddr(c.PublicIP); err != nil || ip.IsUnspecified() || ip.IsMulticast() {
			v.add("public_ip", "must be this node's IP address as clients reach it, or auto (got %q)", c.PublicIP)
		}
	}
	c.checkPorts(&v)

	if c.Demo.On(c.HTTP.Listen) && c.Demo.Passcode == "" && !isLoopbackListen(c.HTTP.Listen) {
		v.add("demo.passcode", "must be set when demo.enabled is true and http.listen (%s) is not a loopback address: "+
			"anyone reaching the page could create meetings", c.HTTP.Listen)
	}

	if c.Cluster.Enabled() {
		if !strings.HasPrefix(c.Cluster.RedisURL, "redis://") && !strings.HasPrefix(c.Cluster.RedisURL, "rediss://") {
			v.add("cluster.redis_url", "must be a redis:// or rediss:// URL")
		}
		if c.Cluster.NodeID == "" || len(c.Cluster.NodeID) > 64 || !allChars(c.Cluster.NodeID, isRegionChar) {
			v.add("cluster.node_id", "must be 1–64 characters of a-z, 0-9 and - (got %q)", c.Cluster.NodeID)
		}
		if c.Cluster.Heartbeat.Std() < 100*time.Millisecond {
			v.add("cluster.heartbeat", "must be at least 100ms")
		}
	}

	if c.DataDir == "" {
		v.add("data_dir", "must not be empty")
	}

	if len(c.AccountID) != 12 || strings.Trim(c.AccountID, "0123456789") != "" {
		v.add("account_id", "must be exactly 12 digits (got %q)", c.AccountID)
	}

	seenRegion := map[string]int{}
	for i, r := range c.MediaRegions {
		key := fmt.Sprintf("media_regions[%d]", i)
		if len(r) < 2 || len(r) > 64 || !allChars(r, isRegionChar) {
			v.add(key, "must be 2–64 characters of a-z, 0-9 and - (got %q)", r)
			continue
		}
		if j, dup := seenRegion[r]; dup {
			v.add(key, "duplicate of media_regions[%d] (%q)", j, r)
			continue
		}
		seenRegion[r] = i
	}

	seenKey := map[string]int{}
	for i, cr := range c.Credentials {
		key := fmt.Sprintf("credentials[%d]", i)
		switch id := cr.AccessKeyID; {
		case len(id) < 3 || len(id) > 128 || !allChars(id, isAccessKeyChar):
			v.add(key+".access_key_id", "must be 3–128 characters of A-Z, a-z, 0-9 and _+=,.@- (got %q)", id)
		default:
			if j, dup := seenKey[id]; dup {
				v.add(key+".access_key_id", "duplicate of credentials[%d] (%q)", j, id)
			} else {
				seenKey[id] = i
			}
		}
		if n := len(cr.SecretAccessKey); n < 16 {
			v.add(key+".secret_access_key", "must be at least 16 characters (got %d)", n)
		}
	}

	// quotas
	q := c.Quotas
	v.atLeast1("quotas.active_meetings_per_media_group", q.ActiveMeetingsPerMediaGroup)
	v.atLeast1("quotas.attendees_per_meeting", q.AttendeesPerMeeting)
	v.atLeast1("quotas.high_resolution_attendees", q.HighResolutionAttendees)
	if q.HighResolutionAttendees > q.AttendeesPerMeeting && q.AttendeesPerMeeting >= 1 {
		v.add("quotas.high_resolution_attendees", "must be ≤ quotas.attendees_per_meeting (%d > %d)", q.HighResolutionAttendees, q.AttendeesPerMeeting)
	}
	switch r := q.APIRequestsPerSecond; {
	case math.IsNaN(r) || math.IsInf(r, 0) || r < 0:
		v.add("quotas.api_requests_per_second", "must be a finite number ≥ 0 (got %v)", r)
	case r > 0:
		v.atLeast1("quotas.api_burst", q.APIBurst)
	}

	// meetings
	m := c.Meetings
	v.positive("meetings.max_duration", m.MaxDuration)
	v.positive("meetings.idle_timeout", m.IdleTimeout)
	v.positive("meetings.sweep_interval", m.SweepInterval)
	if m.SweepInterval > 0 && m.IdleTimeout > 0 && m.SweepInterval > m.IdleTimeout {
		v.add("meetings.sweep_interval", "must be ≤ meetings.idle_timeout (%s > %s)", m.SweepInterval, m.IdleTimeout)
	}

	// media
	md := c.Media
	if host, port, err := net.SplitHostPort(md.UDPListen); err != nil {
		v.add("media.udp_listen", "must be host:port (%v)", err)
	} else if p, err := strconv.Atoi(port); err != nil || p < 0 || p > 65535 {
		v.add("media.udp_listen", "port must be a number 0-65535 (got %q)", port)
	} else if host != "" && net.ParseIP(host) == nil {
		v.add("media.udp_listen", "host must be an IP address (got %q)", host)
	}
	for i, ip := range md.PublicIPs {
		if a := net.ParseIP(strings.TrimSpace(ip)); a == nil || a.IsUnspecified() {
			v.add(fmt.Sprintf("media.public_ips[%d]", i), "must be an IP address clients can reach (got %q)", ip)
		}
	}
	if md.TopTalkers < 1 || md.TopTalkers > 16 {
		v.add("media.top_talkers", "must be 1 to 16 (got %d)", md.TopTalkers)
	}
	if md.OpusBitrate < 16000 || md.OpusBitrate > 64000 {
		v.add("media.opus_bitrate", "must be 16000 to 64000 (got %d)", md.OpusBitrate)
	}
	if md.OpusComplexity < 1 || md.OpusComplexity > 10 {
		v.add("media.opus_complexity", "must be 1 to 10 (got %d)", md.OpusComplexity)
	}
	if md.OpusMinComplexity < 1 || md.OpusMinComplexity > md.OpusComplexity {
		v.add("media.opus_min_complexity", "must be 1 to media.opus_complexity (got %d)", md.OpusMinComplexity)
	}
	if md.MaxVideos < 1 || md.MaxVideos > 25 {
		v.add("media.max_videos", "must be 1 to 25 (got %d)", md.MaxVideos)
	}
	if md.MaxContentShares < 1 || md.MaxContentShares > 4 {
		v.add("media.max_content_shares", "must be 1 to 4 (got %d)", md.MaxContentShares)
	}

	// turn
	if t := c.TURN; t.Enabled {
		v.hostPort("turn.listen_udp", t.ListenUDP, false)
		v.hostPort("turn.listen_tcp", t.ListenTCP, true)
		v.hostPort("turn.listen_tls", t.ListenTLS, true)
		if (t.CertFile == "") != (t.KeyFile == "") {
			v.add("turn.cert_file", "cert_file and key_file go together")
		}
		if t.RelayIP == "" {
			// It defaults to listen_udp's host, which must then be concrete.
			if h, _, err := net.SplitHostPort(t.ListenUDP); err == nil {
				if a, err := netip.ParseAddr(h); h == "" || (err == nil && a.IsUnspecified()) {
					v.add("turn.relay_ip", "must be set (or public_ip, when it is this host's address): turn.listen_udp %q listens on every address", t.ListenUDP)
				}
			}
		} else {
			if a, err := netip.ParseAddr(t.RelayIP); err != nil || !a.Is4() || a.IsUnspecified() {
				v.add("turn.relay_ip", "must be one concrete IPv4 address of this host, not a wildcard (got %q)", t.RelayIP)
			}
		}
		if t.RelayPortMin < 1024 || t.RelayPortMax > 65535 || t.RelayPortMin > t.RelayPortMax {
			v.add("turn.relay_port_min", "relay ports must satisfy 1024 ≤ min ≤ max ≤ 65535 (got %d-%d)", t.RelayPortMin, t.RelayPortMax)
		}
		if t.UDPSockets < 0 || t.UDPSockets > 64 {
			v.add("turn.udp_sockets", "must be 0 (one per CPU) to 64 (got %d)", t.UDPSockets)
		}
		if t.Secret != "" && len(t.Secret) < 16 {
			v.add("turn.secret", "must be at least 16 characters (got %d)", len(t.Secret))
		}
		v.positive("turn.credential_ttl", t.CredentialTTL)
		for i, p := range t.AllowedPeers {
			if _, err := turn.ParsePeer(p); err != nil {
				v.add(fmt.Sprintf("turn.allowed_peers[%d]", i), "must be an ip, ip:port or CIDR such as 203.0.113.7, 203.0.113.7:3000 or 203.0.113.0/24 (got %q)", p)
			}
		}
		v.atLeast1("turn.max_allocations_per_attendee", t.MaxAllocationsPerAttendee)
		v.atLeast1("turn.max_allocations", t.MaxAllocations)
		v.atLeast1("turn.max_conns", t.MaxConns)
		v.atLeast1("turn.max_conns_per_ip", t.MaxConnsPerIP)
		v.positive("turn.first_message_timeout", t.FirstMessageTimeout)
		v.positive("turn.idle_timeout", t.IdleTimeout)
	}

	// sip
	if sp := c.SIP; sp.Enabled {
		if !e164.MatchString(sp.DialInNumber) {
			v.add("sip.dial_in_number", "must be E.164: + then 1-15 digits (got %q)", sp.DialInNumber)
		}
		v.hostPort("sip.listen_udp", sp.ListenUDP, false)
		v.hostPort("sip.listen_tcp", sp.ListenTCP, false)
		v.hostPort("sip.listen_tls", sp.ListenTLS, false)
		if (sp.CertFile == "") != (sp.KeyFile == "") {
			v.add("sip.cert_file", "cert_file and key_file go together")
		}
		if sp.RTPPortMin < 1024 || sp.RTPPortMax > 65535 || sp.RTPPortMin+1 >= sp.RTPPortMax {
			v.add("sip.rtp_port_min", "RTP ports must satisfy 1024 ≤ min < max ≤ 65535 with room for a pair (got %d-%d)", sp.RTPPortMin, sp.RTPPortMax)
		}
		v.positive("sip.rtp_timeout", sp.RTPTimeout)
		v.positive("sip.no_media_timeout", sp.NoMediaTimeout)
		v.atLeast1("sip.max_calls_per_meeting", sp.MaxCallsPerMeeting)
		v.atLeast1("sip.max_conns", sp.MaxConns)
		v.atLeast1("sip.max_conns_per_ip", sp.MaxConnsPerIP)
		v.positive("sip.first_message_timeout", sp.FirstMessageTimeout)
		v.positive("sip.idle_timeout", sp.IdleTimeout)
		if sp.PublicIP != "" {
			if _, err := netip.ParseAddr(sp.PublicIP); err != nil {
				v.add("sip.public_ip", "must be an IP address (got %q)", sp.PublicIP)
			}
		}
		if e := sp.S3.Endpoint; e != "" {
			if u, err := url.Parse(e); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				v.add("sip.s3.endpoint", "must be an http(s) URL (got %q)", e)
			}
		}
		if (sp.S3.AccessKeyID == "") != (sp.S3.SecretAccessKey == "") {
			v.add("sip.s3.access_key_id", "access_key_id and secret_access_key go together")
		}
		if o := sp.Outbound; o.Host != "" || o.Transport != "" {
			if !slices.Contains([]string{"", "udp", "tcp", "tls"}, o.Transport) {
				v.add("sip.outbound.transport", "must be udp, tcp or tls (got %q)", o.Transport)
			}
			if o.Host == "" {
				v.add("sip.outbound.host", "is required when sip.outbound is set")
			}
		}
		if sp.MaxCallsPerApplication < 0 || sp.MaxCallsPerSource < 0 {
			v.add("sip.max_calls_per_application", "call caps must be 0 (none) or more")
		}
		if err := (sma.Config{Applications: sp.Applications, Rules: sp.Rules, AllowedSources: sp.AllowedSources}).Validate(); err != nil {
			v.add("sip.applications", "%s", strings.TrimPrefix(err.Error(), sma.ErrInvalidConfig.Error()+": "))
		}
	}

	// log
	if !slices.Contains([]string{"debug", "info", "warn", "error"}, c.Log.Level) {
		v.add("log.level", "must be one of debug, info, warn, error (got %q)", c.Log.Level)
	}
	if !slices.Contains([]string{"text", "json"}, c.Log.Format) {
		v.add("log.format", "must be text or json (got %q)", c.Log.Format)
	}

	return errors.Join(v.errs...)
}

type validator struct{ errs []error }

func (v *validator) add(key, format string, args ...any) {
	v.errs = append(v.errs, &FieldError{Key: key, Msg: fmt.Sprintf(format, args...)})
}

func (v *validator) atLeast1(key string, n int) {
	if n < 1 {
		v.add(key, "must be ≥ 1 (got %d)", n)
	}
}

var e164 = regexp.MustCompile(`^\+[0-9]{1,15}$`)

// hostPort checks an IPv4 host:port (port 0 allowed); empty passes when
// optional.
func (v *validator) hostPort(key, s string, optional bool) {
	if s == "" && optional {
		return
	}
	ap, err := netip.ParseAddrPort(s)
	if err != nil || !ap.Addr().Is4() {
		v.add(key, "must be an IPv4 host:port such as 127.0.0.1:3478 (got %q)", s)
	}
}

func (v *validator) positive(key string, d Duration) {
	if d <= 0 {
		v.add(key, "must be > 0 (got %s)", d)
	}
}

// checkListen returns a description of what is wrong with a host:port
// listen address, or "".
func checkListen(s string) string {
	if s == "" {
		return `must not be empty (e.g. "127.0.0.1:8080")`
	}
	_, port, err := net.SplitHostPort(s)
	if err != nil {
		return fmt.Sprintf(`must be host:port, e.g. "127.0.0.1:8080" or ":8080" (got %q)`, s)
	}
	if n, err := strconv.ParseUint(port, 10, 16); err != nil || strconv.FormatUint(n, 10) != port {
		return fmt.Sprintf("port must be a number from 0 to 65535 (got %q)", port)
	}
	return ""
}

// checkPublicURL returns a description of what is wrong with a public base
// URL, or "".
func checkPublicURL(s string) string {
	if s == "" {
		return "must not be empty"
	}
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Sprintf("invalid URL: %v", err)
	}
	switch {
	case u.User != nil:
		return "must not contain user info"
	case u.Scheme != "http" && u.Scheme != "https":
		return fmt.Sprintf("must be an absolute http:// or https:// URL (got %q)", s)
	case u.Opaque != "" || u.Host == "" || u.Hostname() == "":
		return fmt.Sprintf("must include a host (got %q)", s)
	case u.RawQuery != "" || u.ForceQuery:
		return fmt.Sprintf("must not have a query (got %q)", s)
	case u.Fragment != "" || strings.Contains(s, "#"):
		return fmt.Sprintf("must not have a fragment (got %q)", s)
	case strings.HasSuffix(s, "/"):
		return fmt.Sprintf("must not end with a slash (got %q)", s)
	}
	return ""
}

func allChars(s string, ok func(rune) bool) bool {
	for _, r := range s {
		if !ok(r) {
			return false
		}
	}
	return true
}

func isRegionChar(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-'
}

func isAccessKeyChar(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("_+=,.@-", r)
}
