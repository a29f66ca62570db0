package notify

import (
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/confab-media/confab/signaling/events"
)

// Defaults applied by Config.withDefaults.
const (
	DefaultMaxMessageBytes = 256 * 1024 // SQS, SNS, EventBridge and async Lambda limit
	DefaultWebhookTimeout  = 5 * time.Second
	DefaultSendTimeout     = 10 * time.Second
	DefaultMeetingGrace    = 5 * time.Minute
	DefaultMaxAge          = 24 * time.Hour
	DefaultInitialBackoff  = time.Second
	DefaultMaxBackoff      = 5 * time.Minute
	// Outbox and dead-letter store bounds (Limits).
	DefaultTargetEvents = 10_000
	DefaultTargetBytes  = 64 << 20
	DefaultEvents       = 100_000
	DefaultBytes        = 256 << 20
	DefaultDeadLetters  = 10_000
	DefaultDeadBytes    = 64 << 20
	// DefaultEventBridgeSource is the Source of events put on an EventBridge
	// bus: EventBridge refuses PutEvents entries whose source starts with
	// "aws.", so the Chime source "aws.chime" cannot be used there.
	DefaultEventBridgeSource = "confab.chime"
)

// Config holds the tunables of the notification service.
type Config struct {
	// Dir holds the outbox database (notify.db) when Params.DB is nil;
	// with Params.DB, a notify.db left there by an earlier version is
	// imported into DB once and renamed to notify.db.imported. Created if
	// missing.
	Dir string
	// Hooks are the deployment-wide hooks of the configuration file. They
	// are read-only through the admin API, which adds hooks of its own.
	Hooks []Hook
	// Endpoints map the ARNs of meetings' NotificationsConfiguration to
	// endpoints and credentials. An ARN no endpoint matches is refused.
	Endpoints []Endpoint
	// Retry bounds redelivery before an event is dead-lettered.
	Retry RetryPolicy
	// MaxMessageBytes: larger events are never sent but dead-lettered
	// (default 262144).
	MaxMessageBytes int
	// WebhookTimeout bounds one webhook POST (default 5 s).
	WebhookTimeout time.Duration
	// SendTimeout bounds one SQS, SNS, EventBridge or Lambda call (default 10 s).
	SendTimeout time.Duration
	// MeetingGrace is how long a meeting's targets keep receiving its events
	// after chime:MeetingEnded, for the attendee departures that trail it
	// (default 5 min).
	MeetingGrace time.Duration
	// DLQ, when set, also receives every dead letter (as a JSON envelope
	// with the reason; see DeadLetterMessage).
	DLQ *SQSTarget
	// Limits bound the outbox and the dead-letter store.
	Limits Limits
}

// Limits bound what the outbox and the dead-letter store hold, in entries
// and in bytes (stored size), so that no client can fill the disk through
// events (a join/leave loop writes hundreds per second). Zero fields take
// the defaults; there is no "unlimited".
//
// An event that would take a target, or the whole outbox, past its cap is
// not queued: it is dead-lettered at once with reason outbox_full (counted
// in confab_notify_dead_lettered_total, logged at most every 10 s) and can
// be re-driven once the target has caught up. The API call that caused it
// is never blocked or failed by this. When the dead-letter store is past
// its own cap, its oldest entries are evicted (counted in
// confab_notify_dead_letters_evicted_total, logged at most every 10 s).
// Caps are checked against the committed counts plus the transaction's own
// changes, so two concurrent writers may together overshoot by one group
// commit.
type Limits struct {
	TargetEvents int `yaml:"target_events"` // per target (default 10000)
	TargetBytes  int `yaml:"target_bytes"`  // per target (default 64 MiB)
	Events       int `yaml:"events"`        // all targets together (default 100000)
	Bytes        int `yaml:"bytes"`         // all targets together (default 256 MiB)
	DeadLetters  int `yaml:"dead_letters"`  // the dead-letter store (default 10000)
	DeadBytes    int `yaml:"dead_bytes"`    // the dead-letter store (default 64 MiB)
}

func (l *Limits) withDefaults() error {
	for _, f := range []struct {
		name string
		v    *int
		def  int
	}{
		{"TargetEvents", &l.TargetEvents, DefaultTargetEvents}, {"TargetBytes", &l.TargetBytes, DefaultTargetBytes},
		{"Events", &l.Events, DefaultEvents}, {"Bytes", &l.Bytes, DefaultBytes},
		{"DeadLetters", &l.DeadLetters, DefaultDeadLetters}, {"DeadBytes", &l.DeadBytes, DefaultDeadBytes},
	} {
		if *f.v < 0 {
			return fmt.Errorf("%w: Limits.%s %d", ErrInvalidConfig, f.name, *f.v)
		}
		if *f.v == 0 {
			*f.v = f.def
		}
	}
	return nil
}

// RetryPolicy is the retry budget of one event at one target. An event is
// dead-lettered after MaxAttempts failed attempts or, on a failed attempt,
// once it has waited MaxAge, whichever comes first.
type RetryPolicy struct {
	MaxAttempts    int           // 0: no limit on attempts
	MaxAge         time.Duration // 0: 24 h; negative: no age limit
	InitialBackoff time.Duration // first backoff (default 1 s)
	MaxBackoff     time.Duration // cap of the doubling backoff (default 5 min)
}

// HookType is the kind of a hook's target.
type HookType string

// Hook types.
const (
	HookWebhook     HookType = "webhook"
	HookSQS         HookType = "sqs"
	HookSNS         HookType = "sns"
	HookEventBridge HookType = "eventbridge"
)

// Hook is a deployment-wide event hook: every event whose type passes the
// filter goes to its target, whatever the meeting. Exactly the target field
// matching Type is set.
type Hook struct {
	Name string   `json:"name" yaml:"name"` // [A-Za-z0-9][A-Za-z0-9._-]{0,63}
	Type HookType `json:"type" yaml:"type"`
	// Enabled defaults to true when absent. A disabled hook takes no new
	// events; events already queued wait for it to be enabled again.
	Enabled *bool `json:"enabled,omitempty" yaml:"enabled,omitempty"`
	// EventTypes filters by detail.eventType; empty means every type.
	EventTypes  []events.Type      `json:"event_types,omitempty" yaml:"event_types,omitempty"`
	Webhook     *WebhookTarget     `json:"webhook,omitempty" yaml:"webhook,omitempty"`
	SQS         *SQSTarget         `json:"sqs,omitempty" yaml:"sqs,omitempty"`
	SNS         *SNSTarget         `json:"sns,omitempty" yaml:"sns,omitempty"`
	EventBridge *EventBridgeTarget `json:"eventbridge,omitempty" yaml:"eventbridge,omitempty"`
}

// IsEnabled reports whether the hook takes events (Enabled absent or true).
func (h *Hook) IsEnabled() bool { return h.Enabled == nil || *h.Enabled }

// WebhookTarget is an HTTPS endpoint receiving signed POSTs (see the package
// documentation for the headers and how to verify them).
type WebhookTarget struct {
	URL    string `json:"url" yaml:"url"`
	Secret string `json:"secret,omitempty" yaml:"secret"` // HMAC key, at least 16 bytes
	// Batch is how many events one POST may carry. 0 or 1 (the default):
	// each POST's body is one event. 2–MaxWebhookBatch: the body is always a
	// JSON array of events (one or more: what is queued, never waiting to
	// fill), with HeaderBatch giving the count; receivers de-duplicate on
	// each event's "id". It cuts the HTTP round trips of a busy meeting
	// plane by up to Batch times.
	Batch int `json:"batch,omitempty" yaml:"batch,omitempty"`
}

// MaxWebhookBatch bounds WebhookTarget.Batch.
const MaxWebhookBatch = 100

// Credentials are static AWS credentials. When AccessKeyID is empty the AWS
// SDK's default chain is used (environment, shared files, SSO, container and
// instance roles).
type Credentials struct {
	AccessKeyID     string `json:"access_key_id,omitempty" yaml:"access_key_id,omitempty"`
	SecretAccessKey string `json:"secret_access_key,omitempty" yaml:"secret_access_key,omitempty"`
	SessionToken    string `json:"session_token,omitempty" yaml:"session_token,omitempty"`
}

// AWSAccess says where and as whom a hook reaches an AWS-compatible service.
type AWSAccess struct {
	Region string `json:"region,omitempty" yaml:"region,omitempty"`
	// EndpointURL overrides the service endpoint (a self-hosted SQS, a
	// VPC endpoint, a test server); empty means AWS's public endpoint.
	EndpointURL string `json:"endpoint_url,omitempty" yaml:"endpoint_url,omitempty"`
	Credentials `yaml:",inline"`
}

// SQSTarget is an SQS queue. Region defaults to the one in the queue URL's
// host (sqs.<region>.amazonaws.com), else to us-east-1 when EndpointURL is set.
type SQSTarget struct {
	QueueURL  string `json:"queue_url" yaml:"queue_url"`
	AWSAccess `yaml:",inline"`
}

// SNSTarget is an SNS topic. Region defaults to the topic ARN's.
type SNSTarget struct {
	TopicARN  string `json:"topic_arn" yaml:"topic_arn"`
	AWSAccess `yaml:",inline"`
}

// EventBridgeTarget is an EventBridge event bus.
type EventBridgeTarget struct {
	BusName string `json:"bus_name,omitempty" yaml:"bus_name,omitempty"` // name or ARN; default "default"
	// Source of the put events; default "confab.chime" (EventBridge refuses
	// sources starting with "aws.").
	Source    string `json:"source,omitempty" yaml:"source,omitempty"`
	AWSAccess `yaml:",inline"`
}

// Endpoint serves the target ARNs of meetings: an ARN
// arn:<partition>:<service>:<region>:<account>:<resource> matches when
// Service, Region and Account are each empty or equal. The most specific
// match wins (most non-empty fields), then the first listed.
type Endpoint struct {
	Service string `json:"service,omitempty" yaml:"service,omitempty"` // sqs, sns or lambda; empty: all
	Region  string `json:"region,omitempty" yaml:"region,omitempty"`
	Account string `json:"account,omitempty" yaml:"account,omitempty"`
	// URL is the endpoint (e.g. http://queue.internal:4100); empty means
	// AWS's public endpoint for the ARN's region.
	URL         string `json:"url,omitempty" yaml:"url,omitempty"`
	Credentials `yaml:",inline"`
}

// MeetingTargets is a meeting's NotificationsConfiguration. It has the
// fields of store.NotificationsConfiguration, so one converts to the other.
type MeetingTargets struct {
	LambdaFunctionArn string `json:"LambdaFunctionArn,omitempty"`
	SnsTopicArn       string `json:"SnsTopicArn,omitempty"`
	SqsQueueArn       string `json:"SqsQueueArn,omitempty"`
}

func (t MeetingTargets) empty() bool {
	return t.LambdaFunctionArn == "" && t.SnsTopicArn == "" && t.SqsQueueArn == ""
}

// withDefaults fills zero fields and validates the rest.
func (c Config) withDefaults() (Config, error) {
	if c.Dir == "" {
		return c, fmt.Errorf("%w: Dir is required", ErrInvalidConfig)
	}
	if c.MaxMessageBytes == 0 {
		c.MaxMessageBytes = DefaultMaxMessageBytes
	}
	if err := c.Limits.withDefaults(); err != nil {
		return c, err
	}
	if c.WebhookTimeout == 0 {
		c.WebhookTimeout = DefaultWebhookTimeout
	}
	if c.SendTimeout == 0 {
		c.SendTimeout = DefaultSendTimeout
	}
	if c.MeetingGrace == 0 {
		c.MeetingGrace = DefaultMeetingGrace
	}
	r := &c.Retry
	if r.MaxAge == 0 {
		r.MaxAge = DefaultMaxAge
	}
	if r.InitialBackoff == 0 {
		r.InitialBackoff = DefaultInitialBackoff
	}
	if r.MaxBackoff == 0 {
		r.MaxBackoff = DefaultMaxBackoff
	}
	switch {
	case c.MaxMessageBytes < 0:
		return c, fmt.Errorf("%w: MaxMessageBytes %d", ErrInvalidConfig, c.MaxMessageBytes)
	case c.WebhookTimeout < 0 || c.SendTimeout < 0 || c.MeetingGrace < 0:
		return c, fmt.Errorf("%w: negative timeout", ErrInvalidConfig)
	case r.MaxAttempts < 0:
		return c, fmt.Errorf("%w: Retry.MaxAttempts %d", ErrInvalidConfig, r.MaxAttempts)
	case r.InitialBackoff < 0 || r.MaxBackoff < r.InitialBackoff:
		return c, fmt.Errorf("%w: Retry backoff %v..%v", ErrInvalidConfig, r.InitialBackoff, r.MaxBackoff)
	}
	if c.DLQ != nil {
		if err := c.DLQ.validate(); err != nil {
			return c, fmt.Errorf("%w: DLQ: %w", ErrInvalidConfig, err)
		}
	}
	for i, e := range c.Endpoints {
		if err := e.validate(); err != nil {
			return c, fmt.Errorf("%w: Endpoints[%d]: %w", ErrInvalidConfig, i, err)
		}
	}
	seen := map[string]bool{}
	for i := range c.Hooks {
		h, err := normalizeHook(c.Hooks[i])
		if err != nil {
			return c, fmt.Errorf("%w: Hooks[%d]: %w", ErrInvalidConfig, i, err)
		}
		if seen[h.Name] {
			return c, fmt.Errorf("%w: hook %q defined twice", ErrInvalidConfig, h.Name)
		}
		seen[h.Name] = true
		c.Hooks[i] = h
	}
	return c, nil
}

var hookNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// knownTypes are the event types a hook filter may name.
var knownTypes = func() map[events.Type]bool {
	m := map[events.Type]bool{}
	for _, t := range []events.Type{
		events.MeetingStarted, events.MeetingEnded, events.AttendeeAdded, events.AttendeeDeleted,
		events.AttendeeAuthorized, events.AttendeeJoined, events.AttendeeLeft, events.AttendeeDropped,
		events.AttendeeCapabilitiesUpdated, events.AttendeeVideoStarted, events.AttendeeVideoStopped,
		events.AttendeeContentJoined, events.AttendeeContentLeft, events.AttendeeContentDropped,
		events.AttendeeContentVideoStarted, events.AttendeeContentVideoStopped,
		"chime:TranscriptionStarted", "chime:TranscriptionStopped", "chime:TranscriptionInterrupted",
		"chime:TranscriptionResumed", "chime:TranscriptionFailed",
	} {
		m[t] = true
	}
	return m
}()

// normalizeHook validates h and returns a copy with defaults filled and the
// slices and pointers owned by the copy.
func normalizeHook(h Hook) (Hook, error) {
	if !hookNameRE.MatchString(h.Name) {
		return h, fmt.Errorf("%w: name %q must match %s", ErrInvalidHook, h.Name, hookNameRE)
	}
	set := 0
	for _, p := range []bool{h.Webhook != nil, h.SQS != nil, h.SNS != nil, h.EventBridge != nil} {
		if p {
			set++
		}
	}
	var err error
	switch h.Type {
	case HookWebhook:
		if h.Webhook == nil {
			return h, fmt.Errorf("%w: %s: type webhook needs the webhook settings", ErrInvalidHook, h.Name)
		}
		w := *h.Webhook
		err = w.validate()
		h.Webhook = &w
	case HookSQS:
		if h.SQS == nil {
			return h, fmt.Errorf("%w: %s: type sqs needs the sqs settings", ErrInvalidHook, h.Name)
		}
		q := *h.SQS
		err = q.validate()
		h.SQS = &q
	case HookSNS:
		if h.SNS == nil {
			return h, fmt.Errorf("%w: %s: type sns needs the sns settings", ErrInvalidHook, h.Name)
		}
		t := *h.SNS
		err = t.validate()
		h.SNS = &t
	case HookEventBridge:
		if h.EventBridge == nil {
			return h, fmt.Errorf("%w: %s: type eventbridge needs the eventbridge settings", ErrInvalidHook, h.Name)
		}
		b := *h.EventBridge
		err = b.validate()
		h.EventBridge = &b
	default:
		return h, fmt.Errorf("%w: %s: type %q is not webhook, sqs, sns or eventbridge", ErrInvalidHook, h.Name, h.Type)
	}
	if err != nil {
		return h, fmt.Errorf("%w: %s: %w", ErrInvalidHook, h.Name, err)
	}
	if set != 1 {
		return h, fmt.Errorf("%w: %s: set only the %s settings", ErrInvalidHook, h.Name, h.Type)
	}
	if h.Enabled != nil {
		v := *h.Enabled
		h.Enabled = &v
	}
	types := make([]events.Type, 0, len(h.EventTypes))
	seen := map[events.Type]bool{}
	for _, t := range h.EventTypes {
		if !knownTypes[t] {
			return h, fmt.Errorf("%w: %s: unknown event type %q", ErrInvalidHook, h.Name, t)
		}
		if !seen[t] {
			seen[t] = true
			types = append(types, t)
		}
	}
	h.EventTypes = types
	if len(types) == 0 {
		h.EventTypes = nil
	}
	return h, nil
}

func validHTTPURL(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return err
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%q is not an http(s) URL", s)
	}
	return nil
}

func (w *WebhookTarget) validate() error {
	if err := validHTTPURL(w.URL); err != nil {
		return fmt.Errorf("webhook.url: %w", err)
	}
	if len(w.Secret) < 16 {
		return fmt.Errorf("webhook.secret must be at least 16 bytes")
	}
	if w.Batch < 0 || w.Batch > MaxWebhookBatch {
		return fmt.Errorf("webhook.batch must be 0–%d, not %d", MaxWebhookBatch, w.Batch)
	}
	return nil
}

func (a *AWSAccess) validate() error {
	if a.EndpointURL != "" {
		if err := validHTTPURL(a.EndpointURL); err != nil {
			return fmt.Errorf("endpoint_url: %w", err)
		}
	}
	if (a.AccessKeyID == "") != (a.SecretAccessKey == "") {
		return fmt.Errorf("access_key_id and secret_access_key go together")
	}
	return nil
}

func (q *SQSTarget) validate() error {
	u, err := url.Parse(q.QueueURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || strings.Trim(u.Path, "/") == "" {
		return fmt.Errorf("sqs.queue_url %q is not a queue URL", q.QueueURL)
	}
	if q.Region == "" {
		// sqs.<region>.amazonaws.com[.cn]
		if p := strings.Split(u.Hostname(), "."); len(p) >= 4 && p[0] == "sqs" {
			q.Region = p[1]
		} else if q.EndpointURL != "" {
			q.Region = "us-east-1"
		} else {
			return fmt.Errorf("sqs.region is required")
		}
	}
	return q.AWSAccess.validate()
}

func (t *SNSTarget) validate() error {
	a, err := parseARN(t.TopicARN)
	if err != nil || a.service != "sns" {
		return fmt.Errorf("sns.topic_arn %q is not an SNS topic ARN", t.TopicARN)
	}
	if t.Region == "" {
		t.Region = a.region
	}
	return t.AWSAccess.validate()
}

func (b *EventBridgeTarget) validate() error {
	if b.BusName == "" {
		b.BusName = "default"
	}
	if b.Source == "" {
		b.Source = DefaultEventBridgeSource
	}
	if b.Region == "" {
		if a, err := parseARN(b.BusName); err == nil {
			b.Region = a.region
		} else if b.EndpointURL != "" {
			b.Region = "us-east-1"
		} else {
			return fmt.Errorf("eventbridge.region is required")
		}
	}
	return b.AWSAccess.validate()
}

func (e *Endpoint) validate() error {
	switch e.Service {
	case "", "sqs", "sns", "lambda":
	default:
		return fmt.Errorf("service %q is not sqs, sns or lambda", e.Service)
	}
	if e.URL != "" {
		if err := validHTTPURL(e.URL); err != nil {
			return err
		}
	}
	if (e.AccessKeyID == "") != (e.SecretAccessKey == "") {
		return fmt.Errorf("access_key_id and secret_access_key go together")
	}
	return nil
}
