package sipgw

import (
	"fmt"
	"log/slog"
	"math"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"gopkg.in/hraban/opus.v2"

	"github.com/confab-media/confab/internal/dsp"
	"github.com/confab-media/confab/mixer"
	"github.com/confab-media/confab/signaling/meeting"
)

// Test fixtures: a fake Auth, a Conference backed by a real mixer with a
// synthetic "browser" leg playing a 440 Hz tone, and audio analysis.

const (
	browserTone = 440.0  // what the synthetic browser attendee says
	phoneTone   = 1000.0 // what test phones say
	dialIn      = "+17035550122"
	caller      = "+12065550100"
)

// testAuth verifies tokens from a fixed table.
type testAuth struct {
	mu     sync.Mutex
	tokens map[string]meeting.Identity
	errs   map[string]error
	calls  atomic.Int32
}

func newTestAuth() *testAuth {
	return &testAuth{
		tokens: map[string]meeting.Identity{},
		errs: map[string]error{
			"revoked-token": meeting.ErrTokenRevoked,
			"ended-token":   meeting.ErrMeetingEnded,
		},
	}
}

// add registers a valid token for a new attendee of meeting m.
func (a *testAuth) add(token, attendee string) meeting.Identity {
	id := meeting.Identity{MeetingID: "m-1", AttendeeID: attendee, ExternalUserID: "phone-" + attendee}
	a.mu.Lock()
	a.tokens[token] = id
	a.mu.Unlock()
	return id
}

func (a *testAuth) Verify(token string) (meeting.Identity, error) {
	a.calls.Add(1)
	a.mu.Lock()
	defer a.mu.Unlock()
	if id, ok := a.tokens[token]; ok {
		return id, nil
	}
	if err, ok := a.errs[token]; ok {
		return meeting.Identity{}, err
	}
	return meeting.Identity{}, meeting.ErrTokenInvalid
}

// testConference is a Conference on a real, running mixer.
type testConference struct {
	t *testing.T
	m *mixer.Mixer

	mu     sync.Mutex
	legs   map[string]*confLeg
	joins  chan *confLeg
	full   bool
	gate   chan struct{} // when set, JoinPhone waits for it to close
	joined atomic.Int32  // JoinPhone calls

	browser *recorder
	stop    chan struct{}
	wg      sync.WaitGroup
}

// confLeg is a phone's leg in the test conference.
type confLeg struct {
	c        *testConference
	id       meeting.Identity
	leg      *mixer.Leg
	pushes   atomic.Int64
	muted    atomic.Bool
	levels   atomic.Int64 // sum of levels pushed, to check they are measured
	done     chan struct{}
	doneOnce sync.Once
	left     chan struct{}
	leftOnce sync.Once
}

func (l *confLeg) Push(p []byte, ts uint32, level int8) error {
	l.pushes.Add(1)
	l.levels.Add(int64(level))
	return l.leg.Push(mixer.Frame{Payload: p, Timestamp: ts, Level: level})
}
func (l *confLeg) PushPCM(pcm []int16, ts uint32, level int8) error {
	l.pushes.Add(1)
	l.levels.Add(int64(level))
	return l.leg.PushPCM(pcm, ts, level)
}
func (l *confLeg) SetMuted(m bool)       { l.muted.Store(m); l.leg.SetMuted(m) }
func (l *confLeg) Done() <-chan struct{} { return l.done }
func (l *confLeg) Leave() {
	l.leftOnce.Do(func() {
		l.c.m.RemoveLeg(mixer.LegID(l.id.AttendeeID))
		close(l.left)
	})
}

// remove simulates DeleteAttendee: the gateway must hang up.
func (l *confLeg) remove() { l.doneOnce.Do(func() { close(l.done) }) }

func (l *confLeg) waitLeft(t *testing.T, d time.Duration) {
	t.Helper()
	select {
	case <-l.left:
	case <-time.After(d):
		t.Fatalf("leg %s: Leave not called within %v", l.id.AttendeeID, d)
	}
}

func newConference(t *testing.T) *testConference {
	t.Helper()
	m, err := mixer.New(mixer.Config{Complexity: 5}, mixer.Params{})
	if err != nil {
		t.Fatal(err)
	}
	c := &testConference{
		t: t, m: m, legs: map[string]*confLeg{}, joins: make(chan *confLeg, 16),
		browser: newRecorder(48000), stop: make(chan struct{}),
	}
	dec, err := opus.NewDecoder(48000, 1)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]int16, 960)
	bleg, err := m.AddLeg("browser", func(p []byte, _ uint32) {
		if n, err := dec.Decode(p, buf); err == nil {
			c.browser.add(buf[:n])
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	m.Start()
	c.wg.Add(1)
	go c.speak(bleg, newToneEncoder(t, 48000, browserTone, 8000))
	t.Cleanup(c.close)
	return c
}

// speak plays the browser's 440 Hz tone into the mixer in real time.
func (c *testConference) speak(l *mixer.Leg, g *toneEncoder) {
	defer c.wg.Done()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	ts := uint32(777)
	for {
		select {
		case <-c.stop:
			return
		case now := <-tick.C:
			p, level := g.next()
			_ = l.Push(mixer.Frame{Payload: p, Timestamp: ts, Level: level, Arrival: now})
			ts += 960
		}
	}
}

func (c *testConference) close() {
	close(c.stop)
	c.wg.Wait()
	c.m.Close()
}

func (c *testConference) JoinPhone(id meeting.Identity, codec mixer.Codec, mix func([]byte, uint32)) (PhoneLeg, error) {
	c.joined.Add(1)
	c.mu.Lock()
	gate, full := c.gate, c.full
	c.mu.Unlock()
	if gate != nil {
		<-gate
	}
	if full {
		return nil, fmt.Errorf("meeting m-1: %w", ErrMeetingFull)
	}
	var leg *mixer.Leg
	var err error
	if codec == mixer.CodecOpus {
		leg, err = c.m.AddLeg(mixer.LegID(id.AttendeeID), mixer.Sink(mix))
	} else {
		leg, err = c.m.AddPCMLeg(mixer.LegID(id.AttendeeID), codec, mixer.Sink(mix))
	}
	if err != nil {
		return nil, err
	}
	l := &confLeg{c: c, id: id, leg: leg, done: make(chan struct{}), left: make(chan struct{})}
	c.mu.Lock()
	c.legs[id.AttendeeID] = l
	c.mu.Unlock()
	c.joins <- l
	return l, nil
}

// nextJoin waits for the next leg to join.
func (c *testConference) nextJoin(t *testing.T) *confLeg {
	t.Helper()
	select {
	case l := <-c.joins:
		return l
	case <-time.After(10 * time.Second):
		t.Fatal("no phone joined the conference")
		return nil
	}
}

// recorder accumulates PCM.
type recorder struct {
	rate int
	mu   sync.Mutex
	pcm  []int16
}

func newRecorder(rate int) *recorder { return &recorder{rate: rate} }

func (r *recorder) add(p []int16) {
	r.mu.Lock()
	r.pcm = append(r.pcm, p...)
	r.mu.Unlock()
}

func (r *recorder) len() time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	return time.Duration(len(r.pcm)) * time.Second / time.Duration(r.rate)
}

// tail returns the last d of audio (or all of it).
func (r *recorder) tail(d time.Duration) []int16 {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := min(int(d*time.Duration(r.rate)/time.Second), len(r.pcm))
	return append([]int16(nil), r.pcm[len(r.pcm)-n:]...)
}

// mark returns the current length, for since.
func (r *recorder) mark() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.pcm)
}

// since returns the audio recorded after mark.
func (r *recorder) since(mark int) []int16 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]int16(nil), r.pcm[min(mark, len(r.pcm)):]...)
}

// toneEncoder generates a sine and encodes it as Opus frames (48 kHz) or
// returns raw PCM frames.
type toneEncoder struct {
	rate  int
	freq  float64
	amp   float64
	phase float64
	pcm   []int16
	enc   *opus.Encoder
	buf   []byte
}

func newToneEncoder(t testing.TB, rate int, freq, amp float64) *toneEncoder {
	g := &toneEncoder{rate: rate, freq: freq, amp: amp, pcm: make([]int16, rate/50), buf: make([]byte, 1500)}
	if rate == 48000 {
		enc, err := opus.NewEncoder(48000, 1, opus.AppVoIP)
		if err != nil {
			t.Fatal(err)
		}
		_ = enc.SetBitrate(32000)
		_ = enc.SetComplexity(5)
		_ = enc.SetInBandFEC(true)
		_ = enc.SetPacketLossPerc(10)
		g.enc = enc
	}
	return g
}

// frame fills the next 20 ms of PCM.
func (g *toneEncoder) frame() []int16 {
	for i := range g.pcm {
		g.pcm[i] = int16(g.amp * math.Sin(g.phase))
		g.phase += 2 * math.Pi * g.freq / float64(g.rate)
	}
	g.phase = math.Mod(g.phase, 2*math.Pi)
	return g.pcm
}

// next returns the next Opus frame (a fresh copy) and its level.
func (g *toneEncoder) next() ([]byte, int8) {
	pcm := g.frame()
	n, err := g.enc.Encode(pcm, g.buf)
	if err != nil {
		panic(err)
	}
	return append([]byte(nil), g.buf[:n]...), levelFromPCM(pcm)
}

func goertzel(x []int16, freq float64, fs int) float64 { return dsp.Goertzel(x, freq, float64(fs)) }

func dB(p float64) float64 { return dsp.DB(p) }

// checkHears asserts that audio carries want clearly and not self (the
// mix-minus): want above −40 dBFS-ish power and 25 dB over self.
func checkHears(t *testing.T, who string, pcm []int16, fs int, want, self float64) {
	t.Helper()
	if len(pcm) < fs/2 {
		t.Fatalf("%s: only %d samples of audio", who, len(pcm))
	}
	pw, ps := dB(goertzel(pcm, want, fs)), dB(goertzel(pcm, self, fs))
	t.Logf("%s: %.0f Hz at %.1f dB, %.0f Hz at %.1f dB (%d samples)", who, want, pw, self, ps, len(pcm))
	if pw < 40 { // a tone of amplitude ~140 or more (int16 units, A²/2 in dB)
		t.Errorf("%s does not hear the %.0f Hz tone: %.1f dB", who, want, pw)
	}
	if pw-ps < 25 {
		t.Errorf("%s hears %.0f Hz only %.1f dB above %.0f Hz (mix-minus broken?)", who, want, pw-ps, self)
	}
}

// waitFor polls cond for up to d.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// testLog returns a logger that writes to the test log when -v is set.
func testLog(t *testing.T) *slog.Logger {
	if !testing.Verbose() || os.Getenv("SIPGW_TEST_LOG") == "" {
		return slog.New(slog.DiscardHandler)
	}
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// newTestGateway starts a gateway on loopback with free ports.
func newTestGateway(t *testing.T, cfg Config, auth Auth, conf Conference, onDTMF func(meeting.Identity, rune)) *Gateway {
	t.Helper()
	cfg.ListenUDP, cfg.ListenTCP, cfg.ListenTLS = "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0"
	if cfg.RTPPortMin == 0 {
		cfg.RTPPortMin, cfg.RTPPortMax = 40000, 40999
	}
	g, err := New(cfg, Params{Auth: auth, Conference: conf, Log: testLog(t), OnDTMF: onDTMF})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = g.Close() })
	return g
}

// closeAndCheck closes the gateways and the test UAC (if any), then
// checks that no goroutine of theirs is left.
func closeAndCheck(t *testing.T, u *uac, gws ...*Gateway) {
	t.Helper()
	for _, g := range gws {
		_ = g.Close()
	}
	if u != nil {
		_ = u.ua.Close()
		u.stopListening()
	}
	checkNoLeaks(t)
}

// checkNoLeaks fails if goroutines running gateway or sipgo code outlive
// Close (test helpers and the mixer are not counted).
func checkNoLeaks(t *testing.T) {
	t.Helper()
	var leaked []string
	for range 200 {
		buf := make([]byte, 1<<20)
		stacks := string(buf[:runtime.Stack(buf, true)])
		leaked = leaked[:0]
		for _, g := range strings.Split(stacks, "\n\n") {
			if leakedGoroutine(g) {
				leaked = append(leaked, g)
			}
		}
		if len(leaked) == 0 {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Errorf("goroutines leaked after Close:\n%s", strings.Join(leaked, "\n\n"))
}

// leakedGoroutine reports whether a goroutine's stack runs code of the
// gateway (not its tests) or of sipgo.
func leakedGoroutine(stack string) bool {
	for _, ln := range strings.Split(stack, "\n") {
		if !strings.HasPrefix(ln, "\t") {
			continue
		}
		file := strings.TrimSpace(ln)
		if strings.Contains(file, "emiago/sipgo") ||
			strings.Contains(file, "/sipgw/") && !strings.Contains(file, "_test.go") {
			return true
		}
	}
	return false
}
