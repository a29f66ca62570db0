package testkit

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/url"
	"testing"
	"time"

	"github.com/confab-media/confab/internal/clock"
	"github.com/confab-media/confab/signaling/meeting"
	"github.com/confab-media/confab/signaling/store"
)

// AccountID is the account the test meeting service runs as.
const AccountID = "123456789012"

// Meetings configures MeetingService; zero values take the defaults.
type Meetings struct {
	Store               store.Store       // default: a memory store
	Events              meeting.Publisher // default: none kept
	Clock               clock.Clock       // default: the system clock
	Regions             []string          // default: us-east-1
	AttendeesPerMeeting int               // default: 250
	MaxMeetings         int               // default: 250
}

// MeetingService starts a meeting service as the tests use it (placed on
// http://127.0.0.1:8080, a fixed join-token key) and closes it when t ends.
func MeetingService(t testing.TB, o Meetings) *meeting.Service {
	t.Helper()
	if o.Store == nil {
		o.Store = store.NewMemory()
	}
	if o.Events == nil {
		o.Events = &Events{}
	}
	if o.Clock == nil {
		o.Clock = clock.System{}
	}
	if len(o.Regions) == 0 {
		o.Regions = []string{"us-east-1"}
	}
	if o.AttendeesPerMeeting == 0 {
		o.AttendeesPerMeeting = 250
	}
	if o.MaxMeetings == 0 {
		o.MaxMeetings = 250
	}
	u, _ := url.Parse("http://127.0.0.1:8080")
	svc, err := meeting.New(context.Background(), meeting.Config{
		AccountID: AccountID, Regions: o.Regions,
		AttendeesPerMeeting: o.AttendeesPerMeeting, HighResolutionAttendees: 25,
		MaxDuration: 24 * time.Hour, IdleTimeout: 5 * time.Minute, SweepInterval: 10 * time.Second,
	}, meeting.Params{
		Store:    o.Store,
		Placer:   meeting.NewLocalPlacer(meeting.MediaGroup{ID: "local", PublicURL: u}, o.MaxMeetings),
		Events:   o.Events,
		Clock:    o.Clock,
		Log:      slog.New(slog.NewTextHandler(io.Discard, nil)),
		TokenKey: bytes.Repeat([]byte{7}, 32),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(svc.Close)
	return svc
}
