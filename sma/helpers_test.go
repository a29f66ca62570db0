package sma

import (
	"context"
	"encoding/json"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/confab-media/confab/internal/clock"
	"github.com/confab-media/confab/signaling/notify"
)

const testSecret = "0123456789abcdef-secret"

// handlerFunc answers one event with a response body (nil: empty body).
type handlerFunc func(ev Event) any

// testApp is an application whose handler is a real HTTP server running
// script; it records every event it got.
type testApp struct {
	t      *testing.T
	app    *Application
	srv    *httptest.Server
	mu     sync.Mutex
	events []Event
	got    chan Event
}

func newTestApp(t *testing.T, script handlerFunc) *testApp {
	ta := &testApp{t: t, got: make(chan Event, 64)}
	ta.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if err := notify.VerifyWebhook([]byte(testSecret), r.Header, body, time.Now(), 0); err != nil {
			t.Errorf("handler: %v", err)
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		var ev Event
		if err := json.Unmarshal(body, &ev); err != nil {
			t.Errorf("handler: event: %v", err)
		}
		ta.mu.Lock()
		ta.events = append(ta.events, ev)
		ta.mu.Unlock()
		ta.got <- ev
		resp := script(ev)
		if resp == nil {
			return
		}
		_ = json.NewEncoder(w).Encode(resp)
	}))
	t.Cleanup(ta.srv.Close)
	ta.app = &Application{ID: "app-1", Endpoint: ta.srv.URL, Secret: testSecret}
	return ta
}

// next waits for the handler's next event.
func (ta *testApp) next() Event {
	ta.t.Helper()
	select {
	case ev := <-ta.got:
		return ev
	case <-time.After(10 * time.Second):
		ta.t.Fatal("no event within 10 s")
		return Event{}
	}
}

// actions builds a response.
func actions(as ...map[string]any) map[string]any {
	if as == nil {
		as = []map[string]any{}
	}
	return map[string]any{"SchemaVersion": "1.0", "Actions": as}
}

func action(typ string, params map[string]any) map[string]any {
	return map[string]any{"Type": typ, "Parameters": params}
}

func s3src(key string) map[string]any {
	return map[string]any{"Type": "S3", "BucketName": "prompts", "Key": key}
}

// prompts writes 8 kHz WAV prompts of n samples each, every sample equal
// to the prompt's marker value, so a fake call can tell which one played.
func prompts(t *testing.T, n int, markers map[string]int16) *AudioStore {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "prompts"), 0o755); err != nil {
		t.Fatal(err)
	}
	for name, v := range markers {
		pcm := make([]int16, n)
		for i := range pcm {
			pcm[i] = v
		}
		if err := os.WriteFile(filepath.Join(dir, "prompts", name), EncodeWAV(pcm, 8000), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return &AudioStore{Dir: dir}
}

// fakeCall plays prompts in real time (len/8 ms) and records them by
// marker; Join accepts the token "good".
type fakeCall struct {
	mu       sync.Mutex
	played   []int16
	stopped  int
	hangup   chan int
	stop     chan struct{}
	bridged  *fakeBridge
	recStart time.Time
}

func newFakeCall() *fakeCall { return &fakeCall{hangup: make(chan int, 1)} }

func (c *fakeCall) Play(pcm []int16) (<-chan struct{}, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.bridged != nil {
		return nil, ErrBridged
	}
	if len(pcm) > 0 {
		c.played = append(c.played, pcm[0])
	}
	done, stop := make(chan struct{}), make(chan struct{})
	c.stop = stop
	go func() {
		select {
		case <-time.After(time.Duration(len(pcm)/8) * time.Millisecond):
		case <-stop:
		}
		close(done)
	}()
	return done, nil
}

func (c *fakeCall) StopPlay() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stop != nil {
		close(c.stop)
		c.stop = nil
		c.stopped++
	}
}

func (c *fakeCall) Join(token string) (Bridge, error) {
	if token != "good" {
		return nil, ErrJoinToken
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.bridged = &fakeBridge{done: make(chan struct{})}
	return c.bridged, nil
}

func (c *fakeCall) Hangup(code int) { c.hangup <- code }

// StartRecording and StopRecording: the fake caller says a 500 Hz tone,
// 8 samples per millisecond recorded.
func (c *fakeCall) StartRecording(time.Duration) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.recStart = time.Now()
	return nil
}

func (c *fakeCall) StopRecording() []int16 {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := int(time.Since(c.recStart) / time.Millisecond * 8)
	pcm := make([]int16, n)
	for i := range pcm {
		pcm[i] = int16(8000 * math.Sin(2*math.Pi*500*float64(i)/8000))
	}
	return pcm
}

func (c *fakeCall) plays() []int16 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]int16(nil), c.played...)
}

type fakeBridge struct {
	mu    sync.Mutex
	muted bool
	left  bool
	done  chan struct{}
}

func (b *fakeBridge) MeetingID() string     { return "meeting-1" }
func (b *fakeBridge) AttendeeID() string    { return "attendee-1" }
func (b *fakeBridge) SetMuted(m bool)       { b.mu.Lock(); b.muted = m; b.mu.Unlock() }
func (b *fakeBridge) Done() <-chan struct{} { return b.done }
func (b *fakeBridge) Leave()                { b.mu.Lock(); b.left = true; b.mu.Unlock() }

// startSession begins a session of app and, if Begin admits the call,
// runs it on call in the background; it returns Begin's code and a
// channel closed when Run returned.
func startSession(t *testing.T, ta *testApp, audio *AudioStore, call Call) (*Session, int, chan struct{}) {
	rt := &Runtime{Invoker: &HTTPInvoker{Timeout: 2 * time.Second}, Audio: audio, Clock: clock.System{}, AccountID: "123456789012", Region: "us-east-1"}
	s := rt.NewSession(CallInfo{Rule: &Rule{ID: "rule-1"}, App: ta.app, To: "+15550100", From: "+15550111", BridgeFrom: "+17035550122"})
	code := s.Begin(context.Background())
	done := make(chan struct{})
	if code != 0 {
		close(done)
		return s, code, done
	}
	go func() { defer close(done); s.Run(context.Background(), call) }()
	t.Cleanup(func() {
		s.End()
		<-done
	})
	return s, code, done
}
