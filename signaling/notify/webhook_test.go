package notify

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/confab-media/confab/signaling/events"
)

const testSecret = "0123456789abcdef-secret"

// receiver is a webhook endpoint that verifies signatures and records what
// it accepted. fail, when set, picks the status for each request (0: 200).
type receiver struct {
	tb     testing.TB
	secret string
	now    func() time.Time
	srv    *httptest.Server

	mu      sync.Mutex // guards the fields below
	fail    func(n int) int
	n       int
	bodies  []string
	headers []http.Header
	badSig  int
}

func newReceiver(tb testing.TB, secret string, now func() time.Time) *receiver {
	r := &receiver{tb: tb, secret: secret, now: now}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	tb.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) serve(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.n++
	if r.fail != nil {
		if code := r.fail(r.n); code != 0 && code != http.StatusOK {
			http.Error(w, "receiver says no", code)
			return
		}
	}
	if err := VerifyWebhook([]byte(r.secret), req.Header, body, r.now(), 0); err != nil {
		r.badSig++
		http.Error(w, err.Error(), http.StatusUnauthorized)
		return
	}
	r.bodies = append(r.bodies, string(body))
	r.headers = append(r.headers, req.Header.Clone())
	w.WriteHeader(http.StatusNoContent)
}

func (r *receiver) got() ([]string, []http.Header) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.bodies...), append([]http.Header(nil), r.headers...)
}

func (r *receiver) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.bodies)
}

func (r *receiver) setFail(f func(n int) int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.fail = f
}

func webhookHook(name, url string, types ...events.Type) Hook {
	return Hook{Name: name, Type: HookWebhook, EventTypes: types, Webhook: &WebhookTarget{URL: url, Secret: testSecret}}
}

func TestWebhookSignedAndFiltered(t *testing.T) {
	all := newReceiver(t, testSecret, time.Now)
	joins := newReceiver(t, testSecret, time.Now)
	s := testService(t, Config{Hooks: []Hook{
		webhookHook("all", all.srv.URL),
		webhookHook("joins", joins.srv.URL, events.AttendeeJoined, events.AttendeeLeft),
	}}, Params{})
	evs := lifecycle(testMeeting)
	for _, e := range evs {
		s.Deliver(context.Background(), e)
	}
	var want []events.Event
	for _, e := range evs {
		if e.Detail.EventType == events.AttendeeJoined || e.Detail.EventType == events.AttendeeLeft {
			want = append(want, e)
		}
	}
	waitFor(t, 20*time.Second, "webhooks", func() bool { return all.count() == len(evs) && joins.count() == len(want) })
	bodies, hdrs := all.got()
	wantExactly(t, "all", bodies, evs)
	jb, _ := joins.got()
	wantExactly(t, "joins", jb, want)
	if all.badSig+joins.badSig != 0 {
		t.Errorf("%d bad signatures", all.badSig+joins.badSig)
	}
	for i, h := range hdrs {
		var e events.Event
		_ = json.Unmarshal([]byte(bodies[i]), &e)
		if h.Get(HeaderEventID) != e.ID || h.Get(HeaderEventType) != string(e.Detail.EventType) ||
			h.Get(HeaderHook) != "all" || h.Get(HeaderAttempt) != "1" || h.Get("Content-Type") != "application/json" {
			t.Errorf("headers %v for %s", h, e.ID)
		}
	}
	// Order is best effort, but one healthy target delivers in order.
	for i, b := range bodies {
		if b != string(evs[i].JSON()) {
			t.Errorf("webhook body %d out of order", i)
			break
		}
	}
}

func TestVerifyWebhook(t *testing.T) {
	body := []byte(`{"id":"x"}`)
	now := time.Unix(1795428000, 0)
	h := http.Header{}
	h.Set(HeaderTimestamp, strconv.FormatInt(now.Unix(), 10))
	h.Set(HeaderSignature, "v1=deadbeef, "+Sign([]byte(testSecret), now.Unix(), body))
	if err := VerifyWebhook([]byte(testSecret), h, body, now.Add(time.Minute), 0); err != nil {
		t.Fatalf("valid signature refused: %v", err)
	}
	// Vector computed independently: python3 -c 'import hmac,hashlib;
	// print(hmac.new(b"k",b"1.{}",hashlib.sha256).hexdigest())'
	if got := Sign([]byte("k"), 1, []byte("{}")); got != "v1=3dd49b2593d0f9a349e9e71c4bde3e2b862c2be4003fe9b4ba81332029310158" {
		t.Errorf("Sign = %s", got)
	}
	for name, tc := range map[string]struct {
		secret, body string
		at           time.Time
	}{
		"wrong secret": {"another-secret-of-16", string(body), now},
		"altered body": {testSecret, `{"id":"y"}`, now},
		"stale":        {testSecret, string(body), now.Add(10 * time.Minute)},
		"future":       {testSecret, string(body), now.Add(-10 * time.Minute)},
	} {
		if err := VerifyWebhook([]byte(tc.secret), h, []byte(tc.body), tc.at, 0); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if err := VerifyWebhook([]byte(testSecret), http.Header{}, body, now, 0); err == nil {
		t.Error("missing headers accepted")
	}
}

// A webhook failing with 500 for a while gets every event once it answers
// 2xx again; nothing is dead-lettered.
func TestWebhookFailsThenRecovers(t *testing.T) {
	r := newReceiver(t, testSecret, time.Now)
	var failing atomic.Bool
	failing.Store(true)
	r.setFail(func(int) int {
		if failing.Load() {
			return http.StatusInternalServerError
		}
		return 0
	})
	s := testService(t, Config{Hooks: []Hook{webhookHook("h", r.srv.URL)}}, Params{})
	evs := lifecycle(testMeeting)
	for _, e := range evs {
		s.Deliver(context.Background(), e)
	}
	waitFor(t, 15*time.Second, "retries", func() bool { return counterValue(t, s, "confab_notify_retried_total", "hook:h") >= 3 })
	failing.Store(false)
	waitFor(t, 20*time.Second, "recovery", func() bool { return r.count() == len(evs) })
	bodies, hdrs := r.got()
	wantExactly(t, "webhook", bodies, evs)
	if a, _ := strconv.Atoi(hdrs[0].Get(HeaderAttempt)); a < 2 {
		t.Errorf("first event's attempt header = %q, want ≥ 2", hdrs[0].Get(HeaderAttempt))
	}
	waitFor(t, 15*time.Second, "outbox to drain", func() bool { return s.queued() == 0 })
	if st := s.admin.outboxStatus(); st.DeadLetters != 0 {
		t.Errorf("dead letters: %d", st.DeadLetters)
	}
	if v := counterValue(t, s, "confab_notify_delivered_total", "hook:h"); v != float64(len(evs)) {
		t.Errorf("delivered metric = %v", v)
	}
}

// Retry budget spent → dead letter; re-drive delivers it once the target works.
func TestDeadLetterAndRedrive(t *testing.T) {
	r := newReceiver(t, testSecret, time.Now)
	var failing atomic.Bool
	failing.Store(true)
	r.setFail(func(int) int {
		if failing.Load() {
			return http.StatusServiceUnavailable
		}
		return 0
	})
	retry := fastRetry
	retry.MaxAttempts = 3
	s := testService(t, Config{Hooks: []Hook{webhookHook("h", r.srv.URL)}, Retry: retry}, Params{})
	evs := lifecycle(testMeeting)[:3]
	for _, e := range evs {
		s.Deliver(context.Background(), e)
	}
	waitFor(t, 20*time.Second, "dead letters", func() bool { return s.admin.outboxStatus().DeadLetters == len(evs) })
	list, _, err := s.admin.dead.list("", 0, 100)
	if err != nil || len(list) != len(evs) {
		t.Fatalf("dead letters %v %v", list, err)
	}
	d := list[0]
	if d.Reason != ReasonMaxAttempts || d.Attempts != 3 || d.Target != "hook:h" || d.EventID != evs[0].ID ||
		!strings.Contains(d.LastError, "503") {
		t.Errorf("dead letter %+v", d)
	}
	if v := counterValue(t, s, "confab_notify_dead_lettered_total", "hook:h"); v != float64(len(evs)) {
		t.Errorf("dead_lettered metric = %v", v)
	}
	if r.count() != 0 {
		t.Fatal("delivered while failing")
	}

	failing.Store(false)
	if err := s.admin.dead.redrive(d.ID); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 15*time.Second, "re-driven event", func() bool { return r.count() == 1 })
	res, err := s.admin.dead.redriveAll("hook:h")
	if err != nil || res.Redriven != len(evs)-1 {
		t.Fatalf("redrive all: %+v %v", res, err)
	}
	waitFor(t, 15*time.Second, "re-driven events", func() bool { return r.count() == len(evs) })
	bodies, _ := r.got()
	wantExactly(t, "after re-drive", bodies, evs)
	if err := s.admin.dead.redrive(d.ID); err == nil {
		t.Error("re-driving a re-driven letter succeeded")
	}
	if st := s.admin.outboxStatus(); st.DeadLetters != 0 {
		t.Errorf("dead letters left: %d", st.DeadLetters)
	}
}

func TestOversizedEventDeadLettered(t *testing.T) {
	r := newReceiver(t, testSecret, time.Now)
	s := testService(t, Config{Hooks: []Hook{webhookHook("h", r.srv.URL)}, MaxMessageBytes: 4096}, Params{})
	big := mkEvent(events.AttendeeAdded, testMeeting, "1111aaaa-0000-4000-8000-000000000001")
	big.Detail.ExternalUserID = strings.Repeat("x", 5000)
	small := mkEvent(events.AttendeeJoined, testMeeting, "1111aaaa-0000-4000-8000-000000000001")
	s.Deliver(context.Background(), big)
	s.Deliver(context.Background(), small)
	waitFor(t, 15*time.Second, "the small event", func() bool { return r.count() == 1 })
	list, _, _ := s.admin.dead.list("hook:h", 0, 10)
	if len(list) != 1 || list[0].EventID != big.ID || list[0].Reason != ReasonTooLarge || list[0].Attempts != 0 ||
		!strings.Contains(list[0].Detail, "over the 4096-byte limit") {
		t.Fatalf("dead letters %+v", list)
	}
	full, err := s.admin.dead.get(list[0].ID)
	if err != nil || string(full.Event) != string(big.JSON()) {
		t.Fatalf("dead letter body: %v", err)
	}
	if err := s.admin.dead.redrive(list[0].ID); err == nil || !strings.Contains(err.Error(), "limit") {
		t.Errorf("oversized re-drive: %v", err)
	}
	if v := counterValue(t, s, "confab_notify_dead_lettered_total", "hook:h"); v != 1 {
		t.Errorf("dead_lettered metric = %v", v)
	}
}

// A target that hangs holds up neither Deliver nor the other targets.
func TestSlowTargetBlocksNothing(t *testing.T) {
	release := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer slow.Close()
	defer close(release)
	fast := newReceiver(t, testSecret, time.Now)
	s := testService(t, Config{
		Hooks:          []Hook{webhookHook("slow", slow.URL), webhookHook("fast", fast.srv.URL)},
		WebhookTimeout: time.Minute,
	}, Params{})
	const n, par = 200, 8
	start := time.Now()
	var wg sync.WaitGroup
	for p := 0; p < par; p++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := p; i < n; i += par {
				s.Deliver(context.Background(), mkEvent(events.AttendeeJoined, testMeeting, fmt.Sprintf("%08d-0000-4000-8000-000000000000", i)))
			}
		}()
	}
	wg.Wait()
	// Were Deliver waiting on the slow hook, this would take minutes.
	if d := time.Since(start); d > 20*time.Second {
		t.Errorf("%d Deliver calls took %v", n, d)
	}
	waitFor(t, 20*time.Second, "the fast hook", func() bool { return fast.count() == n })
	d, _ := s.ob.depths()
	if d["hook:slow"] != n {
		t.Errorf("slow hook queue = %d, want %d", d["hook:slow"], n)
	}
}

// counterValue sums a metric's samples with the given target label.
func counterValue(tb testing.TB, s *Service, name, target string) float64 {
	tb.Helper()
	g, ok := s.m.reg.(prometheus.Gatherer)
	if !ok {
		tb.Fatal("registerer is not a gatherer")
	}
	mfs, err := g.Gather()
	if err != nil {
		tb.Fatal(err)
	}
	var sum float64
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			match := target == ""
			for _, l := range m.GetLabel() {
				if l.GetName() == "target" && l.GetValue() == target {
					match = true
				}
			}
			if !match {
				continue
			}
			switch {
			case m.Counter != nil:
				sum += m.Counter.GetValue()
			case m.Gauge != nil:
				sum += m.Gauge.GetValue()
			case m.Histogram != nil:
				sum += float64(m.Histogram.GetSampleCount())
			}
		}
	}
	return sum
}

// TestWebhookBatch: a hook with Batch > 1 gets JSON arrays (signed over the
// array, HeaderBatch = its length, never over Batch events), every event
// exactly once and in order; a failed batch is retried whole.
func TestWebhookBatch(t *testing.T) {
	r := newReceiver(t, testSecret, time.Now)
	r.setFail(func(n int) int {
		if n == 1 {
			return http.StatusServiceUnavailable // the first POST fails: retried whole
		}
		return 0
	})
	h := webhookHook("batched", r.srv.URL)
	h.Webhook.Batch = 4
	s := testService(t, Config{Hooks: []Hook{h}}, Params{})
	var evs []events.Event
	for range 5 {
		evs = append(evs, lifecycle(testMeeting)...)
	}
	for _, e := range evs {
		s.Deliver(context.Background(), e)
	}
	var flat []string
	waitFor(t, 20*time.Second, "batched webhooks", func() bool {
		bodies, hdrs := r.got()
		flat = flat[:0]
		for i, b := range bodies {
			var arr []json.RawMessage
			if err := json.Unmarshal([]byte(b), &arr); err != nil {
				t.Fatalf("body %d is not a JSON array: %v", i, err)
			}
			if n, _ := strconv.Atoi(hdrs[i].Get(HeaderBatch)); n != len(arr) || n < 1 || n > 4 || hdrs[i].Get(HeaderEventID) != "" {
				t.Fatalf("POST %d: %d events, headers %v", i, len(arr), hdrs[i])
			}
			for _, e := range arr {
				flat = append(flat, string(e))
			}
		}
		return len(flat) >= len(evs)
	})
	wantExactly(t, "batched", flat, evs)
	for i, b := range flat {
		if b != string(evs[i].JSON()) {
			t.Fatalf("event %d out of order", i)
		}
	}
	if bodies, hdrs := r.got(); len(bodies) >= len(evs) || hdrs[0].Get(HeaderAttempt) != "2" {
		t.Errorf("%d POSTs for %d events, first attempt header %q (want 2: the first POST failed)", len(bodies), len(evs), hdrs[0].Get(HeaderAttempt))
	}
}

func TestWebhookBatchValidated(t *testing.T) {
	for _, n := range []int{-1, MaxWebhookBatch + 1} {
		h := webhookHook("x", "https://example.test/hook")
		h.Webhook.Batch = n
		if err := h.Webhook.validate(); err == nil {
			t.Errorf("batch %d accepted", n)
		}
	}
}
