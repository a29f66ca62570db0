package conference

import (
	"github.com/prometheus/client_golang/prometheus"

	"context"
	"log/slog"
	"time"

	"github.com/confab-media/confab/internal/clock"
	"github.com/confab-media/confab/internal/guard"
	"github.com/confab-media/confab/mixer"
)

// Config holds the tunables; zero values take the defaults.
type Config struct {
	// Mixer configures each meeting's mixer.
	Mixer mixer.Config
	// LevelInterval is how often a Room reports its members' volume
	// levels to the Listener. Default 200 ms.
	LevelInterval time.Duration
	// AutoEnd holds the inactivity rules; see AutoEnd.
	AutoEnd AutoEnd
}

// AutoEnd is the Chime guide's list of when a meeting ends by itself
// ("Amazon Chime SDK meetings": "The meetings end when…"). A zero field
// takes the guide's value; a negative one turns that rule off.
type AutoEnd struct {
	// NoAudio: no audio connection for this long (5 min). Audio
	// connections are WebRTC attendees with an audio leg and phone callers.
	NoAudio time.Duration
	// Alone: fewer than two audio connections for this long (30 min).
	Alone time.Duration
	// ContentIdle: a content share is published and no other attendee is
	// connected to view it, for this long (30 min).
	ContentIdle time.Duration
	// MaxDuration: the meeting has run this long since its Room started
	// (24 h; the meeting service also enforces it from CreateMeeting).
	MaxDuration time.Duration
}

func (a AutoEnd) withDefaults() AutoEnd {
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&a.NoAudio, 5*time.Minute)
	def(&a.Alone, 30*time.Minute)
	def(&a.ContentIdle, 30*time.Minute)
	def(&a.MaxDuration, 24*time.Hour)
	return a
}

func (c Config) withDefaults() Config {
	if c.LevelInterval <= 0 {
		c.LevelInterval = 200 * time.Millisecond
	}
	c.AutoEnd = c.AutoEnd.withDefaults()
	return c
}

// Ender ends a meeting for good (the meeting service): MeetingEnded goes
// out, join tokens stop verifying, and the Registry hears of it through
// End. An error means it was not ended (or already was).
type Ender interface {
	EndMeeting(ctx context.Context, meetingID, reason string) error
}

// Params holds the dependencies; all are optional.
type Params struct {
	// Clock drives the mixers, the level ticker and the auto-end rules;
	// nil is the system clock.
	Clock clock.Clock
	// Log receives structured logs; nil discards them.
	Log *slog.Logger
	// Panics counts the panics contained in a Room's goroutines.
	Panics guard.Counter
	// Ender ends meetings that the auto-end rules or a contained panic
	// end; nil only closes the Room.
	Ender Ender
	// Registerer gets the Rooms' and mixers' metrics (metrics.go); nil
	// registers none.
	Registerer prometheus.Registerer
}
