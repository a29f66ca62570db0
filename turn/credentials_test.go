package turn

import (
	"encoding/hex"
	"slices"
	"testing"
	"time"
)

var newYear = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC) // unix 1767225600

func TestMinterKnownVector(t *testing.T) {
	uris := []string{"turn:127.0.0.1:3478?transport=udp"}
	m := NewMinter([]byte("confab-test-secret"), time.Hour, uris, func() time.Time { return newYear })
	got := m.Mint("attendee-1")
	// printf '1767229200:attendee-1' | openssl dgst -sha1 -hmac confab-test-secret -binary | base64
	want := Credentials{
		Username: "1767229200:attendee-1",
		Password: "YHWUfg7RJY1rnNL3bUsgt1aBw2w=",
		TTL:      time.Hour,
		URIs:     uris,
	}
	if got.Username != want.Username || got.Password != want.Password || got.TTL != want.TTL || !slices.Equal(got.URIs, want.URIs) {
		t.Fatalf("Mint = %+v, want %+v", got, want)
	}
	got.URIs[0] = "changed"
	if m.Mint("x").URIs[0] != uris[0] {
		t.Error("Mint shares its URIs slice with the caller")
	}
}

func TestMinterDefaults(t *testing.T) {
	before := time.Now()
	c := NewMinter([]byte("s"), 0, nil, nil).Mint("a")
	expiry, attendee, ok := parseUsername(c.Username)
	if !ok || attendee != "a" || c.TTL != DefaultCredentialTTL {
		t.Fatalf("Mint = %+v", c)
	}
	if d := time.Unix(expiry, 0).Sub(before); d < DefaultCredentialTTL-time.Second || d > DefaultCredentialTTL+time.Second {
		t.Errorf("expiry %v from now, want %v", d, DefaultCredentialTTL)
	}
}

func TestCheckerVerdicts(t *testing.T) {
	now := newYear
	active := map[string]bool{"attendee-1": true, "gone": false}
	c := checker{secret: []byte("confab-test-secret"), realm: "confab", now: func() time.Time { return now },
		active: func(a string) bool { return active[a] }}
	mint := func(id string, ttl time.Duration) string {
		return NewMinter(c.secret, ttl, nil, func() time.Time { return newYear }).Mint(id).Username
	}

	attendee, key, why := c.check(mint("attendee-1", time.Hour))
	// MD5("1767229200:attendee-1:confab:YHWUfg7RJY1rnNL3bUsgt1aBw2w=")
	if why != reasonNone || attendee != "attendee-1" || hex.EncodeToString(key) != "cb2ec27939198f21b62f33dce5179ca2" {
		t.Fatalf("check = %q %x %v", attendee, key, why)
	}
	for _, tc := range []struct {
		name, username string
		at             time.Time
		want           reason
	}{
		{"valid until the second it expires", mint("attendee-1", time.Hour), newYear.Add(time.Hour), reasonNone},
		{"expired", mint("attendee-1", time.Hour), newYear.Add(time.Hour + time.Second), reasonExpired},
		{"inactive", mint("gone", time.Hour), newYear, reasonInactive},
		{"unknown attendee", mint("stranger", time.Hour), newYear, reasonInactive},
		{"no separator", "1767229200", newYear, reasonBadUsername},
		{"no attendee", "1767229200:", newYear, reasonBadUsername},
		{"bad expiry", "soon:attendee-1", newYear, reasonBadUsername},
		{"attendee with colons", "1767229200:a:b", newYear, reasonInactive},
	} {
		now = tc.at
		if _, _, why := c.check(tc.username); why != tc.want {
			t.Errorf("%s: check(%q) = %v, want %v", tc.name, tc.username, why, tc.want)
		}
	}
}
