package sfu

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/confab-media/confab/bench/attendee"
	"github.com/confab-media/confab/conference"
	"github.com/confab-media/confab/internal/testkit"
	"github.com/confab-media/confab/signaling/events"
	"github.com/confab-media/confab/signaling/meeting"
	"github.com/confab-media/confab/signaling/protocol"
	"github.com/confab-media/confab/signaling/session"
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
func checkNoLeaks(t *testing.T) { testkit.CheckLeaks(t) }

// fixture is a real signaling stack (meeting.Service, session.Handler over
// httptest) with the sfu Server as its Media.
type fixture struct {
	t   testing.TB
	svc *meeting.Service
	h   *session.Handler
	sv  *Server
	reg *conference.Registry
	srv *httptest.Server
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	return buildFixture(t, Config{}, nil)
}

// buildFixture builds the stack with the Server from cfg. With evs, the
// bus also keeps every event in evs and the Server publishes its video
// events on it.
func buildFixture(t testing.TB, cfg Config, evs *eventLog) *fixture {
	t.Helper()
	return buildFixtureWith(t, cfg, evs, Params{})
}

// buildFixtureWith is buildFixture with the Server's Params starting
// from params (Log, Events, Volumes are filled in).
func buildFixtureWith(t testing.TB, cfg Config, evs *eventLog, params Params) *fixture {
	t.Helper()
	log := testLog()
	bus := events.NewBus()
	params.Log = log
	if evs != nil {
		bus.Subscribe(evs)
		params.Events, params.AccountID = bus, "123456789012"
	}
	svc := testkit.MeetingService(t, testkit.Meetings{Events: bus})
	reg := conference.New(conference.Config{Mixer: cfg.Mixer}, conference.Params{Clock: params.Clock, Log: log, Panics: params.Panics, Ender: svc})
	params.Conference = reg
	sv, err := New(cfg, params)
	if err != nil {
		t.Fatal(err)
	}
	h, err := session.New(session.Config{AccountID: "123456789012"},
		session.Params{Auth: svc, Presence: svc, Events: bus, Media: sv, Rooms: reg, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	reg.SetListener(h)
	svc.Observe(h)
	svc.Observe(reg) // meeting end, capability changes
	mux := http.NewServeMux()
	mux.Handle("GET /control/{meetingID}", h)
	f := &fixture{t: t, svc: svc, h: h, sv: sv, reg: reg, srv: httptest.NewServer(mux)}
	t.Cleanup(func() {
		h.Close()
		f.srv.Close()
		if err := sv.Close(); err != nil {
			t.Errorf("Server.Close: %v", err)
		}
		reg.Close()
	})
	return f
}

func (f *fixture) meeting() string {
	f.t.Helper()
	name := strings.ReplaceAll(f.t.Name(), "/", "-") // subtests and sub-benchmarks
	m, err := f.svc.CreateMeeting(context.Background(), &meeting.CreateMeetingInput{
		ClientRequestToken: name, MediaRegion: "us-east-1", ExternalMeetingId: "ext-" + name,
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

// signalingURL is the meeting's signaling WebSocket URL.
func (f *fixture) signalingURL(meetingID string) string {
	return "ws" + strings.TrimPrefix(f.srv.URL, "http") + "/control/" + meetingID
}

// within returns a context ending after wait (or with the test).
func within(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), wait)
	t.Cleanup(cancel)
	return ctx
}

// dial opens a raw signaling WebSocket, closed when the test ends.
func (f *fixture) dial(meetingID, token string) *attendee.Signaling {
	f.t.Helper()
	sig, err := attendee.DialSignaling(within(f.t), f.signalingURL(meetingID), token)
	if err != nil {
		f.t.Fatal(err)
	}
	f.t.Cleanup(func() { _ = sig.Close() })
	return sig
}

// participant is one test attendee: its identity, its tone and its
// synthetic client.
type participant struct {
	*attendee.Attendee
	id   string
	freq float64
	ack  *protocol.SdkSubscribeAckFrame // the first SUBSCRIBE_ACK
}

// join creates an attendee and dials it in (JOIN, SUBSCRIBE, ICE
// connected, tone at freq started), and checks its SUBSCRIBE_ACK. When the
// test ends it is closed and must not have failed in the background.
func (f *fixture) join(meetingID, user string, freq float64) *participant {
	f.t.Helper()
	a := f.attendee(meetingID, user)
	at, err := attendee.Dial(within(f.t), attendee.Config{
		SignalingURL: f.signalingURL(meetingID), JoinToken: a.JoinToken, Name: user,
		ToneHz: freq, Loopback: true, Log: testLog(),
	})
	if err != nil {
		f.t.Fatalf("%s: %v", user, err)
	}
	f.t.Cleanup(func() {
		if err := at.Err(); err != nil {
			f.t.Errorf("%s: %v", user, err)
		}
	})
	f.t.Cleanup(func() { _ = at.Close() }) // runs first
	p := &participant{Attendee: at, id: a.AttendeeId, freq: freq, ack: at.SubscribeAck()}
	checkAnswer(f.t, p.ack)
	return p
}

// send sends a raw frame on sig.
func send(t *testing.T, sig *attendee.Signaling, fr *protocol.SdkSignalFrame) {
	t.Helper()
	if err := sig.Send(within(t), fr); err != nil {
		t.Fatal(err)
	}
}

// nextOf returns the next not yet consumed frame of type typ on sig.
func nextOf(t *testing.T, sig *attendee.Signaling, typ protocol.SdkSignalFrame_Type) *protocol.SdkSignalFrame {
	t.Helper()
	fr, err := sig.Next(within(t), typ)
	if err != nil {
		t.Fatal(err)
	}
	return fr
}
