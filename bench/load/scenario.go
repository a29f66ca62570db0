package load

import (
	"errors"
	"fmt"
	"os"
	"time"

	"go.yaml.in/yaml/v3"
)

// Scenario is one load shape. Zero values take the defaults named on each
// field.
type Scenario struct {
	Name string `yaml:"name" json:"name"`
	// Meetings and AttendeesPerMeeting: default 1 × 4.
	Meetings            int `yaml:"meetings" json:"meetings"`
	AttendeesPerMeeting int `yaml:"attendees_per_meeting" json:"attendeesPerMeeting"`
	// Talkers per meeting send tone bursts (default 2, at most 16); the
	// others send silence.
	Talkers int `yaml:"talkers" json:"talkers"`
	// VideoPublishers per meeting publish 3-layer simulcast VP8;
	// VideoSubscribers per meeting (counted from the last attendee back)
	// subscribe to every publisher's top layer.
	VideoPublishers  int `yaml:"video_publishers" json:"videoPublishers"`
	VideoSubscribers int `yaml:"video_subscribers" json:"videoSubscribers"`
	// Measuring is how many attendees per meeting decode the mix and
	// measure mouth-to-ear latency (the talkers and the first non-talkers);
	// the rest only count packets, which keeps a big harness light. 0
	// means all.
	Measuring int `yaml:"measuring" json:"measuring"`
	// JoinRate is attendees joined per second (default 10).
	JoinRate float64 `yaml:"join_rate" json:"joinRate"`
	// Duration is how long everyone stays after the last join (default 10s).
	Duration time.Duration `yaml:"duration" json:"duration"`
	// UntilInterrupted: stay until the run's context ends (Ctrl-C), then
	// measure and report as usual (`--duration 0`).
	UntilInterrupted bool `yaml:"until_interrupted" json:"untilInterrupted,omitempty"`
	// BurstPeriod and BurstLength shape the talkers' bursts (default 1s,
	// 200ms).
	BurstPeriod time.Duration `yaml:"burst_period" json:"burstPeriod"`
	BurstLength time.Duration `yaml:"burst_length" json:"burstLength"`
}

// WithDefaults fills zero fields and validates.
func (s Scenario) WithDefaults() (Scenario, error) {
	if s.Name == "" {
		s.Name = "custom"
	}
	if s.Meetings == 0 {
		s.Meetings = 1
	}
	if s.AttendeesPerMeeting == 0 {
		s.AttendeesPerMeeting = 4
	}
	if s.Talkers == 0 {
		s.Talkers = min(2, s.AttendeesPerMeeting)
	}
	if s.Measuring == 0 || s.Measuring > s.AttendeesPerMeeting {
		s.Measuring = s.AttendeesPerMeeting
	}
	if s.JoinRate == 0 {
		s.JoinRate = 10
	}
	if s.Duration == 0 {
		s.Duration = 10 * time.Second
	}
	if s.BurstPeriod == 0 {
		s.BurstPeriod = time.Second
	}
	if s.BurstLength == 0 {
		s.BurstLength = 200 * time.Millisecond
	}
	var errs []error
	bad := func(f string, a ...any) { errs = append(errs, fmt.Errorf(f, a...)) }
	switch {
	case s.Meetings < 1 || s.Meetings > 1000:
		bad("meetings must be 1 to 1000 (got %d)", s.Meetings)
	case s.AttendeesPerMeeting < 1 || s.AttendeesPerMeeting > 250:
		bad("attendees_per_meeting must be 1 to 250 (got %d)", s.AttendeesPerMeeting)
	}
	if s.Talkers < 0 || s.Talkers > min(16, s.AttendeesPerMeeting) {
		bad("talkers must be 0 to min(16, attendees_per_meeting) (got %d)", s.Talkers)
	}
	if s.VideoPublishers < 0 || s.VideoPublishers > s.AttendeesPerMeeting || s.VideoSubscribers < 0 || s.VideoSubscribers > s.AttendeesPerMeeting {
		bad("video_publishers and video_subscribers must be 0 to attendees_per_meeting")
	}
	if s.JoinRate < 0 || s.Duration < 0 || s.BurstLength >= s.BurstPeriod {
		bad("join_rate and duration must be positive, burst_length < burst_period")
	}
	return s, errors.Join(errs...)
}

// talkerHz is talker i's tone: multiples of 50 Hz fit a 20 ms frame, 200 Hz
// apart so the detectors never hear each other.
func talkerHz(i int) float64 { return 500 + 200*float64(i) }

// LoadScenario reads a YAML scenario file.
func LoadScenario(path string) (Scenario, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Scenario{}, err
	}
	var s Scenario
	dec := yaml.NewDecoder(bytesReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&s); err != nil {
		return Scenario{}, fmt.Errorf("%s: %w", path, err)
	}
	return s.WithDefaults()
}
