package mixer

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/confab-media/confab/internal/clock"
	"github.com/confab-media/confab/internal/guard"
)

// Audio format of every input and output: 48 kHz mono Opus in 20 ms frames.
const (
	sampleRate   = 48000
	frameSamples = 960 // samples per 20 ms frame; also the RTP timestamp step
	frameDur     = 20 * time.Millisecond
)

// Config holds the Mixer's tunables. The zero value of each field selects its
// default.
type Config struct {
	// TopN is how many talkers are mixed at once (default 3, at most 16).
	TopN int
	// Bitrate of every Opus encoder in bit/s (default 32000, 6000–64000).
	Bitrate int
	// Complexity of every Opus encoder, 1–10 (default defaultComplexity,
	// chosen by TestOpusComplexityQuality's measure).
	Complexity int
	// MinComplexity is how far the encoders shed complexity while ticks
	// run late (CPU pressure), 1–Complexity (default defaultMinComplexity,
	// or Complexity if lower). Shedding costs quality before a skipped
	// tick costs a gap.
	MinComplexity int
	// JitterMin and JitterMax bound each leg's adaptive playout delay
	// (defaults 40 ms and 200 ms). The target in between is one frame plus
	// four times the RFC 3550 interarrival jitter.
	JitterMin, JitterMax time.Duration
	// ActiveLevel is the RFC 6464 level (−dBov) at or below which a leg's
	// smoothed level makes it a talker candidate (default 60). A talker stays
	// one until its level is 10 dB quieter than that for Hangover.
	ActiveLevel int
	// Hangover keeps a talker in the mix through short pauses (default
	// 300 ms).
	Hangover time.Duration
	// MaxCatchUp is how many missed frames a late tick mixes at once
	// (default 5, i.e. 100 ms); beyond that the mixer skips ahead.
	MaxCatchUp int
}

// Params holds the Mixer's dependencies.
type Params struct {
	// Clock drives the 20 ms tick; nil is the system clock. Like
	// time.Ticker its Tick may drop ticks a slow reader has not taken; the
	// Mixer catches up from the time it receives.
	Clock clock.Clock
	// Log receives the Mixer's structured logs; nil discards them.
	Log *slog.Logger
	// Panics counts a panic contained in the mixing goroutine (which
	// decodes remote Opus); nil counts nothing.
	Panics guard.Counter
	// OnPanic, if set, is called (on the dying mixing goroutine, once)
	// after such a panic: the mixer mixes no more, so its owner should end
	// the meeting's media. It must not call Close synchronously.
	OnPanic func()
	// TickObserver, if set, is given each 20 ms mixing step's duration in
	// seconds (a Prometheus histogram fits).
	TickObserver Observer
	// Output, if set, brackets each tick's delivery to the legs' sinks.
	Output Batcher
}

// Batcher groups the sends of one tick's delivery: Begin is called before
// the first leg's sink, End after the last (a socket that sends what was
// written in between in one batch of system calls).
type Batcher interface {
	Begin()
	End()
}

// Observer takes one observation (prometheus.Observer has this method).
type Observer interface {
	Observe(float64)
}

// Opus complexity defaults and the quality bounds they were chosen within:
// the log-spectral distance of a speech-like signal through the encoder at
// the default bitrate, against complexity 10's (TestOpusComplexityQuality
// holds them; BenchmarkOpusComplexity gives the cost of each step).
const (
	defaultComplexity    = 4
	defaultMinComplexity = 1
	defaultQualityBound  = 0.15 // dB
	shedQualityBound     = 0.5  // dB
)

// withDefaults returns c with zero fields set to their defaults, validated.
func (c Config) withDefaults() (Config, error) {
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	def(&c.TopN, 3)
	def(&c.Bitrate, 32000)
	def(&c.Complexity, defaultComplexity)
	def(&c.MinComplexity, min(defaultMinComplexity, c.Complexity))
	def(&c.ActiveLevel, 60)
	def(&c.MaxCatchUp, 5)
	if c.JitterMin == 0 {
		c.JitterMin = 40 * time.Millisecond
	}
	if c.JitterMax == 0 {
		c.JitterMax = 200 * time.Millisecond
	}
	if c.Hangover == 0 {
		c.Hangover = 300 * time.Millisecond
	}
	return c, c.validate()
}

func (c Config) validate() error {
	bad := func(field string, v any, want string) error {
		return fmt.Errorf("%w: %s = %v, want %s", ErrInvalidConfig, field, v, want)
	}
	switch {
	case c.TopN < 1 || c.TopN > 16:
		return bad("TopN", c.TopN, "1–16")
	case c.Bitrate < 6000 || c.Bitrate > 64000:
		return bad("Bitrate", c.Bitrate, "6000–64000")
	case c.Complexity < 1 || c.Complexity > 10:
		return bad("Complexity", c.Complexity, "1–10")
	case c.MinComplexity < 1 || c.MinComplexity > c.Complexity:
		return bad("MinComplexity", c.MinComplexity, fmt.Sprintf("1–%d (Complexity)", c.Complexity))
	case c.JitterMin < frameDur || c.JitterMin > time.Second:
		return bad("JitterMin", c.JitterMin, "20ms–1s")
	case c.JitterMax < c.JitterMin || c.JitterMax > time.Second:
		return bad("JitterMax", c.JitterMax, "JitterMin–1s")
	case c.ActiveLevel < 1 || c.ActiveLevel > 126:
		return bad("ActiveLevel", c.ActiveLevel, "1–126")
	case c.Hangover < 0 || c.Hangover > 5*time.Second:
		return bad("Hangover", c.Hangover, "0–5s")
	case c.MaxCatchUp < 1 || c.MaxCatchUp > 50:
		return bad("MaxCatchUp", c.MaxCatchUp, "1–50")
	}
	return nil
}
