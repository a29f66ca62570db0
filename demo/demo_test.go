package demo

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/confab-media/confab/internal/testkit"
)

func newApp(t *testing.T, cfg Config) (*Handler, *httptest.Server) {
	t.Helper()
	svc := testkit.MeetingService(t, testkit.Meetings{})
	cfg.Region = "us-east-1"
	h := New(cfg, Params{Meetings: svc})
	mux := http.NewServeMux()
	h.Register(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return h, srv
}

func postJoin(t *testing.T, srv *httptest.Server, body string) (int, map[string]json.RawMessage) {
	t.Helper()
	res, err := http.Post(srv.URL+"/demo/join", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var out map[string]json.RawMessage
	_ = json.NewDecoder(res.Body).Decode(&out)
	return res.StatusCode, out
}

// TestJoinSameMeeting: one meeting name gives one live meeting; two people
// of the same name are two attendees; the answer is what the SDK's
// MeetingSessionConfiguration takes.
func TestJoinSameMeeting(t *testing.T) {
	_, srv := newApp(t, Config{})
	type joined struct {
		Meeting struct {
			MeetingId      string
			MediaPlacement struct{ SignalingUrl string }
		}
		Attendee struct{ AttendeeId, JoinToken, ExternalUserId string }
	}
	var got []joined
	for range 2 {
		code, raw := postJoin(t, srv, `{"meeting":"Team standup","name":"Ada"}`)
		if code != http.StatusOK {
			t.Fatalf("join: %d %s", code, raw["message"])
		}
		b, _ := json.Marshal(raw)
		var j joined
		if err := json.Unmarshal(b, &j); err != nil {
			t.Fatal(err)
		}
		got = append(got, j)
	}
	a, b := got[0], got[1]
	if a.Meeting.MeetingId == "" || a.Meeting.MeetingId != b.Meeting.MeetingId || a.Meeting.MediaPlacement.SignalingUrl == "" {
		t.Fatalf("meetings %+v and %+v", a.Meeting, b.Meeting)
	}
	if a.Attendee.AttendeeId == b.Attendee.AttendeeId || a.Attendee.JoinToken == "" ||
		!strings.HasPrefix(a.Attendee.ExternalUserId, "Ada#") {
		t.Fatalf("attendees %+v and %+v", a.Attendee, b.Attendee)
	}
	if _, raw := postJoin(t, srv, `{"meeting":"team STANDUP","name":"Bo"}`); !strings.Contains(string(raw["Meeting"]), a.Meeting.MeetingId) {
		t.Fatalf("meeting names differing in case got another meeting: %s", raw["Meeting"])
	}
}

func TestJoinRefusals(t *testing.T) {
	_, srv := newApp(t, Config{Passcode: "s3cret-pass"})
	for _, c := range []struct {
		body string
		want int
	}{
		{`{"meeting":"m","name":"Ada","passcode":"nope"}`, http.StatusForbidden},
		{`{"meeting":"m","name":"Ada"}`, http.StatusForbidden},
		{`not json`, http.StatusBadRequest},
		{`{"meeting":"","name":"Ada","passcode":"s3cret-pass"}`, http.StatusBadRequest},
		{`{"meeting":"m","name":"` + strings.Repeat("x", 49) + `","passcode":"s3cret-pass"}`, http.StatusBadRequest},
		{`{"meeting":"m","name":"bad\u0000name","passcode":"s3cret-pass"}`, http.StatusBadRequest},
		{`{"meeting":"m","name":"Ada","passcode":"s3cret-pass"}`, http.StatusOK},
	} {
		if code, raw := postJoin(t, srv, c.body); code != c.want {
			t.Errorf("%s: %d %s, want %d", c.body, code, raw["message"], c.want)
		}
	}
	res, err := http.Get(srv.URL + "/demo/config")
	if err != nil {
		t.Fatal(err)
	}
	var cfg struct{ Passcode bool }
	_ = json.NewDecoder(res.Body).Decode(&cfg)
	res.Body.Close()
	if !cfg.Passcode {
		t.Error("config does not say a passcode is needed")
	}
}

func TestJoinRateLimitedPerIP(t *testing.T) {
	_, srv := newApp(t, Config{JoinsPerSecond: 0.001, JoinBurst: 3})
	codes := []int{}
	for range 5 {
		code, _ := postJoin(t, srv, `{"meeting":"m","name":"Ada"}`)
		codes = append(codes, code)
	}
	if codes[2] != http.StatusOK || codes[3] != http.StatusTooManyRequests || codes[4] != http.StatusTooManyRequests {
		t.Fatalf("codes %v: want 3 joins, then 429", codes)
	}
}

func TestIPLimiterBounded(t *testing.T) {
	l := newIPLimiter(1, 2, 3)
	t0 := time.Unix(0, 0)
	for _, ip := range []string{"a", "b", "c"} {
		if !l.allow(ip, t0) {
			t.Fatalf("%s refused", ip)
		}
	}
	if l.allow("d", t0) {
		t.Fatal("a fourth address admitted past the cap while the others are not idle")
	}
	if !l.allow("d", t0.Add(3*time.Second)) || len(l.buckets) != 1 {
		t.Fatalf("idle addresses not forgotten: %d tracked", len(l.buckets))
	}
}

// TestPageAndScript: the page carries its CSP; the script is served when
// the binary was built with it (make demo), and a clear 404 otherwise.
func TestPageAndScript(t *testing.T) {
	h, srv := newApp(t, Config{})
	res, err := http.Get(srv.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 || !strings.Contains(res.Header.Get("Content-Security-Policy"), "default-src 'self'") ||
		!strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("GET /: %d %v", res.StatusCode, res.Header)
	}
	res, err = http.Get(srv.URL + "/demo/app.js")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	want := http.StatusNotFound
	if h.Built() {
		want = http.StatusOK
	}
	if res.StatusCode != want {
		t.Fatalf("GET /demo/app.js: %d, want %d (built %v)", res.StatusCode, want, h.Built())
	}
	if res, _ := http.Get(srv.URL + "/demo/nothing"); res.StatusCode != http.StatusNotFound {
		t.Fatalf("GET /demo/nothing: %d", res.StatusCode)
	}
}
