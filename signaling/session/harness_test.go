package session

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/confab-media/confab/internal/fakeclock"
	"github.com/confab-media/confab/internal/testkit"
	"github.com/confab-media/confab/signaling/events"
	"github.com/confab-media/confab/signaling/meeting"
	"github.com/confab-media/confab/signaling/protocol"
)

var t0 = time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)

const wait = 5 * time.Second

// recorder keeps every event the bus publishes.
type recorder struct{ testkit.Events }

// waitFor waits until the attendee's event types equal want.
func (r *recorder) waitFor(t *testing.T, attendeeID string, want ...events.Type) {
	t.Helper()
	r.WaitFor(t, wait, attendeeID, want...)
}

// of returns the types of the attendee's events, in order.
func (r *recorder) of(attendeeID string) []events.Type { return r.TypesOf(attendeeID) }

// presence wraps the meeting service and checks SetConnected pairs up.
type presence struct {
	svc *meeting.Service
	mu  sync.Mutex
	n   map[string]int
}

func (p *presence) SetConnected(meetingID, attendeeID string, connected bool) {
	p.mu.Lock()
	if connected {
		p.n[attendeeID]++
	} else {
		p.n[attendeeID]--
	}
	p.mu.Unlock()
	p.svc.SetConnected(meetingID, attendeeID, connected)
}

func (p *presence) count(attendeeID string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.n[attendeeID]
}

type fixture struct {
	t     *testing.T
	svc   *meeting.Service
	h     *Handler
	srv   *httptest.Server
	clock *fakeclock.Clock
	ev    *recorder
	pres  *presence
}

// newFixture runs a Handler over a real meeting.Service; mod may change the
// config and params before the handler is built.
func newFixture(t *testing.T, mod func(*Config, *Params)) *fixture {
	t.Helper()
	checkNoLeaks(t)
	f := &fixture{t: t, clock: fakeclock.New(t0), ev: &recorder{}}
	bus := events.NewBus(f.ev)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	svc := testkit.MeetingService(t, testkit.Meetings{Events: bus, Clock: f.clock})
	f.svc = svc
	f.pres = &presence{svc: svc, n: map[string]int{}}
	cfg := Config{AccountID: "123456789012", RejectDelay: 2 * time.Second}
	p := Params{Auth: svc, Presence: f.pres, Events: bus, Clock: f.clock, Log: log}
	if mod != nil {
		mod(&cfg, &p)
	}
	h, err := New(cfg, p)
	if err != nil {
		t.Fatal(err)
	}
	svc.Observe(h)
	f.h = h
	mux := http.NewServeMux()
	mux.Handle("GET /control/{meetingID}", h)
	f.srv = httptest.NewServer(mux)
	t.Cleanup(func() {
		h.Close()
		f.srv.Close()
	})
	return f
}

// checkNoLeaks fails the test if goroutines started during it outlive it.
// Register it first: cleanups run last-in first-out.
func checkNoLeaks(t *testing.T) { testkit.CheckLeaks(t) }

func (f *fixture) meeting(token string) meeting.Meeting {
	f.t.Helper()
	m, err := f.svc.CreateMeeting(context.Background(), &meeting.CreateMeetingInput{
		ClientRequestToken: token, MediaRegion: "us-east-1", ExternalMeetingId: "ext-" + token,
	})
	if err != nil {
		f.t.Fatal(err)
	}
	return m
}

func (f *fixture) attendee(meetingID, user string) meeting.Attendee {
	f.t.Helper()
	a, err := f.svc.CreateAttendee(context.Background(), meetingID, &meeting.CreateAttendeeInput{ExternalUserId: user})
	if err != nil {
		f.t.Fatal(err)
	}
	return a
}

// client is a test WebSocket client; a goroutine reads every frame.
type client struct {
	t      *testing.T
	c      *websocket.Conn
	frames chan *protocol.SdkSignalFrame
	done   chan struct{}
	err    error // the read error, after done
}

func (f *fixture) dialProtocols(meetingID string, protos []string) *client {
	f.t.Helper()
	u := "ws" + strings.TrimPrefix(f.srv.URL, "http") + "/control/" + meetingID +
		"?X-Chime-Control-Protocol-Version=3&X-Amzn-Chime-Send-Close-On-Error=1"
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	c, _, err := websocket.Dial(ctx, u, &websocket.DialOptions{Subprotocols: protos})
	if err != nil {
		f.t.Fatal(err)
	}
	c.SetReadLimit(protocol.MaxFrameSize)
	cl := &client{t: f.t, c: c, frames: make(chan *protocol.SdkSignalFrame, 4096), done: make(chan struct{})}
	go cl.readLoop()
	f.t.Cleanup(func() {
		_ = c.CloseNow()
		<-cl.done
	})
	return cl
}

func (f *fixture) dial(meetingID, token string) *client {
	f.t.Helper()
	return f.dialProtocols(meetingID, []string{Subprotocol, token})
}

func (cl *client) readLoop() {
	defer close(cl.done)
	defer close(cl.frames)
	for {
		typ, b, err := cl.c.Read(context.Background())
		if err != nil {
			cl.err = err
			return
		}
		if typ != websocket.MessageBinary {
			cl.err = errTextFromServer
			return
		}
		f, err := protocol.Decode(b)
		if err != nil {
			cl.err = err
			return
		}
		cl.frames <- f
	}
}

var errTextFromServer = &websocket.CloseError{Code: 1, Reason: "text from server"}

func (cl *client) send(f *protocol.SdkSignalFrame) {
	cl.t.Helper()
	b, err := protocol.Encode(f)
	if err != nil {
		cl.t.Fatal(err)
	}
	cl.sendRaw(websocket.MessageBinary, b)
}

func (cl *client) sendRaw(typ websocket.MessageType, b []byte) {
	cl.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := cl.c.Write(ctx, typ, b); err != nil {
		cl.t.Fatal(err)
	}
}

// next returns the next frame; it fails if none comes or the connection ends.
func (cl *client) next() *protocol.SdkSignalFrame {
	cl.t.Helper()
	select {
	case f, ok := <-cl.frames:
		if !ok {
			cl.t.Fatalf("connection ended: %v", cl.err)
		}
		return f
	case <-time.After(wait):
		cl.t.Fatal("no frame")
	}
	return nil
}

// nextOf skips frames until one of type typ.
func (cl *client) nextOf(typ protocol.SdkSignalFrame_Type) *protocol.SdkSignalFrame {
	cl.t.Helper()
	for {
		if f := cl.next(); f.GetType() == typ {
			return f
		}
	}
}

// closed waits for the connection to end and returns the server's close
// code (-1 if it ended without one).
func (cl *client) closed() websocket.StatusCode {
	cl.t.Helper()
	select {
	case <-cl.done:
		return websocket.CloseStatus(cl.err)
	case <-time.After(wait):
		cl.t.Fatal("connection not closed")
	}
	return 0
}

// sync sends a PING and returns the frames that arrived before its PONG:
// proof that nothing else was queued for this client at that point.
func (cl *client) sync() []*protocol.SdkSignalFrame {
	cl.t.Helper()
	cl.send(ping(4242))
	var before []*protocol.SdkSignalFrame
	for {
		f := cl.next()
		if f.GetType() == protocol.SdkSignalFrame_PING_PONG && f.GetPingPong().GetPingId() == 4242 {
			return before
		}
		before = append(before, f)
	}
}

func frameOf(t protocol.SdkSignalFrame_Type) *protocol.SdkSignalFrame {
	return protocol.NewFrame(t, time.Now())
}

func ping(id uint32) *protocol.SdkSignalFrame {
	f := frameOf(protocol.SdkSignalFrame_PING_PONG)
	f.PingPong = &protocol.SdkPingPongFrame{Type: protocol.SdkPingPongType_PING.Enum(), PingId: &id}
	return f
}

func joinFrame() *protocol.SdkSignalFrame {
	f := frameOf(protocol.SdkSignalFrame_JOIN)
	v, flags := uint32(2), uint32(protocol.SdkJoinFlags_HAS_STREAM_UPDATE)
	f.Join = &protocol.SdkJoinFrame{ProtocolVersion: &v, Flags: &flags}
	return f
}

// join sends JOIN and consumes JOIN_ACK, INDEX and the presence list, which
// it returns.
func (cl *client) join() *protocol.SdkAudioStreamIdInfoFrame {
	cl.t.Helper()
	cl.send(joinFrame())
	if f := cl.next(); f.GetType() != protocol.SdkSignalFrame_JOIN_ACK {
		cl.t.Fatalf("first frame after JOIN: %v", f.GetType())
	}
	if f := cl.next(); f.GetType() != protocol.SdkSignalFrame_INDEX {
		cl.t.Fatalf("second frame after JOIN: %v", f.GetType())
	}
	f := cl.next()
	if f.GetType() != protocol.SdkSignalFrame_AUDIO_STREAM_ID_INFO {
		cl.t.Fatalf("third frame after JOIN: %v", f.GetType())
	}
	return f.GetAudioStreamIdInfo()
}
