package session

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/confab-media/confab/signaling/events"
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

// Clock is the time source for data-message timestamps, retention and
// throttling. Network deadlines (Config.IdleTimeout and friends) are real
// time: they guard sockets.
type Clock interface {
	Now() time.Time
}

type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }

// Media is what the SFU implements. Calls for one session come from that
// session's reader goroutine, in frame order; different sessions call
// concurrently.
type Media interface {
	// Subscribe answers a SUBSCRIBE (the first one and every
	// renegotiation). ctx ends when the session closes. Wrap ErrBadRequest
	// or ErrMediaUnavailable to choose the error status (else 500).
	Subscribe(ctx context.Context, s *Session, sub *protocol.SdkSubscribeFrame) (*protocol.SdkSubscribeAckFrame, error)
	// Control receives the control frames of a joined session:
	// AUDIO_CONTROL (mute), PAUSE, RESUME, REMOTE_VIDEO_UPDATE and BITRATES.
	Control(s *Session, f *protocol.SdkSignalFrame)
	// Leave is called once when a joined session has ended (for any
	// reason, including replacement by a newer session of the same
	// attendee), after its last Subscribe or Control call has returned.
	Leave(s *Session)
}

// TURN mints the relay credentials JOIN_ACK carries (fact sheet §5). With
// credentials the SDK forces iceTransportPolicy "relay": every packet then
// goes through that relay. ok false sends none (host candidates only).
type TURN interface {
	Credentials(id meeting.Identity) (c *protocol.SdkTurnCredentials, ok bool)
}

// Indexer is implemented by a Media that forwards video: the INDEX a
// session gets right after JOIN_ACK lists its video sources (fact sheet
// §6). Later INDEX frames come from the Media itself, through
// Session.Send.
type Indexer interface {
	Index(s *Session) *protocol.SdkIndexFrame
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
	return c
}

// Params are the Handler's dependencies. Auth, Presence and Events are
// required; Media may be nil (SUBSCRIBE then gets status 503).
type Params struct {
	Auth     Authenticator
	Presence Presence
	Events   Publisher
	Media    Media
	TURN     TURN         // nil: JOIN_ACK carries no TURN credentials
	Clock    Clock        // default: the system clock
	Log      *slog.Logger // default: discard
}

func (p Params) validate() (Params, error) {
	if p.Auth == nil || p.Presence == nil || p.Events == nil {
		return p, errors.New("session: Params.Auth, Presence and Events are required")
	}
	if p.Clock == nil {
		p.Clock = systemClock{}
	}
	if p.Log == nil {
		p.Log = slog.New(slog.DiscardHandler)
	}
	return p, nil
}
