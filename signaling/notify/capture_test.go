package notify

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/confab-media/confab/signaling/events"
)

// capture records requests and answers like EventBridge and Lambda.
type capture struct {
	srv *httptest.Server

	mu   sync.Mutex // guards reqs
	reqs []captured
}

type captured struct {
	method, path, rawPath string
	header                http.Header
	body                  []byte
}

func newCapture(tb testing.TB) *capture {
	c := &capture{}
	c.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		c.mu.Lock()
		c.reqs = append(c.reqs, captured{r.Method, r.URL.Path, r.URL.EscapedPath(), r.Header.Clone(), body})
		c.mu.Unlock()
		switch {
		case r.Header.Get("X-Amz-Target") == "AWSEvents.PutEvents":
			var in struct{ Entries []json.RawMessage }
			_ = json.Unmarshal(body, &in)
			out := `{"FailedEntryCount":0,"Entries":[`
			for i := range in.Entries {
				if i > 0 {
					out += ","
				}
				out += `{"EventId":"eb-` + string(rune('a'+i)) + `"}`
			}
			w.Header().Set("Content-Type", "application/x-amz-json-1.1")
			_, _ = io.WriteString(w, out+"]}")
		case strings.HasPrefix(r.URL.Path, "/2015-03-31/functions/"):
			w.WriteHeader(http.StatusAccepted) // Lambda: async invocation accepted
		default:
			http.Error(w, "unexpected request", http.StatusNotFound)
		}
	}))
	tb.Cleanup(c.srv.Close)
	return c
}

func (c *capture) requests() []captured {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]captured(nil), c.reqs...)
}

// sigScope returns the service and region of a SigV4 Authorization header.
func sigScope(tb testing.TB, h http.Header) (service, region string) {
	tb.Helper()
	a := h.Get("Authorization")
	i := strings.Index(a, "Credential=")
	if !strings.HasPrefix(a, "AWS4-HMAC-SHA256 ") || i < 0 {
		tb.Fatalf("Authorization %q is not SigV4", a)
	}
	scope := strings.Split(strings.SplitN(a[i+len("Credential="):], ",", 2)[0], "/")
	if len(scope) != 5 || scope[0] != "AKIDCAPTURE" || scope[4] != "aws4_request" {
		tb.Fatalf("credential scope %v", scope)
	}
	return scope[3], scope[2]
}

func TestEventBridgeAndLambdaRequestShapes(t *testing.T) {
	c := newCapture(t)
	creds := Credentials{AccessKeyID: "AKIDCAPTURE", SecretAccessKey: "secret"}
	lambdaARN := "arn:aws:lambda:eu-west-1:210987654321:function:meeting-events:live"
	s := testService(t, Config{
		Hooks: []Hook{{Name: "bus", Type: HookEventBridge, EventTypes: []events.Type{events.AttendeeJoined},
			EventBridge: &EventBridgeTarget{BusName: "meetings", AWSAccess: AWSAccess{
				Region: "eu-west-1", EndpointURL: c.srv.URL, Credentials: creds}}}},
		Endpoints: []Endpoint{
			{Service: "lambda", Region: "eu-west-1", Account: "210987654321", URL: c.srv.URL, Credentials: creds},
			{URL: "http://127.0.0.1:1"}, // less specific: must not win
		},
	}, Params{})
	if err := s.SetMeetingTargets(testMeeting, MeetingTargets{LambdaFunctionArn: lambdaARN}); err != nil {
		t.Fatal(err)
	}
	join := mkEvent(events.AttendeeJoined, testMeeting, "1111aaaa-0000-4000-8000-000000000001")
	start := mkEvent(events.MeetingStarted, testMeeting, "")
	s.Deliver(context.Background(), start)
	s.Deliver(context.Background(), join)
	waitFor(t, 20*time.Second, "requests", func() bool { return len(c.requests()) == 3 })
	waitFor(t, 15*time.Second, "outbox to drain", func() bool { return s.queued() == 0 })

	var puts, invokes []captured
	for _, r := range c.requests() {
		if r.header.Get("X-Amz-Target") != "" {
			puts = append(puts, r)
		} else {
			invokes = append(invokes, r)
		}
	}
	if len(puts) != 1 || len(invokes) != 2 {
		t.Fatalf("%d PutEvents, %d Invoke requests", len(puts), len(invokes))
	}

	// EventBridge PutEvents: JSON 1.1, one entry carrying the envelope's parts.
	p := puts[0]
	if p.method != http.MethodPost || p.path != "/" || p.header.Get("Content-Type") != "application/x-amz-json-1.1" {
		t.Errorf("PutEvents request %s %s %s", p.method, p.path, p.header.Get("Content-Type"))
	}
	if svc, region := sigScope(t, p.header); svc != "events" || region != "eu-west-1" {
		t.Errorf("PutEvents signed for %s/%s", svc, region)
	}
	var in struct {
		Entries []struct {
			Source, DetailType, Detail, EventBusName string
			Resources                                []string
			Time                                     json.Number
		}
	}
	if err := json.Unmarshal(p.body, &in); err != nil || len(in.Entries) != 1 {
		t.Fatalf("PutEvents body %s: %v", p.body, err)
	}
	e := in.Entries[0]
	wantDetail, _ := json.Marshal(join.Detail)
	if e.Source != DefaultEventBridgeSource || e.DetailType != events.DetailType || e.EventBusName != "meetings" ||
		e.Detail != string(wantDetail) || e.Resources == nil || len(e.Resources) != 0 {
		t.Errorf("PutEvents entry %+v", e)
	}
	if ts, err := e.Time.Float64(); err != nil || time.Unix(int64(ts), 0).UTC().Format(time.RFC3339) != join.Time {
		t.Errorf("PutEvents Time %q, want %s", e.Time, join.Time)
	}

	// Lambda Invoke: async, the event JSON as payload, function ARN in the path.
	for i, want := range []events.Event{start, join} {
		r := invokes[i]
		// The SDK escapes the ARN's colons in the path, as AWS expects.
		wantPath := "/2015-03-31/functions/" + strings.ReplaceAll(lambdaARN, ":", "%3A") + "/invocations"
		if r.method != http.MethodPost || r.rawPath != wantPath {
			t.Errorf("Invoke %s %s, want POST %s", r.method, r.rawPath, wantPath)
		}
		if r.header.Get("X-Amz-Invocation-Type") != "Event" {
			t.Errorf("X-Amz-Invocation-Type %q", r.header.Get("X-Amz-Invocation-Type"))
		}
		if string(r.body) != string(want.JSON()) {
			t.Errorf("Invoke payload %s, want %s", r.body, want.JSON())
		}
		if svc, region := sigScope(t, r.header); svc != "lambda" || region != "eu-west-1" {
			t.Errorf("Invoke signed for %s/%s", svc, region)
		}
	}
}
