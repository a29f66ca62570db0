package turnload

import (
	"crypto/hmac"
	"crypto/sha1" //nolint:gosec // the scheme's hash
	"encoding/base64"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestSecretCredentials: "<expiry>:bench-turn-<i>" about an hour ahead,
// and the password is base64(HMAC-SHA1(secret, username)).
func TestSecretCredentials(t *testing.T) {
	user, pass, err := SecretCredentials([]byte("s3cret"))(7)
	if err != nil {
		t.Fatal(err)
	}
	ts, name, _ := strings.Cut(user, ":")
	exp, _ := strconv.ParseInt(ts, 10, 64)
	if name != "bench-turn-7" || time.Until(time.Unix(exp, 0)) < 59*time.Minute {
		t.Fatalf("username %q", user)
	}
	mac := hmac.New(sha1.New, []byte("s3cret"))
	mac.Write([]byte(user))
	if pass != base64.StdEncoding.EncodeToString(mac.Sum(nil)) {
		t.Fatalf("password %q", pass)
	}
}

// TestRTTQuantiles: 0.1 ms buckets, the maximum kept exactly.
func TestRTTQuantiles(t *testing.T) {
	var st stats
	for i := 1; i <= 100; i++ {
		st.rtt(time.Duration(i) * time.Millisecond)
	}
	st.rtt(3 * time.Second) // past the histogram: the last bucket
	if p50 := st.quantile(0.5); p50 < 50 || p50 > 51.2 {
		t.Fatalf("p50 %.1f ms", p50)
	}
	if st.maxNs.Load() != int64(3*time.Second) || st.quantile(1) != 1000 {
		t.Fatalf("max %d, q1 %.1f", st.maxNs.Load(), st.quantile(1))
	}
}
