package api

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/confab-media/confab/internal/testkit"
	"github.com/confab-media/confab/signaling/events"
	"github.com/confab-media/confab/signaling/meeting"
	"github.com/confab-media/confab/signaling/sigv4"
	"github.com/confab-media/confab/signaling/store"
)

var testCreds = sigv4.Credentials{AccessKeyID: "AKIDAPITEST00001", SecretAccessKey: "api-test-secret-0123456789"}

type tb = testing.TB

// newTestHandler wires the real API over the given store, with throttling
// off and generous quotas.
func newTestHandler(t tb, st store.Store) (*Handler, *meeting.Service) {
	t.Helper()
	return newTestHandlerWithBus(t, st, events.NewBus())
}

// newTestHandlerWithBus is newTestHandler with the meeting events going to
// bus.
func newTestHandlerWithBus(t tb, st store.Store, bus *events.Bus) (*Handler, *meeting.Service) {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	svc := testkit.MeetingService(t, testkit.Meetings{Store: st, Events: bus, AttendeesPerMeeting: 1 << 30, MaxMeetings: 1 << 20})
	h := NewHandler(Config{}, Params{
		Meetings: svc,
		Verifier: sigv4.NewVerifier(sigv4.VerifierConfig{Service: "chime"}, sigv4.VerifierParams{
			Lookup: func(id string) (string, bool) {
				return testCreds.SecretAccessKey, id == testCreds.AccessKeyID
			},
		}),
		Metrics: prometheus.NewRegistry(),
		Log:     log,
		Now:     time.Now,
	})
	return h, svc
}

// signed builds a SigV4-signed request for base+path.
func signed(t tb, method, target, body string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, target, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if err := sigv4.Sign(req, []byte(body), testCreds, "us-east-1", "chime", time.Now()); err != nil {
		t.Fatal(err)
	}
	return req
}

func TestRouteTable(t *testing.T) {
	const m, a = "11111111-2222-3333-4444-555555555555", "66666666-7777-8888-9999-000000000000"
	cases := []struct {
		method, target string
		want           Operation
	}{
		{"POST", "/meetings", OpCreateMeeting},
		{"POST", "/meetings?operation=create-attendees", OpCreateMeetingWithAttendees},
		{"GET", "/meetings/" + m, OpGetMeeting},
		{"DELETE", "/meetings/" + m, OpDeleteMeeting},
		{"POST", "/meetings/" + m + "/attendees", OpCreateAttendee},
		{"POST", "/meetings/" + m + "/attendees?operation=batch-create", OpBatchCreateAttendee},
		{"GET", "/meetings/" + m + "/attendees?max-results=5&next-token=x", OpListAttendees},
		{"GET", "/meetings/" + m + "/attendees/" + a, OpGetAttendee},
		{"DELETE", "/meetings/" + m + "/attendees/" + a, OpDeleteAttendee},
		{"PUT", "/meetings/" + m + "/attendees/" + a + "/capabilities", OpUpdateAttendeeCapabilities},
		{"PUT", "/meetings/" + m + "/attendees/capabilities?operation=batch-update-except", OpBatchUpdateAttendeeCapabilitiesExcept},
		{"POST", "/meetings/" + m + "/transcription?operation=start", OpStartMeetingTranscription},
		{"POST", "/meetings/" + m + "/transcription?operation=stop", OpStopMeetingTranscription},
		{"GET", "/tags?arn=arn:aws:chime:us-east-1:0:meeting/" + m, OpListTagsForResource},
		{"POST", "/tags?operation=tag-resource", OpTagResource},
		{"POST", "/tags?operation=untag-resource", OpUntagResource},
		{"PUT", "/meetings", OpUnknown},
		{"POST", "/meetings?operation=nope", OpUnknown},
		{"GET", "/meetings/" + m + "/attendees/" + a + "/x", OpUnknown},
		{"POST", "/meetings/" + m + "/transcription", OpUnknown},
		{"GET", "/", OpUnknown},
		{"GET", "/meetings/", OpUnknown},
	}
	for _, c := range cases {
		u, _ := url.Parse(c.target)
		if got := match(c.method, u.Path, u.Query()).op; got != c.want {
			t.Errorf("%s %s = %s, want %s", c.method, c.target, got, c.want)
		}
	}
}

// FuzzRoute: the router never panics and never returns path IDs for an
// unknown route.
func FuzzRoute(f *testing.F) {
	for _, s := range []string{"/meetings", "/meetings/x/attendees/y/capabilities", "/tags", "//meetings//", "/meetings/%2F/attendees"} {
		f.Add("GET", s, "")
		f.Add("PUT", s, "batch-update-except")
	}
	f.Fuzz(func(t *testing.T, method, path, op string) {
		r := match(method, path, url.Values{"operation": {op}})
		if r.op == OpUnknown && r.attendeeID != "" {
			t.Fatalf("unknown route with attendee id: %+v", r)
		}
		if r.op != OpUnknown && r.op != OpCreateMeeting && r.op != OpCreateMeetingWithAttendees &&
			r.op != OpListTagsForResource && r.op != OpTagResource && r.op != OpUntagResource && r.meetingID == "" {
			t.Fatalf("meeting route without meeting id: %+v", r)
		}
	})
}

// FuzzDecode sends arbitrary bodies to every body-taking operation through
// the real handler: the answer is always a typed 2xx/4xx, never a 500.
func FuzzDecode(f *testing.F) {
	h, svc := newTestHandler(f, store.NewMemory())
	m, err := svc.CreateMeeting(context.Background(), &meeting.CreateMeetingInput{ClientRequestToken: "fuzz", MediaRegion: "us-east-1", ExternalMeetingId: "ext-fuzz"})
	if err != nil {
		f.Fatal(err)
	}
	a, err := svc.CreateAttendee(context.Background(), m.MeetingId, &meeting.CreateAttendeeInput{ExternalUserId: "fuzzer"})
	if err != nil {
		f.Fatal(err)
	}
	targets := []struct{ method, path string }{
		{"POST", "/meetings"},
		{"POST", "/meetings?operation=create-attendees"},
		{"POST", "/meetings/" + m.MeetingId + "/attendees"},
		{"POST", "/meetings/" + m.MeetingId + "/attendees?operation=batch-create"},
		{"PUT", "/meetings/" + m.MeetingId + "/attendees/" + a.AttendeeId + "/capabilities"},
		{"PUT", "/meetings/" + m.MeetingId + "/attendees/capabilities?operation=batch-update-except"},
		{"POST", "/meetings/" + m.MeetingId + "/transcription?operation=start"},
		{"POST", "/tags?operation=tag-resource"},
		{"POST", "/tags?operation=untag-resource"},
	}
	seeds := []string{
		``, `{}`, `null`, `[]`, `"x"`, `{"ClientRequestToken":"t1","MediaRegion":"us-east-1","ExternalMeetingId":"e1"}`,
		`{"ClientRequestToken":"t2","MediaRegion":"us-east-1","ExternalMeetingId":"e1","MeetingFeatures":{"Video":{"MaxResolution":"FHD"},"Attendee":{"MaxCount":5}},"Attendees":[{"ExternalUserId":"u1"}]}`,
		`{"ExternalUserId":"u2","Capabilities":{"Audio":"None","Video":"Receive","Content":"Receive"}}`,
		`{"Attendees":[{"ExternalUserId":"u3"},{"ExternalUserId":1}]}`,
		`{"Capabilities":{"Audio":"None","Video":"None","Content":"None"},"ExcludedAttendeeIds":[{"AttendeeId":"` + a.AttendeeId + `"}]}`,
		`{"ResourceARN":"` + m.MeetingArn + `","Tags":[{"Key":"k","Value":"v"}],"TagKeys":["k"]}`,
		`{"TenantIds":[null],"Tags":[{}],"MeetingFeatures":{"Attendee":{}}}`,
	}
	for i := range targets {
		for _, s := range seeds {
			f.Add(uint8(i), s)
		}
	}
	f.Fuzz(func(t *testing.T, which uint8, body string) {
		tg := targets[int(which)%len(targets)]
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, signed(t, tg.method, "http://127.0.0.1:8080"+tg.path, body))
		if rec.Code >= 500 {
			t.Fatalf("%s %s %q → %d %s", tg.method, tg.path, body, rec.Code, rec.Body)
		}
		if rec.Code >= 400 {
			var e struct{ Code, Message, RequestId string }
			if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || e.Code == "" || e.Message == "" ||
				e.Code != rec.Header().Get("X-Amzn-ErrorType") || e.RequestId != rec.Header().Get("X-Amzn-RequestId") {
				t.Fatalf("untyped error %d: %s %v", rec.Code, rec.Body, rec.Header())
			}
		}
	})
}
