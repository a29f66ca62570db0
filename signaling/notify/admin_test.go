package notify

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/confab-media/confab/signaling/events"
)

// adminClient calls the admin API mounted as the control plane will mount it.
type adminClient struct {
	tb  testing.TB
	srv *httptest.Server
}

func newAdmin(tb testing.TB, s *Service) *adminClient {
	mux := http.NewServeMux()
	mux.Handle(AdminPrefix+"/", s.Admin())
	srv := httptest.NewServer(mux)
	tb.Cleanup(srv.Close)
	return &adminClient{tb, srv}
}

// do sends a request and decodes the JSON answer into out (if not nil).
func (a *adminClient) do(method, path, body string, out any) (int, http.Header) {
	a.tb.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, _ := http.NewRequest(method, a.srv.URL+AdminPrefix+path, r)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		a.tb.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusNoContent && resp.Header.Get("Content-Type") != "application/json" {
		a.tb.Errorf("%s %s: Content-Type %q", method, path, resp.Header.Get("Content-Type"))
	}
	if out != nil && len(b) > 0 {
		if err := json.Unmarshal(b, out); err != nil {
			a.tb.Fatalf("%s %s: %v: %s", method, path, err, b)
		}
	}
	return resp.StatusCode, resp.Header
}

// wantErr checks a typed error answer.
func (a *adminClient) wantErr(method, path, body string, status int, code string) apiError {
	a.tb.Helper()
	var e apiError
	if got, _ := a.do(method, path, body, &e); got != status || e.Code != code || e.Message == "" {
		a.tb.Errorf("%s %s: %d %+v, want %d %s", method, path, got, e, status, code)
	}
	return e
}

func TestAdminHooks(t *testing.T) {
	r := newReceiver(t, testSecret, time.Now)
	var failing atomic.Bool
	r.setFail(func(int) int {
		if failing.Load() {
			return http.StatusInternalServerError
		}
		return 0
	})
	dir := t.TempDir()
	cfg := Config{Dir: dir, Hooks: []Hook{webhookHook("from-config", r.srv.URL)}}
	s := testService(t, cfg, Params{})
	a := newAdmin(t, s)

	var list struct{ Hooks []HookInfo }
	if code, _ := a.do("GET", "/hooks", "", &list); code != 200 || len(list.Hooks) != 1 ||
		list.Hooks[0].Source != sourceConfig || list.Hooks[0].Webhook.Secret != "" || !list.Hooks[0].IsEnabled() {
		t.Fatalf("list: %d %+v", code, list)
	}

	a.wantErr("POST", "/hooks", `{"name":`, 400, "BadRequest")
	a.wantErr("POST", "/hooks", `{"name":"x","type":"webhook","bogus":1}`, 400, "BadRequest")
	a.wantErr("POST", "/hooks", `{"name":"x","type":"carrier-pigeon"}`, 400, "BadRequest")
	a.wantErr("POST", "/hooks", `{"name":"x","type":"webhook","webhook":{"url":"`+r.srv.URL+`","secret":"short"}}`, 400, "BadRequest")
	a.wantErr("POST", "/hooks", `{"name":"x","type":"webhook","event_types":["chime:Nope"],"webhook":{"url":"`+r.srv.URL+`","secret":"`+testSecret+`"}}`, 400, "BadRequest")
	a.wantErr("POST", "/hooks", `{"name":"bad name","type":"webhook","webhook":{"url":"`+r.srv.URL+`","secret":"`+testSecret+`"}}`, 400, "BadRequest")
	a.wantErr("POST", "/hooks", `{"name":"x","type":"sqs","sqs":{"queue_url":"not a url"}}`, 400, "BadRequest")

	body := `{"name":"ops","type":"webhook","event_types":["chime:AttendeeJoined"],"webhook":{"url":"` + r.srv.URL + `","secret":"` + testSecret + `"}}`
	var created struct{ Hook HookInfo }
	if code, _ := a.do("POST", "/hooks", body, &created); code != 201 || created.Hook.Name != "ops" ||
		created.Hook.Source != sourceAPI || created.Hook.Webhook.Secret != "" || len(created.Hook.EventTypes) != 1 {
		t.Fatalf("create: %d %+v", code, created)
	}
	a.wantErr("POST", "/hooks", body, 409, "Conflict")
	a.wantErr("PUT", "/hooks/from-config", body, 409, "Conflict")
	a.wantErr("DELETE", "/hooks/from-config", "", 409, "Conflict")
	a.wantErr("PUT", "/hooks/ops", `{"name":"other","type":"webhook"}`, 400, "BadRequest")
	a.wantErr("GET", "/hooks/nope", "", 404, "NotFound")
	a.wantErr("PUT", "/hooks/nope", body, 404, "NotFound")
	a.wantErr("DELETE", "/hooks/nope", "", 404, "NotFound")
	a.wantErr("POST", "/hooks/nope/test", "", 404, "NotFound")
	if _, h := a.do("PATCH", "/hooks/ops", "", nil); h.Get("Allow") != "GET, PUT, DELETE" {
		t.Errorf("Allow %q", h.Get("Allow"))
	}
	a.wantErr("PATCH", "/hooks/ops", "", 405, "MethodNotAllowed")
	a.wantErr("GET", "/hooks/ops/test", "", 405, "MethodNotAllowed")
	a.wantErr("GET", "/nothing-here", "", 404, "NotFound")

	// Update without the secret: it keeps the stored one, as the test shows.
	upd := `{"type":"webhook","enabled":false,"webhook":{"url":"` + r.srv.URL + `"}}`
	var updated struct{ Hook HookInfo }
	if code, _ := a.do("PUT", "/hooks/ops", upd, &updated); code != 200 || updated.Hook.IsEnabled() || len(updated.Hook.EventTypes) != 0 {
		t.Fatalf("update: %d %+v", code, updated)
	}
	// A hook as listed can be sent back unchanged.
	var raw struct{ Hook json.RawMessage }
	a.do("GET", "/hooks/ops", "", &raw)
	if code, _ := a.do("PUT", "/hooks/ops", string(raw.Hook), nil); code != 200 {
		t.Fatalf("round trip %s: %d", raw.Hook, code)
	}
	var res TestResult
	if code, _ := a.do("POST", "/hooks/ops/test", "", &res); code != 200 || !res.Delivered || res.Error != "" || res.EventID == "" {
		t.Fatalf("test: %d %+v", code, res)
	}
	bodies, hdrs := r.got()
	var probe events.Event
	if err := json.Unmarshal([]byte(bodies[len(bodies)-1]), &probe); err != nil || probe.Detail.EventType != ProbeEventType ||
		probe.ID != res.EventID || hdrs[len(hdrs)-1].Get(HeaderHook) != "ops" {
		t.Errorf("probe %s %v", bodies[len(bodies)-1], err)
	}
	failing.Store(true)
	if code, _ := a.do("POST", "/hooks/ops/test", "", &res); code != 200 || res.Delivered ||
		res.Error != "webhook answered 500 Internal Server Error: receiver says no" {
		t.Fatalf("failing test: %d %+v", code, res)
	}
	failing.Store(false)

	// Admin hooks survive a restart; config hooks come from the config.
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	a.wantErr("GET", "/outbox", "", 503, "ServiceUnavailable")
	s2 := testService(t, cfg, Params{})
	a2 := newAdmin(t, s2)
	var got struct{ Hook HookInfo }
	if code, _ := a2.do("GET", "/hooks/ops", "", &got); code != 200 || got.Hook.Source != sourceAPI || got.Hook.IsEnabled() {
		t.Fatalf("after restart: %d %+v", code, got)
	}
	if code, _ := a2.do("DELETE", "/hooks/ops", "", nil); code != 204 {
		t.Fatalf("delete: %d", code)
	}
	a2.wantErr("GET", "/hooks/ops", "", 404, "NotFound")
}

// A disabled hook takes no new events; what it had queued waits for it.
// Deleting a hook dead-letters its queue; such letters cannot be re-driven.
func TestAdminDisableAndDelete(t *testing.T) {
	r := newReceiver(t, testSecret, time.Now)
	var failing atomic.Bool
	failing.Store(true)
	r.setFail(func(int) int {
		if failing.Load() {
			return http.StatusBadGateway
		}
		return 0
	})
	s := testService(t, Config{}, Params{})
	a := newAdmin(t, s)
	hook := func(enabled bool) string {
		e := "true"
		if !enabled {
			e = "false"
		}
		return `{"name":"h","type":"webhook","enabled":` + e + `,"webhook":{"url":"` + r.srv.URL + `","secret":"` + testSecret + `"}}`
	}
	if code, _ := a.do("POST", "/hooks", hook(true), nil); code != 201 {
		t.Fatal(code)
	}
	evs := lifecycle(testMeeting)
	for _, e := range evs[:3] {
		s.Deliver(context.Background(), e)
	}
	waitFor(t, 15*time.Second, "failed attempts", func() bool { return counterValue(t, s, "confab_notify_retried_total", "hook:h") >= 1 })
	if code, _ := a.do("PUT", "/hooks/h", hook(false), nil); code != 200 {
		t.Fatal(code)
	}
	for _, e := range evs[3:6] {
		s.Deliver(context.Background(), e) // not taken: disabled
	}
	var st OutboxStatus
	a.do("GET", "/outbox", "", &st)
	if len(st.Targets) != 1 || st.Targets[0].Target != "hook:h" || st.Targets[0].Queued != 3 {
		t.Fatalf("outbox %+v", st)
	}
	failing.Store(false)
	if code, _ := a.do("PUT", "/hooks/h", hook(true), nil); code != 200 {
		t.Fatal(code)
	}
	waitFor(t, 15*time.Second, "queued events after re-enabling", func() bool { return r.count() == 3 })
	bodies, _ := r.got()
	wantExactly(t, "re-enabled hook", bodies, evs[:3])

	failing.Store(true)
	for _, e := range evs[6:9] {
		s.Deliver(context.Background(), e)
	}
	if code, _ := a.do("DELETE", "/hooks/h", "", nil); code != 204 {
		t.Fatal(code)
	}
	waitFor(t, 15*time.Second, "dead letters of the deleted hook", func() bool { return s.admin.outboxStatus().DeadLetters == 3 })
	var dl struct {
		DeadLetters []DeadLetter `json:"dead_letters"`
		Next        string
	}
	if code, _ := a.do("GET", "/dead-letters?target=hook:h&limit=2", "", &dl); code != 200 || len(dl.DeadLetters) != 2 || dl.Next == "" {
		t.Fatalf("dead letters page 1: %d %+v", code, dl)
	}
	first := dl.DeadLetters[0]
	if first.Reason != ReasonHookDeleted || first.Event != nil || first.EventID != evs[6].ID {
		t.Errorf("dead letter %+v", first)
	}
	if code, _ := a.do("GET", "/dead-letters?after="+dl.Next, "", &dl); code != 200 || len(dl.DeadLetters) != 1 || dl.Next != "" {
		t.Fatalf("dead letters page 2: %d %+v", code, dl)
	}
	var one struct {
		DeadLetter DeadLetter `json:"dead_letter"`
	}
	if code, _ := a.do("GET", "/dead-letters/"+first.ID, "", &one); code != 200 || string(one.DeadLetter.Event) != string(evs[6].JSON()) {
		t.Fatalf("dead letter %d %+v", code, one)
	}
	a.wantErr("POST", "/dead-letters/"+first.ID+"/redrive", "", 409, "Conflict")
	var rr RedriveResult
	if code, _ := a.do("POST", "/dead-letters/redrive", "", &rr); code != 202 || rr.Redriven != 0 || len(rr.Skipped) != 3 {
		t.Fatalf("redrive all: %d %+v", code, rr)
	}
	a.wantErr("GET", "/dead-letters/0", "", 404, "NotFound")
	a.wantErr("GET", "/dead-letters/99999", "", 404, "NotFound")
	a.wantErr("POST", "/dead-letters/x/redrive", "", 404, "NotFound")
	a.wantErr("GET", "/dead-letters?limit=0", "", 400, "BadRequest")
	if code, _ := a.do("DELETE", "/dead-letters/"+first.ID, "", nil); code != 204 {
		t.Fatal(code)
	}
	a.wantErr("DELETE", "/dead-letters/"+first.ID, "", 404, "NotFound")
	if st := s.admin.outboxStatus(); st.DeadLetters != 2 {
		t.Errorf("dead letters after delete: %d", st.DeadLetters)
	}
}
