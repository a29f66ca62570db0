package load

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Scenario is one load shape. Zero values take the defaults named on each
// field.
type Scenario struct {
	Name string `yaml:"name" json:"name"`
	// Meetings and AttendeesPerMeeting: default 1 × 4.
	Meetings            int `yaml:"meetings" json:"meetings"`
	AttendeesPerMeeting int `yaml:"attendees" json:"attendeesPerMeeting"`
	// Talkers per meeting send tone bursts (default 2, at most 16); the
	// others send silence.
	Talkers int `yaml:"talkers" json:"talkers"`
	// VideoPublishers per meeting publish 3-layer simulcast (VideoCodec);
	// VideoSubscribers per meeting (counted from the last attendee back)
	// subscribe to every publisher's top layer.
	VideoPublishers  int `yaml:"video-publishers" json:"videoPublishers"`
	VideoSubscribers int `yaml:"video-subscribers" json:"videoSubscribers"`
	// VideoLayer is the layer subscribers ask for: low, mid, high
	// (default) or auto (high; the SFU fits what it forwards to each
	// subscriber's bandwidth either way).
	VideoLayer string `yaml:"video-layer" json:"videoLayer,omitempty"`
	// VideoCodec is every attendee's one video codec, sent and received:
	// VP8 (default) or H264 (constrained baseline; see attendee.VideoConfig).
	VideoCodec string `yaml:"video-codec" json:"videoCodec,omitempty"`
	// Measuring is how many attendees per meeting decode the mix and
	// measure mouth-to-ear latency (the talkers and the first non-talkers);
	// the rest only count packets, which keeps a big harness light. 0
	// means all.
	Measuring int `yaml:"measuring" json:"measuring"`
	// JoinRate is attendees joined per second (default 10).
	JoinRate float64 `yaml:"join-rate" json:"joinRate"`
	// Duration is how long everyone stays after the last join (default 10s).
	Duration time.Duration `yaml:"duration" json:"duration"`
	// UntilInterrupted: stay until the run's context ends (Ctrl-C), then
	// measure and report as usual (`--duration 0`).
	UntilInterrupted bool `yaml:"-" json:"untilInterrupted,omitempty"`
	// BurstPeriod and BurstLength shape the talkers' bursts (default 1s,
	// 200ms).
	BurstPeriod time.Duration `yaml:"burst-period" json:"burstPeriod"`
	BurstLength time.Duration `yaml:"burst-length" json:"burstLength"`

	// Relay connects every synthetic attendee only through the TURN
	// servers JOIN_ACK names, over udp, tcp or tls; "" connects directly.
	Relay string `yaml:"relay" json:"relay,omitempty"`
	// LossPct, Delay, Jitter and BandwidthKbps impair every attendee's
	// path (attendee.Impairment: loss both ways; delay, jitter and the cap
	// on what it sends), seeded from Seed and the attendee's place so that
	// a run repeats.
	LossPct       float64       `yaml:"loss" json:"lossPct,omitempty"`
	Delay         time.Duration `yaml:"delay" json:"delay,omitempty"`
	Jitter        time.Duration `yaml:"jitter" json:"jitter,omitempty"`
	BandwidthKbps int           `yaml:"bandwidth-kbps" json:"bandwidthKbps,omitempty"`
	Seed          uint64        `yaml:"seed" json:"seed,omitempty"`

	// SIPCallers per meeting dial in from phones (bench/phone, the join
	// token in the Request-URI); the first SIPTalkers of them talk in
	// bursts (default 1 when there are callers). SIPCodec is PCMU
	// (default), PCMA or OPUS; SIPSRTP makes them offer SRTP (SDES)
	// instead of plain RTP.
	SIPCallers int    `yaml:"sip-callers" json:"sipCallers,omitempty"`
	SIPTalkers int    `yaml:"sip-talkers" json:"sipTalkers,omitempty"`
	SIPCodec   string `yaml:"sip-codec" json:"sipCodec,omitempty"`
	SIPSRTP    bool   `yaml:"sip-srtp" json:"sipSRTP,omitempty"`
	// SIPPIN makes the callers dial a SIP media application that the
	// bench serves and registers through the Voice API, and key a PIN,
	// instead of dialing with a join token (pin.go).
	SIPPIN bool `yaml:"sip-pin" json:"sipPIN,omitempty"`

	// Shard runs only part of the meetings (`--shard i/n`).
	Shard Shard `yaml:"-" json:"shard,omitzero"`
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
	if s.SIPCallers > 0 && s.SIPTalkers == 0 {
		s.SIPTalkers = 1
	}
	if s.SIPCallers > 0 && s.SIPCodec == "" {
		s.SIPCodec = "PCMU"
	}
	s.SIPCodec = strings.ToUpper(s.SIPCodec)
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
		bad("attendees must be 1 to 250 per meeting (got %d)", s.AttendeesPerMeeting)
	}
	if s.Talkers < 0 || s.Talkers > min(16, s.AttendeesPerMeeting) {
		bad("talkers must be 0 to min(16, attendees) (got %d)", s.Talkers)
	}
	if s.VideoPublishers < 0 || s.VideoPublishers > s.AttendeesPerMeeting || s.VideoSubscribers < 0 || s.VideoSubscribers > s.AttendeesPerMeeting {
		bad("video-publishers and video-subscribers must be 0 to attendees")
	}
	if s.JoinRate < 0 || s.Duration < 0 || s.BurstLength >= s.BurstPeriod {
		bad("join-rate and duration must be positive, burst-length < burst-period")
	}
	if s.SIPCallers < 0 || s.SIPCallers > 250 || s.SIPTalkers < 0 || s.SIPTalkers > s.SIPCallers || s.Talkers+s.SIPTalkers > 16 {
		bad("sip-callers must be 0 to 250, sip-talkers at most sip-callers, talkers + sip-talkers at most 16")
	}
	if s.SIPCodec != "" && s.SIPCodec != "PCMU" && s.SIPCodec != "PCMA" && s.SIPCodec != "OPUS" {
		bad("sip-codec must be PCMU, PCMA or OPUS (got %q)", s.SIPCodec)
	}
	switch s.VideoLayer {
	case "":
		s.VideoLayer = "high"
	case "low", "mid", "high", "auto":
	default:
		bad("video-layer must be low, mid, high or auto (got %q)", s.VideoLayer)
	}
	switch s.VideoCodec = strings.ToUpper(s.VideoCodec); s.VideoCodec {
	case "":
		s.VideoCodec = "VP8"
	case "VP8", "H264":
	default:
		bad("video-codec must be VP8 or H264 (got %q)", s.VideoCodec)
	}
	switch s.Relay {
	case "", "udp", "tcp", "tls":
	default:
		bad("relay must be udp, tcp or tls (got %q)", s.Relay)
	}
	if s.LossPct < 0 || s.LossPct > 100 || s.Delay < 0 || s.Jitter < 0 || s.Jitter > s.Delay || s.BandwidthKbps < 0 {
		bad("loss must be 0 to 100 (%%), delay and bandwidth-kbps at least 0, jitter at most delay")
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
		if strings.Contains(err.Error(), " not found in type") {
			return Scenario{}, fmt.Errorf("%s: %w (the keys are the flags' names: name, meetings, attendees, talkers, "+
				"video-publishers, video-subscribers, video-layer, video-codec, measuring, join-rate, duration, burst-period, burst-length, relay, "+
				"loss, delay, jitter, bandwidth-kbps, seed, sip-callers, sip-talkers, sip-codec, sip-srtp, sip-pin)", path, err)
		}
		return Scenario{}, fmt.Errorf("%s: %w", path, err)
	}
	return s.WithDefaults()
}
