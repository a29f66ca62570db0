package config

import (
	"bytes"
	"net/netip"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/confab-media/confab/turn"
)

// The defaults reach each subsystem's configuration.
func TestSubsystemConfigs(t *testing.T) {
	c := Defaults()
	c.Normalize()
	if m := c.MeetingService(); m.AccountID != c.AccountID || m.AttendeesPerMeeting != 250 || m.HighResolutionAttendees != 25 ||
		m.MaxDuration != 24*time.Hour || m.IdleTimeout != 5*time.Minute || m.SweepInterval != 10*time.Second || len(m.Regions) != 20 {
		t.Errorf("meeting %+v", m)
	}
	if a := c.API(); a.RequestsPerSecond != 10 || a.Burst != 20 {
		t.Errorf("api %+v", a)
	}
	if n := c.NotifyService(); n.Dir != filepath.Join(c.DataDir, "notify") || n.Retry.MaxAge != 24*time.Hour ||
		n.WebhookTimeout != 5*time.Second || n.Limits != c.Notifications.Limits {
		t.Errorf("notify %+v", n)
	}
	if f := c.Conference(); f.Mixer.TopN != 3 || f.Mixer.Bitrate != 32000 || f.Mixer.Complexity != 4 || f.Mixer.MinComplexity != 1 ||
		f.AutoEnd.NoAudio != 5*time.Minute || f.AutoEnd.MaxDuration != 24*time.Hour {
		t.Errorf("conference %+v", f)
	}
	if m := c.MediaServer(); m.ListenUDP != "127.0.0.1:0" || m.MaxVideos != 16 || m.MaxContentShares != 2 {
		t.Errorf("sfu %+v", m)
	}
	if s := c.SIPGateway(); s.DialInNumber != "+17035550122" || s.ListenTLS != "127.0.0.1:5061" || s.RTPPortMin != 16384 ||
		s.RTPTimeout != 30*time.Second || s.MaxCallsPerMeeting != 100 || s.Stream.MaxConnsPerIP != 32 || s.Stream.Idle != time.Hour {
		t.Errorf("sipgw %+v", s)
	}
	c.Cluster = ClusterConfig{RedisURL: "redis://r:6379/0", NodeID: "node-a", Heartbeat: Duration(time.Second)}
	if n := c.ClusterNode(); n.Self.ID != "node-a" || n.Self.URL != "http://127.0.0.1:8080" || n.Self.MaxMeetings != 250 ||
		n.Heartbeat != time.Second || len(n.Self.Regions) != 20 {
		t.Errorf("cluster %+v", n)
	}
}

// The relay binds and names ListenUDP's host unless told otherwise, and
// refuses the node's listeners.
func TestTURNRelay(t *testing.T) {
	c := Defaults()
	c.TURN.ListenUDP = "10.0.0.5:3478"
	allowed := []turn.Peer{turn.PeerAt(netip.MustParseAddrPort("10.0.0.5:40000"))}
	denied := []netip.AddrPort{netip.MustParseAddrPort("10.0.0.5:8080")}
	r := c.TURNRelay(allowed, denied)
	if r.RelayIP != "10.0.0.5" || r.RelayPortMin != 49152 || r.RelayPortMax != 65535 || r.MaxAllocationsPerUser != 12 ||
		r.Stream.MaxConns != 1024 || r.Stream.Idle != 10*time.Minute || len(r.AllowedPeers) != 1 || len(r.DeniedPeers) != 1 {
		t.Errorf("turn %+v", r)
	}
	if h := c.TURN.URIHost(); h != "10.0.0.5" {
		t.Errorf("URIHost = %q", h)
	}
	c.TURN.RelayIP, c.TURN.PublicHost = "192.0.2.1", "turn.example.com"
	if r := c.TURNRelay(nil, nil); r.RelayIP != "192.0.2.1" {
		t.Errorf("RelayIP %q", r.RelayIP)
	}
	if h := c.TURN.URIHost(); h != "turn.example.com" {
		t.Errorf("URIHost = %q", h)
	}
	if l := c.Listeners(); !slices.Equal(l, []string{"127.0.0.1:8080", "127.0.0.1:5060", "127.0.0.1:5060", "127.0.0.1:5061"}) {
		t.Errorf("listeners %v", l)
	}
}

// GroupID, Logger and KeyLookup.
func TestProcessHelpers(t *testing.T) {
	c := Defaults()
	if g := c.GroupID(); g != "local" {
		t.Errorf("alone: group %q", g)
	}
	c.Cluster.RedisURL, c.Cluster.NodeID = "redis://r/0", "node-b"
	if g := c.GroupID(); g != "node-b" {
		t.Errorf("cluster: group %q", g)
	}
	var buf bytes.Buffer
	c.Log = LogConfig{Level: "warn", Format: "json"}
	log := c.Logger(&buf)
	log.Info("hidden")
	log.Warn("shown")
	if out := buf.String(); strings.Contains(out, "hidden") || !strings.HasPrefix(out, `{"time":`) || !strings.Contains(out, `"msg":"shown"`) {
		t.Errorf("json logger wrote %q", out)
	}
	buf.Reset()
	c.Log.Format = "text"
	c.Logger(&buf).Warn("shown")
	if out := buf.String(); !strings.HasPrefix(out, "time=") || !strings.Contains(out, "msg=shown") {
		t.Errorf("text logger wrote %q", out)
	}
	lookup := KeyLookup([]Credential{{AccessKeyID: "AKID1", SecretAccessKey: "s1"}, {AccessKeyID: "AKID2", SecretAccessKey: "s2"}})
	if s, ok := lookup("AKID2"); !ok || s != "s2" {
		t.Errorf("AKID2: %q, %v", s, ok)
	}
	if _, ok := lookup("AKID3"); ok {
		t.Error("an unknown key was found")
	}
}
