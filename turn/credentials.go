package turn

import (
	"crypto/hmac"
	"crypto/sha1" //nolint:gosec // the TURN REST scheme is defined on HMAC-SHA1
	"encoding/base64"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pion/stun/v3"
)

// Credentials is what JOIN_ACK.turn_credentials and the TurnControlUrl JSON
// carry: a REST-API username and password, how long they last, and the
// server URIs.
type Credentials struct {
	Username string
	Password string
	TTL      time.Duration
	URIs     []string
}

// DefaultCredentialTTL is the Minter's TTL when none is given. Credentials
// are checked on every authenticated request, Refresh included, so the TTL
// must outlast the meeting: the Chime SDK does not fetch new ones.
const DefaultCredentialTTL = 24 * time.Hour

// Minter mints time-limited shared-secret credentials
// (draft-uberti-behave-turn-rest-00 §2.2, as coturn's use-auth-secret):
// username "<unix expiry>:<attendeeID>", password
// base64(HMAC-SHA1(secret, username)).
type Minter struct {
	secret []byte
	ttl    time.Duration
	uris   []string
	now    func() time.Time
}

// NewMinter returns a Minter. ttl ≤ 0 means DefaultCredentialTTL; now nil
// means time.Now.
func NewMinter(secret []byte, ttl time.Duration, uris []string, now func() time.Time) *Minter {
	if ttl <= 0 {
		ttl = DefaultCredentialTTL
	}
	if now == nil {
		now = time.Now
	}
	return &Minter{secret: slices.Clone(secret), ttl: ttl, uris: slices.Clone(uris), now: now}
}

// Mint returns credentials for attendeeID that expire TTL from now.
func (m *Minter) Mint(attendeeID string) Credentials {
	username := strconv.FormatInt(m.now().Add(m.ttl).Unix(), 10) + ":" + attendeeID
	return Credentials{
		Username: username,
		Password: restPassword(m.secret, username),
		TTL:      m.ttl,
		URIs:     slices.Clone(m.uris),
	}
}

func restPassword(secret []byte, username string) string {
	mac := hmac.New(sha1.New, secret)
	mac.Write([]byte(username))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// checker verifies REST-API usernames on the server side.
type checker struct {
	secret []byte
	realm  string
	now    func() time.Time
	active func(attendeeID string) bool
}

// check returns the attendee a username names and the long-term key
// (RFC 8489 §9.2.2: MD5(username ":" realm ":" password)) its requests must
// be signed with, or why the username is refused.
func (c *checker) check(username string) (attendee string, key []byte, why reason) {
	expiry, attendee, ok := parseUsername(username)
	switch {
	case !ok:
		return "", nil, reasonBadUsername
	case expiry < c.now().Unix():
		return attendee, nil, reasonExpired
	case c.active != nil && !c.active(attendee):
		return attendee, nil, reasonInactive
	}
	key = stun.NewLongTermIntegrity(username, c.realm, restPassword(c.secret, username))
	return attendee, key, reasonNone
}

// parseUsername splits "<unix expiry>:<attendeeID>".
func parseUsername(username string) (expiry int64, attendee string, ok bool) {
	ts, attendee, found := strings.Cut(username, ":")
	if !found || attendee == "" {
		return 0, "", false
	}
	expiry, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return 0, "", false
	}
	return expiry, attendee, true
}
