package config

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
)

// validConfig is a normalized, valid configuration with one credential.
func validConfig() Config {
	c := normalizedDefaults()
	c.Credentials = []Credential{{"AKIAEXAMPLE", "0123456789abcdef"}}
	return c
}

func TestValidate(t *testing.T) {
	if err := validConfig().Validate(); err != nil {
		t.Fatalf("validConfig().Validate() = %v", err)
	}
	tests := []struct {
		name   string
		mutate func(*Config)
		keys   []string // expected FieldError keys, in order; nil = valid
		msg    string   // substring of the error, if set
	}{
		// http.listen
		{"listen ok with empty host", func(c *Config) { c.HTTP.Listen = ":8080" }, nil, ""},
		{"listen ok ipv6", func(c *Config) { c.HTTP.Listen = "[::]:443" }, nil, ""},
		{"listen ok hostname port 0", func(c *Config) { c.HTTP.Listen = "localhost:0" }, nil, ""},
		{"listen empty", func(c *Config) { c.HTTP.Listen = "" }, []string{"http.listen"}, "must not be empty"},
		{"listen no port", func(c *Config) { c.HTTP.Listen = "127.0.0.1" }, []string{"http.listen"}, "must be host:port"},
		{"listen named port", func(c *Config) { c.HTTP.Listen = "127.0.0.1:http" }, []string{"http.listen"}, "port must be a number"},
		{"listen port too big", func(c *Config) { c.HTTP.Listen = ":65536" }, []string{"http.listen"}, "port must be a number"},
		{"listen port signed", func(c *Config) { c.HTTP.Listen = ":+80" }, []string{"http.listen"}, "port must be a number"},
		// http.public_url
		{"public url https with path", func(c *Config) { c.HTTP.PublicURL = "https://example.com:8443/confab" }, nil, ""},
		{"public url empty", func(c *Config) { c.HTTP.PublicURL = "" }, []string{"http.public_url"}, "must not be empty"},
		{"public url relative", func(c *Config) { c.HTTP.PublicURL = "/confab" }, []string{"http.public_url"}, "absolute http:// or https://"},
		{"public url ws scheme", func(c *Config) { c.HTTP.PublicURL = "ws://example.com" }, []string{"http.public_url"}, "absolute http:// or https://"},
		{"public url no host", func(c *Config) { c.HTTP.PublicURL = "http:///x" }, []string{"http.public_url"}, "must include a host"},
		{"public url port only", func(c *Config) { c.HTTP.PublicURL = "http://:8080" }, []string{"http.public_url"}, "must include a host"},
		{"public url opaque", func(c *Config) { c.HTTP.PublicURL = "http:example.com" }, []string{"http.public_url"}, "must include a host"},
		{"public url query", func(c *Config) { c.HTTP.PublicURL = "https://example.com?a=b" }, []string{"http.public_url"}, "must not have a query"},
		{"public url empty query", func(c *Config) { c.HTTP.PublicURL = "https://example.com?" }, []string{"http.public_url"}, "must not have a query"},
		{"public url fragment", func(c *Config) { c.HTTP.PublicURL = "https://example.com#x" }, []string{"http.public_url"}, "must not have a fragment"},
		{"public url user info", func(c *Config) { c.HTTP.PublicURL = "https://u:p@example.com" }, []string{"http.public_url"}, "must not contain user info"},
		{"public url trailing slash", func(c *Config) { c.HTTP.PublicURL = "https://example.com/" }, []string{"http.public_url"}, "must not end with a slash"},
		{"public url unparsable", func(c *Config) { c.HTTP.PublicURL = "https://exa mple.com" }, []string{"http.public_url"}, "invalid URL"},
		// demo
		{"demo on by default on loopback", func(c *Config) { c.HTTP.Listen = "127.0.0.1:8080" }, nil, ""},
		{"demo enabled on a public listen without passcode", func(c *Config) {
			c.HTTP.Listen = "0.0.0.0:8080"
			c.Demo.Enabled = ptr(true)
		}, []string{"demo.passcode"}, "not a loopback address"},
		{"demo enabled on a public listen with passcode", func(c *Config) {
			c.HTTP.Listen = "0.0.0.0:8080"
			c.Demo.Enabled, c.Demo.Passcode = ptr(true), "let-me-in"
		}, nil, ""},
		// turn
		{"turn allowed peers forms", func(c *Config) {
			c.TURN.AllowedPeers = []string{"203.0.113.7", "203.0.113.7:3000", "203.0.113.0/24", "[2001:db8::1]:3000"}
		}, nil, ""},
		{"turn allowed peer host name", func(c *Config) { c.TURN.AllowedPeers = []string{"media.example.com:3000"} },
			[]string{"turn.allowed_peers[0]"}, "ip, ip:port or CIDR"},
		{"turn allowed peer port 0", func(c *Config) { c.TURN.AllowedPeers = []string{"203.0.113.7:0"} },
			[]string{"turn.allowed_peers[0]"}, "ip, ip:port or CIDR"},
		{"turn conns per ip 0", func(c *Config) { c.TURN.MaxConnsPerIP = 0 }, []string{"turn.max_conns_per_ip"}, ""},
		{"turn idle timeout 0", func(c *Config) { c.TURN.IdleTimeout = 0 }, []string{"turn.idle_timeout"}, ""},
		// data_dir
		{"data dir empty", func(c *Config) { c.DataDir = "" }, []string{"data_dir"}, "must not be empty"},
		// account_id
		{"account id short", func(c *Config) { c.AccountID = "12345" }, []string{"account_id"}, "exactly 12 digits"},
		{"account id letters", func(c *Config) { c.AccountID = "12345678901a" }, []string{"account_id"}, "exactly 12 digits"},
		{"account id 13 digits", func(c *Config) { c.AccountID = "1234567890123" }, []string{"account_id"}, "exactly 12 digits"},
		{"account id non-ascii digits", func(c *Config) { c.AccountID = "١٢٣٤٥٦٧٨٩٠١٢" }, []string{"account_id"}, "exactly 12 digits"},
		// media_regions
		{"regions custom ok", func(c *Config) { c.MediaRegions = []string{"lab-1", "xx"} }, nil, ""},
		{"regions empty ok", func(c *Config) { c.MediaRegions = nil }, nil, ""},
		{"region upper case", func(c *Config) { c.MediaRegions = []string{"us-east-1", "US-EAST-2"} }, []string{"media_regions[1]"}, "2–64 characters"},
		{"region too short", func(c *Config) { c.MediaRegions = []string{"x"} }, []string{"media_regions[0]"}, "2–64 characters"},
		{"region too long", func(c *Config) { c.MediaRegions = []string{strings.Repeat("a", 65)} }, []string{"media_regions[0]"}, "2–64 characters"},
		{"region 64 ok", func(c *Config) { c.MediaRegions = []string{strings.Repeat("a", 64)} }, nil, ""},
		{"region underscore", func(c *Config) { c.MediaRegions = []string{"us_east_1"} }, []string{"media_regions[0]"}, "2–64 characters"},
		{"region duplicate", func(c *Config) { c.MediaRegions = []string{"us-east-1", "eu-west-1", "us-east-1"} }, []string{"media_regions[2]"}, "duplicate of media_regions[0]"},
		// credentials
		{"no credentials ok", func(c *Config) { c.Credentials = nil }, nil, ""},
		{"access key lenient charset ok", func(c *Config) { c.Credentials[0].AccessKeyID = "user@example.com_+=,.-" }, nil, ""},
		{"access key too short", func(c *Config) { c.Credentials[0].AccessKeyID = "ab" }, []string{"credentials[0].access_key_id"}, "3–128 characters"},
		{"access key too long", func(c *Config) { c.Credentials[0].AccessKeyID = strings.Repeat("A", 129) }, []string{"credentials[0].access_key_id"}, "3–128 characters"},
		{"access key bad char", func(c *Config) { c.Credentials[0].AccessKeyID = "AKIA/EXAMPLE" }, []string{"credentials[0].access_key_id"}, "3–128 characters"},
		{"access key space", func(c *Config) { c.Credentials[0].AccessKeyID = "AKIA EXAMPLE" }, []string{"credentials[0].access_key_id"}, "3–128 characters"},
		{"secret too short", func(c *Config) { c.Credentials[0].SecretAccessKey = "0123456789abcde" }, []string{"credentials[0].secret_access_key"}, "at least 16 characters (got 15)"},
		{"secret empty", func(c *Config) { c.Credentials[0].SecretAccessKey = "" }, []string{"credentials[0].secret_access_key"}, "(got 0)"},
		{"duplicate access key", func(c *Config) {
			c.Credentials = append(c.Credentials, Credential{"OTHER", "0123456789abcdef"}, Credential{"AKIAEXAMPLE", "fedcba9876543210"})
		}, []string{"credentials[2].access_key_id"}, "duplicate of credentials[0]"},
		// quotas
		{"active meetings 0", func(c *Config) { c.Quotas.ActiveMeetingsPerMediaGroup = 0 }, []string{"quotas.active_meetings_per_media_group"}, "must be ≥ 1 (got 0)"},
		{"attendees negative", func(c *Config) { c.Quotas.AttendeesPerMeeting = -1; c.Quotas.HighResolutionAttendees = 1 }, []string{"quotas.attendees_per_meeting"}, "must be ≥ 1 (got -1)"},
		{"high res 0", func(c *Config) { c.Quotas.HighResolutionAttendees = 0 }, []string{"quotas.high_resolution_attendees"}, "must be ≥ 1"},
		{"high res above attendees", func(c *Config) { c.Quotas.HighResolutionAttendees = 251 }, []string{"quotas.high_resolution_attendees"}, "must be ≤ quotas.attendees_per_meeting (251 > 250)"},
		{"high res equal attendees ok", func(c *Config) { c.Quotas.HighResolutionAttendees = 250 }, nil, ""},
		{"rate negative", func(c *Config) { c.Quotas.APIRequestsPerSecond = -1 }, []string{"quotas.api_requests_per_second"}, "≥ 0"},
		{"rate NaN", func(c *Config) { c.Quotas.APIRequestsPerSecond = nan() }, []string{"quotas.api_requests_per_second"}, "finite"},
		{"burst 0", func(c *Config) { c.Quotas.APIBurst = 0 }, []string{"quotas.api_burst"}, "must be ≥ 1 (got 0)"},
		{"burst 0 ok when throttling off", func(c *Config) { c.Quotas.APIRequestsPerSecond = 0; c.Quotas.APIBurst = 0 }, nil, ""},
		{"fractional rate ok", func(c *Config) { c.Quotas.APIRequestsPerSecond = 0.5 }, nil, ""},
		// meetings
		{"max duration 0", func(c *Config) { c.Meetings.MaxDuration = 0 }, []string{"meetings.max_duration"}, "must be > 0 (got 0s)"},
		{"idle timeout negative", func(c *Config) { c.Meetings.IdleTimeout = Duration(-time.Minute) }, []string{"meetings.idle_timeout"}, "must be > 0 (got -1m)"},
		{"sweep 0", func(c *Config) { c.Meetings.SweepInterval = 0 }, []string{"meetings.sweep_interval"}, "must be > 0"},
		{"sweep above idle", func(c *Config) { c.Meetings.SweepInterval = Duration(6 * time.Minute) }, []string{"meetings.sweep_interval"}, "must be ≤ meetings.idle_timeout (6m > 5m)"},
		{"sweep equal idle ok", func(c *Config) { c.Meetings.SweepInterval = Duration(5 * time.Minute) }, nil, ""},
		// log
		{"log level bad", func(c *Config) { c.Log.Level = "verbose" }, []string{"log.level"}, `(got "verbose")`},
		{"log level upper case", func(c *Config) { c.Log.Level = "INFO" }, []string{"log.level"}, "must be one of"},
		{"log format bad", func(c *Config) { c.Log.Format = "logfmt" }, []string{"log.format"}, "must be text or json"},
		{"log all ok", func(c *Config) { c.Log = LogConfig{"error", "json"} }, nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := validConfig()
			tt.mutate(&c)
			err := c.Validate()
			if got := errorKeys(err); !slices.Equal(got, tt.keys) {
				t.Fatalf("keys = %v, want %v (err: %v)", got, tt.keys, err)
			}
			if err != nil && !strings.Contains(err.Error(), "config: "+tt.keys[0]+": "+tt.msg) && !strings.Contains(err.Error(), tt.msg) {
				t.Fatalf("err = %q, want it to contain %q", err, tt.msg)
			}
			if err != nil && !strings.HasPrefix(err.Error(), "config: "+tt.keys[0]+": ") {
				t.Fatalf("err = %q, want prefix naming the key", err)
			}
		})
	}
}

func nan() float64 {
	var zero float64
	return zero / zero
}

func TestValidateReportsEverything(t *testing.T) {
	c := validConfig()
	c.HTTP.Listen = "nope"
	c.AccountID = "x"
	c.Quotas.APIBurst = 0
	c.Meetings.SweepInterval = 0
	c.Log.Format = "xml"
	err := c.Validate()
	want := []string{"http.listen", "account_id", "quotas.api_burst", "meetings.sweep_interval", "log.format"}
	if got := errorKeys(err); !slices.Equal(got, want) {
		t.Fatalf("keys = %v, want %v", got, want)
	}
	if n := strings.Count(err.Error(), "\n") + 1; n != len(want) {
		t.Fatalf("error has %d lines, want %d:\n%v", n, len(want), err)
	}
	var fe *FieldError
	if !errors.As(err, &fe) || fe.Key != "http.listen" {
		t.Fatalf("errors.As first FieldError = %+v", fe)
	}
}

func ptr[T any](v T) *T { return &v }

func TestDemoOn(t *testing.T) {
	for _, c := range []struct {
		listen  string
		enabled *bool
		want    bool
	}{
		{"127.0.0.1:8080", nil, true},
		{"localhost:8080", nil, true},
		{"[::1]:8080", nil, true},
		{"0.0.0.0:8080", nil, false},
		{":8080", nil, false},
		{"127.0.0.1:8080", ptr(false), false},
		{"0.0.0.0:8080", ptr(true), true},
	} {
		if got := (DemoConfig{Enabled: c.enabled}).On(c.listen); got != c.want {
			t.Errorf("On(%q, enabled %v) = %v, want %v", c.listen, c.enabled, got, c.want)
		}
	}
}
