package sfu

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/confab-media/confab/signaling/events"
	"github.com/confab-media/confab/signaling/meeting"
	"github.com/confab-media/confab/signaling/protocol"
	"github.com/confab-media/confab/signaling/session"
	"github.com/confab-media/confab/signaling/store"
)

const wait = 10 * time.Second

func testLog() *slog.Logger {
	if os.Getenv("SFU_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// checkNoLeaks fails the test if goroutines started during it outlive it.
// Register it first: cleanups run last-in first-out.
func checkNoLeaks(t *testing.T) {
	t.Helper()
	base := runtime.NumGoroutine()
	t.Cleanup(func() {
		deadline := time.Now().Add(wait)
		for runtime.NumGoroutine() > base {
			if time.Now().After(deadline) {
				buf := make([]byte, 1<<20)
				t.Errorf("goroutines: %d, want ≤ %d\n%s", runtime.NumGoroutine(), base, buf[:runtime.Stack(buf, true)])
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	})
}

// lateVolumes forwards to the Handler, which is built after the Server.
type lateVolumes struct {
	h atomic.Pointer[session.Handler]
}

func (v *lateVolumes) BroadcastVolumes(meetingID string, vols []session.Volume) {
	if h := v.h.Load(); h != nil {
		h.BroadcastVolumes(meetingID, vols)
	}
}

// fixture is a real signaling stack (meeting.Service, session.Handler over
// httptest) with the sfu Server as its Media.
type fixture struct {
	t   *testing.T
	svc *meeting.Service
	h   *session.Handler
	sv  *Server
	srv *httptest.Server
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	log := testLog()
	bus := events.NewBus()
	u, _ := url.Parse("http://127.0.0.1:8080")
	svc, err := meeting.New(context.Background(), meeting.Config{
		AccountID: "123456789012", Regions: []string{"us-east-1"},
		AttendeesPerMeeting: 250, HighResolutionAttendees: 25,
		MaxDuration: 24 * time.Hour, IdleTimeout: 5 * time.Minute, SweepInterval: 10 * time.Second,
	}, meeting.Params{
		Store:    store.NewMemory(),
		Placer:   meeting.NewLocalPlacer(meeting.MediaGroup{ID: "local", PublicURL: u}, 250),
		Events:   bus,
		Clock:    meeting.SystemClock{},
		Log:      log,
		TokenKey: []byte("0123456789abcdef0123456789abcdef"),
	})
	if err != nil {
		t.Fatal(err)
	}
	vols := &lateVolumes{}
	sv, err := New(Config{}, Params{Log: log, Volumes: vols})
	if err != nil {
		t.Fatal(err)
	}
	h, err := session.New(session.Config{AccountID: "123456789012"},
		session.Params{Auth: svc, Presence: svc, Events: bus, Media: sv, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	vols.h.Store(h)
	bus.Subscribe(h)
	mux := http.NewServeMux()
	mux.Handle("GET /control/{meetingID}", h)
	f := &fixture{t: t, svc: svc, h: h, sv: sv, srv: httptest.NewServer(mux)}
	t.Cleanup(func() {
		h.Close()
		f.srv.Close()
		if err := sv.Close(); err != nil {
			t.Errorf("Server.Close: %v", err)
		}
		svc.Close()
	})
	return f
}

func (f *fixture) meeting() string {
	f.t.Helper()
	m, err := f.svc.CreateMeeting(context.Background(), &meeting.CreateMeetingInput{
		ClientRequestToken: f.t.Name(), MediaRegion: "us-east-1", ExternalMeetingId: "ext-" + f.t.Name(),
	})
	if err != nil {
		f.t.Fatal(err)
	}
	return m.MeetingId
}

func (f *fixture) attendee(meetingID, user string) meeting.Attendee {
	f.t.Helper()
	a, err := f.svc.CreateAttendee(context.Background(), meetingID, &meeting.CreateAttendeeInput{ExternalUserId: user})
	if err != nil {
		f.t.Fatal(err)
	}
	return a
}

// wsClient is a signaling WebSocket client; a goroutine records every
// frame.
type wsClient struct {
	t    *testing.T
	c    *websocket.Conn
	done chan struct{}

	mu     sync.Mutex // guards frames and next
	frames []*protocol.SdkSignalFrame
	next   int // frames before next were consumed by nextOf
}

func (f *fixture) dial(meetingID, token string) *wsClient {
	f.t.Helper()
	u := "ws" + strings.TrimPrefix(f.srv.URL, "http") + "/control/" + meetingID
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	c, _, err := websocket.Dial(ctx, u, &websocket.DialOptions{Subprotocols: []string{session.Subprotocol, token}})
	if err != nil {
		f.t.Fatal(err)
	}
	c.SetReadLimit(protocol.MaxFrameSize)
	cl := &wsClient{t: f.t, c: c, done: make(chan struct{})}
	go cl.readLoop()
	f.t.Cleanup(func() {
		_ = c.CloseNow()
		<-cl.done
	})
	return cl
}

func (cl *wsClient) readLoop() {
	defer close(cl.done)
	for {
		_, b, err := cl.c.Read(context.Background())
		if err != nil {
			return
		}
		fr, err := protocol.Decode(b)
		if err != nil {
			continue
		}
		cl.mu.Lock()
		cl.frames = append(cl.frames, fr)
		cl.mu.Unlock()
	}
}

func (cl *wsClient) send(fr *protocol.SdkSignalFrame) {
	cl.t.Helper()
	b, err := protocol.Encode(fr)
	if err != nil {
		cl.t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := cl.c.Write(ctx, websocket.MessageBinary, b); err != nil {
		cl.t.Fatal(err)
	}
}

// nextOf returns the first not yet consumed frame of type typ, consuming
// every frame up to it.
func (cl *wsClient) nextOf(typ protocol.SdkSignalFrame_Type) *protocol.SdkSignalFrame {
	cl.t.Helper()
	deadline := time.Now().Add(wait)
	for time.Now().Before(deadline) {
		cl.mu.Lock()
		for i := cl.next; i < len(cl.frames); i++ {
			if cl.frames[i].GetType() == typ {
				cl.next = i + 1
				fr := cl.frames[i]
				cl.mu.Unlock()
				return fr
			}
		}
		cl.mu.Unlock()
		time.Sleep(5 * time.Millisecond)
	}
	cl.t.Fatalf("no %v frame", typ)
	return nil
}

// all returns every frame of type typ received so far.
func (cl *wsClient) all(typ protocol.SdkSignalFrame_Type) []*protocol.SdkSignalFrame {
	cl.mu.Lock()
	defer cl.mu.Unlock()
	var out []*protocol.SdkSignalFrame
	for _, fr := range cl.frames {
		if fr.GetType() == typ {
			out = append(out, fr)
		}
	}
	return out
}

func (cl *wsClient) join() {
	cl.t.Helper()
	fr := protocol.NewFrame(protocol.SdkSignalFrame_JOIN, time.Now())
	v, flags := uint32(2), uint32(protocol.SdkJoinFlags_HAS_STREAM_UPDATE)
	fr.Join = &protocol.SdkJoinFrame{ProtocolVersion: &v, Flags: &flags}
	cl.send(fr)
	cl.nextOf(protocol.SdkSignalFrame_INDEX)
}

// subscribe sends a SUBSCRIBE the way the SDK does (audio send stream, one
// receive_stream_ids entry per video m-line) and returns the ack.
func (cl *wsClient) subscribe(offer string, videoLines int) *protocol.SdkSubscribeAckFrame {
	cl.t.Helper()
	fr := protocol.NewFrame(protocol.SdkSignalFrame_SUBSCRIBE, time.Now())
	label, id, gid := "AmazonChimeExpressAudio", uint32(1), uint32(1)
	fr.Sub = &protocol.SdkSubscribeFrame{
		Duplex:           protocol.SdkStreamServiceType_DUPLEX.Enum(),
		SdpOffer:         &offer,
		AudioMuted:       new(bool),
		ReceiveStreamIds: make([]uint32, videoLines),
		SendStreams: []*protocol.SdkStreamDescriptor{{
			StreamId: &id, GroupId: &gid, TrackLabel: &label, MediaType: protocol.SdkStreamMediaType_AUDIO.Enum(),
		}},
	}
	cl.send(fr)
	ack := cl.nextOf(protocol.SdkSignalFrame_SUBSCRIBE_ACK)
	if ack.GetError() != nil {
		cl.t.Fatalf("SUBSCRIBE_ACK error: %v", ack.GetError())
	}
	return ack.GetSuback()
}
