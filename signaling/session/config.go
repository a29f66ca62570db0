package session

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/confab-media/confab/conference"
	"github.com/confab-media/confab/internal/clock"
	"github.com/confab-media/confab/internal/guard"
	"github.com/confab-media/confab/signaling/events"
	"github.com/confab-media/confab/signaling/media"
	"github.com/confab-media/confab/signaling/meeting"
	"github.com/confab-media/confab/signaling/protocol"
)

// Authenticator verifies a join token (a *meeting.Service). Errors:
// meeting.ErrTokenInvalid, meeting.ErrTokenRevoked, meeting.ErrMeetingEnded.
type Authenticator interface {
	Verify(token string) (meeting.Identity, error)
}

// Presence is told when an attendee's connection comes up and goes away
// (a *meeting.Service); calls pair up per session.
type Presence interface {
	SetConnected(meetingID, attendeeID string, connected bool)
}

// Publisher receives the attendee events sessions emit (an *events.Bus).
// It is never called with a lock held, so it may call back into the Handler
// (the Handler is itself an events.Sink).
type Publisher interface {
	Publish(ctx context.Context, e events.Event)
}

// Media is the media server (package sfu): the contract is package
// signaling/media's, which passes the server a media.Session, never a
// *Session.
type Media = media.Server

// TURN mints the relay credentials JOIN_ACK carries (fact sheet §5). With
// credentials the SDK forces iceTransportPolicy "relay": every packet then
// goes through that relay. ok false sends none (host candidates only).
type TURN interface {
	Credentials(id meeting.Identity) (c *protocol.SdkTurnCredentials, ok bool)
}

// Rooms gives a meeting's conference Room (a *conference.Registry),
// creating it on first use.
type Rooms interface {
	Room(meetingID string) (*conference.Room, error)
}

// Config holds the tunables; zero values take the defaults.
type Config struct {
	// AccountID goes into emitted events.
	AccountID string
	// IdleTimeout drops a client that sends nothing (no PING, no frame) for
	// this long. Default 15 s (the SDK pings every 10 s).
	IdleTimeout time.Duration
	// JoinTimeout closes a connection that has not sent JOIN this long after
	// the upgrade. Default 30 s.
	JoinTimeout time.Duration
	// WriteTimeout bounds one WebSocket write. Default 10 s.
	WriteTimeout time.Duration
	// RejectDelay is how long a connection whose token was refused is held,
	// waiting for its JOIN, before it is closed with the refusal code: the
	// SDK reads the close code only once its join task is listening.
	// Default 5 s; a JOIN ends the wait at once.
	RejectDelay time.Duration
	// SendQueue is the number of frames queued per session; a client that
	// lets it fill is dropped. Default 1024.
	SendQueue int
	// SendQueueBytes bounds the encoded bytes queued per session (frames
	// shared by a broadcast count in full for each session): a client that
	// reads slower than it is sent to is closed, not buffered for. Default
	// 4 MiB, which holds the largest frame the server builds (the replay of
	// DataRetainedMax full-size data messages to a late joiner).
	SendQueueBytes int
	// OriginPatterns restricts the Origin header (coder/websocket syntax).
	// Empty accepts any origin: the join token, not a cookie, authenticates.
	OriginPatterns []string
	// Data messages (fact sheet section 7).
	DataRetention     time.Duration // ≤ 5 min kept for late joiners
	DataRetainedMax   int           // 1024 per meeting
	AttendeeDataRate  float64       // 200 msg/s
	AttendeeDataBurst float64       // 2000
	MeetingDataRate   float64       // 500 msg/s
	MeetingDataBurst  float64       // 10000
	// DataMessagesPerFrame caps the messages in one client DATA_MESSAGE
	// frame (the SDK sends one); a larger frame is refused whole with one
	// error frame. Default 16.
	DataMessagesPerFrame int

	// Per-attendee rate limits (token buckets on Params.Clock), shared by an
	// attendee's successive connections; see limits.go.
	//
	// ConnectRate/ConnectBurst: signaling connections with a valid token per
	// second; one over the limit is closed with CloseRateLimited before it
	// joins. Default 0.5/s, burst 10.
	ConnectRate, ConnectBurst float64
	// SubscribeRate/SubscribeBurst: SUBSCRIBE frames per second; one over
	// the limit gets SUBSCRIBE_ACK error 429 and never reaches Media.
	// Default 2/s, burst 20.
	SubscribeRate, SubscribeBurst float64
	// UnmuteRate/UnmuteBurst: unmutes per second. Muting always takes
	// effect at once; an unmute over the limit is held (only the latest
	// wish, never a queue) and applied with the next frame the client sends
	// once a token is back (the SDK pings every 10 s). Default 5/s, burst 20.
	UnmuteRate, UnmuteBurst float64
	// PresenceInterval: mute changes are announced (AUDIO_STREAM_ID_INFO)
	// at most once per interval per meeting, all changes of the interval in
	// one frame; the first change after a quiet interval goes out at once.
	// Default 100 ms.
	PresenceInterval time.Duration
}

func (c Config) withDefaults() Config {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	deff := func(f *float64, v float64) {
		if *f <= 0 {
			*f = v
		}
	}
	def(&c.IdleTimeout, 15*time.Second)
	def(&c.JoinTimeout, 30*time.Second)
	def(&c.WriteTimeout, 10*time.Second)
	def(&c.RejectDelay, 5*time.Second)
	def(&c.DataRetention, 5*time.Minute)
	if c.SendQueue <= 0 {
		c.SendQueue = 1024
	}
	if c.DataRetainedMax <= 0 {
		c.DataRetainedMax = 1024
	}
	deff(&c.AttendeeDataRate, 200)
	deff(&c.AttendeeDataBurst, 2000)
	deff(&c.MeetingDataRate, 500)
	deff(&c.MeetingDataBurst, 10000)
	if c.SendQueueBytes <= 0 {
		c.SendQueueBytes = 4 << 20
	}
	if c.DataMessagesPerFrame <= 0 {
		c.DataMessagesPerFrame = 16
	}
	deff(&c.ConnectRate, 0.5)
	deff(&c.ConnectBurst, 10)
	deff(&c.SubscribeRate, 2)
	deff(&c.SubscribeBurst, 20)
	deff(&c.UnmuteRate, 5)
	deff(&c.UnmuteBurst, 20)
	def(&c.PresenceInterval, 100*time.Millisecond)
	return c
}

// Params are the Handler's dependencies. Auth, Presence and Events are
// required; Media may be nil (SUBSCRIBE then gets status 503).
type Params struct {
	Auth     Authenticator
	Presence Presence
	Events   Publisher
	Media    Media
	TURN     TURN // nil: JOIN_ACK carries no TURN credentials
	// Rooms gives each meeting's conference Room, whose Roster holds the
	// presence the Handler renders (stream ids, mute). Nil: each meeting
	// keeps a roster of its own (a Handler without media, in tests).
	Rooms Rooms
	Clock clock.Clock  // data-message times, retention, rate limits; default: the system clock
	Log   *slog.Logger // default: discard
	// Panics counts panics contained in the goroutines that handle a
	// client's input (reader, writer, ServeHTTP); nil counts nothing.
	Panics guard.Counter
}

func (p Params) validate() (Params, error) {
	if p.Auth == nil || p.Presence == nil || p.Events == nil {
		return p, errors.New("session: Params.Auth, Presence and Events are required")
	}
	if p.Clock == nil {
		p.Clock = clock.System{}
	}
	if p.Log == nil {
		p.Log = slog.New(slog.DiscardHandler)
	}
	return p, nil
}
