package config

import (
	_ "embed"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/confab-media/confab/signaling/notify"
	"github.com/confab-media/confab/sma"
)

// Config is the complete configuration of a confab node. Its YAML form is the
// configuration file; see example.yaml for every key with its default.
type Config struct {
	// HTTP configures the API listener and the public address clients use.
	HTTP HTTPConfig `yaml:"http"`

	// PublicIP is the one address clients reach this node at. When set,
	// it fills whichever of http.public_url (with the listen port),
	// media.public_ips, turn.public_host, sip.public_ip — and turn.relay_ip
	// when the address is on one of this host's interfaces — are not set
	// themselves. "auto" takes the address of the interface holding the
	// default route. Default: none. Environment: CONFAB_PUBLIC_IP; flag:
	// --public-ip.
	PublicIP string `yaml:"public_ip"`

	// DataDir is the directory holding persistent state. Default
	// "./confab-data". Environment: CONFAB_DATA_DIR;
	// flag: --data-dir.
	DataDir string `yaml:"data_dir"`

	// AccountID is the 12-digit account number used in the ARNs the API
	// returns (for example in MeetingArn). Default "000000000000".
	// Environment: CONFAB_ACCOUNT_ID.
	AccountID string `yaml:"account_id"`

	// MediaRegions lists the media regions (Chime MediaRegion values) this
	// node serves. Each is 2–64 characters of a–z, 0–9 and "-", without duplicates. Empty (the
	// default) means every region in DocumentedRegions. Environment:
	// CONFAB_MEDIA_REGIONS, comma-separated.
	MediaRegions []string `yaml:"media_regions"`

	// Credentials are the AWS Signature Version 4 key pairs the API accepts.
	// Default: none. Environment: CONFAB_ACCESS_KEY_ID together with
	// CONFAB_SECRET_ACCESS_KEY adds one pair, placed before those of the file.
	Credentials []Credential `yaml:"credentials"`

	// Quotas are the service limits enforced by the API.
	Quotas Quotas `yaml:"quotas"`

	// Meetings configures meeting lifetimes.
	Meetings MeetingsConfig `yaml:"meetings"`

	// Media configures the WebRTC media plane and the audio mixer.
	Media MediaConfig `yaml:"media"`

	// TURN configures the TURN relay clients reach media through.
	TURN TURNConfig `yaml:"turn"`

	// SIP configures the SIP dial-in gateway.
	SIP SIPConfig `yaml:"sip"`

	// Notifications configures meeting event delivery.
	Notifications NotificationsConfig `yaml:"notifications"`

	// Cluster runs this node as one of several sharing a Redis (package
	// cluster). Off (the embedded single node) unless redis_url is set.
	Cluster ClusterConfig `yaml:"cluster"`

	// Log configures the process log.
	Log LogConfig `yaml:"log"`

	// Demo configures the meeting web app served at /.
	Demo DemoConfig `yaml:"demo"`

	// Debug configures debugging aids; leave them off in production.
	Debug DebugConfig `yaml:"debug"`
}

// DemoConfig configures the meeting web app (package demo) at /: a page
// that creates or joins a meeting by name and runs the stock Chime SDK.
type DemoConfig struct {
	// Enabled turns the app on or off. Unset (the default): on when
	// http.listen is a loopback address, off otherwise. Joining creates
	// meetings, so on any other address it needs Passcode. Environment:
	// CONFAB_DEMO_ENABLED.
	Enabled *bool `yaml:"enabled"`
	// Passcode must accompany every join when set; required when the app
	// is on and http.listen is not loopback. Environment: CONFAB_DEMO_PASSCODE.
	Passcode string `yaml:"passcode"`
}

// On reports whether the app is served with http.listen at listen.
func (d DemoConfig) On(listen string) bool {
	if d.Enabled != nil {
		return *d.Enabled
	}
	return isLoopbackListen(listen)
}

// isLoopbackListen reports whether a host:port listens on loopback only.
func isLoopbackListen(listen string) bool {
	host, _, err := net.SplitHostPort(listen)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// ClusterConfig configures cluster mode.
type ClusterConfig struct {
	// RedisURL (redis://[user:password@]host:port/db, or rediss:// for TLS)
	// turns cluster mode on: meetings, attendees and events live in that
	// Redis, shared by every node. Default "" (single node, bbolt).
	// Environment: CONFAB_REDIS_URL.
	RedisURL string `yaml:"redis_url"`
	// NodeID names this node in the cluster; it must be unique and stable
	// across restarts (a node that restarts under its id gets its meetings
	// back). Default: the host name. Environment: CONFAB_NODE_ID.
	NodeID string `yaml:"node_id"`
	// Heartbeat is how often the node publishes its load. Default 2s; a node
	// whose heartbeat is 3 periods old is dead and its meetings are ended.
	Heartbeat Duration `yaml:"heartbeat"`
	// DrainTimeout is how long a draining node (SIGTERM, or POST
	// /admin/drain) lets its meetings go on before ending them. Default 5m.
	// Environment: CONFAB_DRAIN_TIMEOUT.
	DrainTimeout Duration `yaml:"drain_timeout"`
}

// Enabled reports whether cluster mode is on.
func (c ClusterConfig) Enabled() bool { return c.RedisURL != "" }

// GroupID is the media group this node's meetings are recorded on: its
// node id in a cluster, "local" alone.
func (c Config) GroupID() string {
	if c.Cluster.Enabled() {
		return c.Cluster.NodeID
	}
	return "local"
}

// HTTPConfig configures the HTTP listener.
type HTTPConfig struct {
	// Listen is the host:port the API listens on; the port is numeric and the
	// host may be empty to listen on every interface. Default
	// "127.0.0.1:8080". Environment: CONFAB_HTTP_LISTEN; flag: --listen.
	Listen string `yaml:"listen"`

	// PublicURL is the base URL clients reach this node at; MediaPlacement
	// URLs are built from it. It must be an absolute http or https URL with
	// a host and optionally a path, without user info, query or fragment; a
	// trailing slash is removed. Empty (the default) means "http://" + Listen
	// (with "localhost" when Listen has no host). Set it whenever Listen is a
	// wildcard or the node sits behind a proxy. Environment:
	// CONFAB_PUBLIC_URL; flag: --public-url.
	PublicURL string `yaml:"public_url"`

	// CertFile and KeyFile, together, serve HTTPS (and wss:// signaling)
	// on Listen with this PEM certificate chain and key; a renewed pair is
	// picked up within 30 s without a restart. The derived public URL is
	// then https://. Default: none (plain HTTP, e.g. behind a TLS proxy).
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`

	// MetricsListen, when set, serves /metrics on this host:port only
	// (plain HTTP, e.g. a private interface for Prometheus) instead of on
	// Listen. Default: none (/metrics on Listen). Environment:
	// CONFAB_HTTP_METRICS_LISTEN.
	MetricsListen string `yaml:"metrics_listen"`

	// ACME obtains and renews the certificate instead (Let's Encrypt by
	// default), answering TLS-ALPN-01 on Listen, which must be port 443 of
	// the names. Exclusive with CertFile.
	ACME ACMEConfig `yaml:"acme"`
}

// ACMEConfig configures certificates from an ACME CA (internal/acmecert).
type ACMEConfig struct {
	// Domains are the names the certificate covers; none (the default)
	// turns ACME off. The derived public URL is https:// the first.
	// Environment: CONFAB_HTTP_ACME_DOMAINS, comma-separated.
	Domains []string `yaml:"domains"`
	// Email is the ACME account's contact (optional).
	Email string `yaml:"email"`
	// CA is the directory URL; empty means Let's Encrypt.
	CA string `yaml:"ca"`
	// CARoot is a PEM file of roots to trust for a private CA's API.
	CARoot string `yaml:"ca_root"`
}

// Credential is one SigV4 access key pair accepted by the API.
type Credential struct {
	// AccessKeyID identifies the key: 3–128 characters of A–Z, a–z, 0–9 and
	// _ + = , . @ -. IDs must be unique.
	AccessKeyID string `yaml:"access_key_id"`

	// SecretAccessKey is the signing secret, at least 16 characters.
	SecretAccessKey string `yaml:"secret_access_key"`
}

// String formats the credential with its secret masked, so that printing a
// Config with fmt does not leak secrets.
func (c Credential) String() string {
	return fmt.Sprintf("{%s %s}", c.AccessKeyID, maskSecret(c.SecretAccessKey))
}

// GoString is like String, for the %#v verb.
func (c Credential) GoString() string {
	return fmt.Sprintf("config.Credential{AccessKeyID:%q, SecretAccessKey:%q}", c.AccessKeyID, maskSecret(c.SecretAccessKey))
}

// KeyLookup returns the SigV4 verifier's lookup of creds: the secret of an
// access key ID.
func KeyLookup(creds []Credential) func(accessKeyID string) (secret string, ok bool) {
	keys := make(map[string]string, len(creds))
	for _, c := range creds {
		keys[c.AccessKeyID] = c.SecretAccessKey
	}
	return func(id string) (string, bool) { s, ok := keys[id]; return s, ok }
}

// Quotas are service limits. They mirror the Amazon Chime SDK defaults.
type Quotas struct {
	// ActiveMeetingsPerMediaGroup caps the concurrently active meetings of
	// one media group. At least 1; default 250.
	ActiveMeetingsPerMediaGroup int `yaml:"active_meetings_per_media_group"`

	// AttendeesPerMeeting caps the attendees of one meeting. At least 1;
	// default 250.
	AttendeesPerMeeting int `yaml:"attendees_per_meeting"`

	// HighResolutionAttendees is the attendee cap used instead of
	// AttendeesPerMeeting when a meeting asks for FHD video or UHD content.
	// At least 1 and at most AttendeesPerMeeting; default 25.
	HighResolutionAttendees int `yaml:"high_resolution_attendees"`

	// APIRequestsPerSecond is the sustained API request rate allowed
	// (token bucket). At least 0; 0 disables throttling; default 10.
	APIRequestsPerSecond float64 `yaml:"api_requests_per_second"`

	// APIBurst is the token-bucket size for APIRequestsPerSecond. At least 1
	// when throttling is enabled; ignored otherwise. Default 20.
	APIBurst int `yaml:"api_burst"`
}

// MeetingsConfig configures meeting lifetimes. Durations are Go duration
// strings such as "90s", "5m" or "24h".
type MeetingsConfig struct {
	// MaxDuration ends a meeting this long after it was created, whatever
	// its activity. Greater than 0; default "24h".
	MaxDuration Duration `yaml:"max_duration"`

	// IdleTimeout ends a meeting once no attendee has been connected for
	// this long. Greater than 0; default "5m".
	IdleTimeout Duration `yaml:"idle_timeout"`

	// SweepInterval is how often meetings are checked against MaxDuration
	// and IdleTimeout. Greater than 0 and at most IdleTimeout; default "10s".
	SweepInterval Duration `yaml:"sweep_interval"`
}

// LogConfig configures the process log.
type LogConfig struct {
	// Level is the minimum level logged: debug, info, warn or error.
	// Default "info". Environment: CONFAB_LOG_LEVEL; flag: --log-level.
	Level string `yaml:"level"`

	// Format is the log line format: text or json. Default "text".
	// Environment: CONFAB_LOG_FORMAT.
	Format string `yaml:"format"`
}

// MediaConfig configures the WebRTC media plane (sfu) and the mixer.
type MediaConfig struct {
	// UDPListen is the host:port of the one UDP socket every WebRTC peer
	// uses (ICE-lite, single-port mux). Port 0 picks a free port at start;
	// set a fixed one for firewalls. Default "127.0.0.1:0".
	// Environment: CONFAB_MEDIA_UDP_LISTEN.
	UDPListen string `yaml:"udp_listen"`
	// PublicIPs replace the socket's address in ICE host candidates (1:1
	// NAT); empty advertises the listen address itself.
	// Environment: CONFAB_MEDIA_PUBLIC_IPS (comma-separated).
	PublicIPs []string `yaml:"public_ips"`
	// TopTalkers is how many of the loudest attendees are mixed. Default 3.
	TopTalkers int `yaml:"top_talkers"`
	// OpusBitrate is the mixed stream's bitrate in bit/s, 16000 to 64000.
	// Default 32000.
	OpusBitrate int `yaml:"opus_bitrate"`
	// OpusComplexity is the Opus encoder complexity, 1 to 10. Default 4:
	// the cheapest within 0.15 dB (log-spectral distance of speech-like
	// audio) of 10, at half its encode cost (mixer's quality test).
	OpusComplexity int `yaml:"opus_complexity"`
	// OpusMinComplexity is how far the encoders shed complexity while the
	// node is short of CPU (mixing ticks running late), 1 to
	// OpusComplexity. Default 1 (within 0.5 dB of 10).
	OpusMinComplexity int `yaml:"opus_min_complexity"`
	// MaxVideos is how many cameras may publish in one meeting, 1 to 25.
	// Default 16 (Chime's documented default).
	MaxVideos int `yaml:"max_videos"`
	// MaxContentShares is how many content shares one meeting may have at
	// once, 1 to 4. Default 2.
	MaxContentShares int `yaml:"max_content_shares"`
}

// TURNConfig configures the TURN relay (RFC 8656). With it on, JOIN_ACK
// carries per-attendee credentials and the stock SDK then sends all media
// through the relay (iceTransportPolicy "relay").
type TURNConfig struct {
	// Enabled turns the relay on. Default true. Off, JOIN_ACK carries no
	// credentials and clients use host candidates.
	Enabled bool `yaml:"enabled"`
	// ListenUDP is the IPv4 host:port of the UDP listener (and, by
	// default, of the TCP one). Port 0 picks a free port. Default
	// "127.0.0.1:3478".
	ListenUDP string `yaml:"listen_udp"`
	// ListenTCP is TURN over TCP; empty means ListenUDP's host and port.
	ListenTCP string `yaml:"listen_tcp"`
	// ListenTLS is TURN over TLS (turns:), used only with CertFile and
	// KeyFile; empty means ListenUDP's host, port 5349.
	ListenTLS string `yaml:"listen_tls"`
	// CertFile and KeyFile are a PEM certificate chain and key for TLS.
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
	// PublicHost is the host (name or IP) put in the turn: URIs clients
	// get; empty means ListenUDP's host.
	PublicHost string `yaml:"public_host"`
	// RelayIP is the IPv4 address relayed sockets bind to and advertise;
	// empty means ListenUDP's host.
	RelayIP string `yaml:"relay_ip"`
	// RelayPortMin and RelayPortMax bound the relay ports. Default
	// 49152-65535.
	RelayPortMin int `yaml:"relay_port_min"`
	RelayPortMax int `yaml:"relay_port_max"`
	// UDPSockets is the number of SO_REUSEPORT UDP sockets (one relay loop
	// each); 0 means one per CPU.
	UDPSockets int `yaml:"udp_sockets"`
	// Secret is the shared secret credentials are minted with; empty
	// generates one into <data_dir>/turn-secret.key.
	Secret string `yaml:"secret"`
	// CredentialTTL is how long minted credentials last; they are checked
	// on every request, so it must outlast meetings. Default 24h.
	CredentialTTL Duration `yaml:"credential_ttl"`
	// AllowedPeers are the peers relays may reach besides the media
	// socket (always allowed, address and port): "ip" (any port there),
	// "ip:port" (that socket) or a CIDR (any address and port in it).
	// Everything else gets 403. Default none.
	AllowedPeers []string `yaml:"allowed_peers"`
	// AllowPrivatePeers lets CIDR entries of AllowedPeers reach loopback,
	// private and link-local addresses (a CIDR inside such a range reaches
	// it anyway). Default false.
	AllowPrivatePeers bool `yaml:"allow_private_peers"`
	// MaxConns and MaxConnsPerIP cap the open TURN-over-TCP and TLS
	// connections of each listener, overall and per remote IP. Defaults
	// 1024 and 32.
	MaxConns      int `yaml:"max_conns"`
	MaxConnsPerIP int `yaml:"max_conns_per_ip"`
	// FirstMessageTimeout bounds the TLS handshake and first message of a
	// TCP or TLS connection; IdleTimeout closes one silent this long
	// (clients refresh allocations every 9 minutes at most). Defaults 10s
	// and 10m.
	FirstMessageTimeout Duration `yaml:"first_message_timeout"`
	IdleTimeout         Duration `yaml:"idle_timeout"`
	// MaxAllocationsPerAttendee caps one attendee's relays (486 past it).
	// Default 12.
	MaxAllocationsPerAttendee int `yaml:"max_allocations_per_attendee"`
	// MaxAllocations caps the node's relays. Default 10000.
	MaxAllocations int `yaml:"max_allocations"`
}

// NotificationsConfig configures the delivery of meeting events (package
// signaling/notify) to deployment-wide hooks and to the SQS/SNS/Lambda
// targets meetings name in their NotificationsConfiguration.
type NotificationsConfig struct {
	// Hooks receive every event (or those of event_types): type webhook,
	// sqs, sns or eventbridge. More can be added at runtime through the
	// admin API (/admin/notify/hooks).
	Hooks []notify.Hook `yaml:"hooks"`
	// Endpoints map ARNs (service, region, account) to an endpoint URL and
	// credentials; a meeting target no endpoint serves is refused at
	// CreateMeeting.
	Endpoints []notify.Endpoint `yaml:"endpoints"`
	// MaxAttempts (0: unlimited) and MaxAge bound retries before an event
	// is dead-lettered. Default 0 / 24h.
	MaxAttempts int      `yaml:"max_attempts"`
	MaxAge      Duration `yaml:"max_age"`
	// WebhookTimeout bounds one webhook POST. Default 5s.
	WebhookTimeout Duration `yaml:"webhook_timeout"`
	// DLQ, if set, also receives dead-lettered events (an SQS queue).
	DLQ *notify.SQSTarget `yaml:"dlq"`
	// Limits bound the outbox and the dead-letter store (entries and
	// bytes, per target and overall); past them events are dead-lettered
	// with reason outbox_full and the oldest dead letters evicted.
	Limits notify.Limits `yaml:"limits"`
}

// DebugConfig configures debugging aids.
type DebugConfig struct {
	// Pprof enables the net/http/pprof handlers under /debug/pprof/.
	// Default false. Flag: --pprof.
	Pprof bool `yaml:"pprof"`
}

// Defaults returns the built-in defaults, before derivation: PublicURL is
// empty (derived from Listen) and MediaRegions is empty (every documented
// region). Call Normalize to fill those in.
func Defaults() Config {
	return Config{
		HTTP: HTTPConfig{
			Listen: "127.0.0.1:8080",
		},
		DataDir:      "./confab-data",
		AccountID:    "000000000000",
		MediaRegions: []string{},
		Credentials:  []Credential{},
		Quotas: Quotas{
			ActiveMeetingsPerMediaGroup: 250,
			AttendeesPerMeeting:         250,
			HighResolutionAttendees:     25,
			APIRequestsPerSecond:        10,
			APIBurst:                    20,
		},
		Cluster: ClusterConfig{
			Heartbeat:    Duration(2 * time.Second),
			DrainTimeout: Duration(5 * time.Minute),
		},
		Meetings: MeetingsConfig{
			MaxDuration:   Duration(24 * time.Hour),
			IdleTimeout:   Duration(5 * time.Minute),
			SweepInterval: Duration(10 * time.Second),
		},
		Media: MediaConfig{
			UDPListen:         "127.0.0.1:0",
			PublicIPs:         []string{},
			TopTalkers:        3,
			OpusBitrate:       32000,
			OpusComplexity:    4,
			OpusMinComplexity: 1,
			MaxVideos:         16,
			MaxContentShares:  2,
		},
		TURN: TURNConfig{
			Enabled:                   true,
			ListenUDP:                 "127.0.0.1:3478",
			RelayPortMin:              49152,
			RelayPortMax:              65535,
			CredentialTTL:             Duration(24 * time.Hour),
			AllowedPeers:              []string{},
			MaxAllocationsPerAttendee: 12,
			MaxAllocations:            10000,
			MaxConns:                  1024,
			MaxConnsPerIP:             32,
			FirstMessageTimeout:       Duration(10 * time.Second),
			IdleTimeout:               Duration(10 * time.Minute),
		},
		SIP: SIPConfig{
			Enabled:                true,
			DialInNumber:           "+17035550122",
			Applications:           []sma.Application{},
			Rules:                  []sma.Rule{},
			AllowedSources:         []string{},
			MaxCallsPerApplication: 1000,
			MaxCallsPerSource:      200,
			S3:                     S3Config{PathStyle: true},
			ListenUDP:              "127.0.0.1:5060",
			ListenTCP:              "127.0.0.1:5060",
			ListenTLS:              "127.0.0.1:5061",
			RTPPortMin:             16384,
			RTPPortMax:             32767,
			RTPTimeout:             Duration(30 * time.Second),

			NoMediaTimeout:      Duration(30 * time.Second),
			MaxCallsPerMeeting:  100,
			MaxConns:            1024,
			MaxConnsPerIP:       32,
			FirstMessageTimeout: Duration(10 * time.Second),
			IdleTimeout:         Duration(time.Hour),
		},
		Notifications: NotificationsConfig{
			Hooks:          []notify.Hook{},
			Endpoints:      []notify.Endpoint{},
			MaxAge:         Duration(24 * time.Hour),
			WebhookTimeout: Duration(5 * time.Second),
			Limits: notify.Limits{
				TargetEvents: notify.DefaultTargetEvents, TargetBytes: notify.DefaultTargetBytes,
				Events: notify.DefaultEvents, Bytes: notify.DefaultBytes,
				DeadLetters: notify.DefaultDeadLetters, DeadBytes: notify.DefaultDeadBytes,
			},
		},
		Log: LogConfig{
			Level:  "info",
			Format: "text",
		},
	}
}

// DocumentedRegions returns the media regions documented for the Amazon
// Chime SDK Meetings API, as a fresh slice the caller may modify.
func DocumentedRegions() []string {
	return []string{
		"af-south-1",
		"ap-northeast-1",
		"ap-northeast-2",
		"ap-south-1",
		"ap-southeast-1",
		"ap-southeast-2",
		"ca-central-1",
		"eu-central-1",
		"eu-north-1",
		"eu-south-1",
		"eu-west-1",
		"eu-west-2",
		"eu-west-3",
		"sa-east-1",
		"us-east-1",
		"us-east-2",
		"us-west-1",
		"us-west-2",
		"us-gov-east-1",
		"us-gov-west-1",
	}
}

// Normalize fills in derived values and canonical forms, as Load does before
// validating: an empty HTTP.PublicURL becomes "http://" + HTTP.Listen (with
// host "localhost" when Listen has none), trailing slashes are removed from
// PublicURL, an empty MediaRegions becomes DocumentedRegions(), and
// Log.Level and Log.Format are lower-cased. It is idempotent. Call it on a
// Config built in code before Validate.
func (c *Config) Normalize() { c.normalize(systemNet{}) }

func (c *Config) normalize(n hostNet) {
	if len(c.HTTP.ACME.Domains) == 0 {
		c.HTTP.ACME.Domains = nil // "domains: []" is ACME off, like absent
	}
	c.derivePublic(n)
	if c.HTTP.PublicURL == "" {
		scheme := "http://"
		if c.HTTP.CertFile != "" {
			scheme = "https://"
		}
		c.HTTP.PublicURL = scheme + c.HTTP.Listen
		if host, port, err := net.SplitHostPort(c.HTTP.Listen); err == nil && host == "" {
			c.HTTP.PublicURL = scheme + net.JoinHostPort("localhost", port)
		}
		if d := c.HTTP.ACME.Domains; len(d) > 0 {
			c.HTTP.PublicURL = "https://" + d[0]
			if _, port, err := net.SplitHostPort(c.HTTP.Listen); err == nil && port != "443" {
				c.HTTP.PublicURL = "https://" + net.JoinHostPort(d[0], port)
			}
		}
	}
	c.HTTP.PublicURL = strings.TrimRight(c.HTTP.PublicURL, "/")
	if len(c.MediaRegions) == 0 {
		c.MediaRegions = DocumentedRegions()
	}
	c.Log.Level = strings.ToLower(c.Log.Level)
	c.Log.Format = strings.ToLower(c.Log.Format)
	if c.Cluster.Enabled() && c.Cluster.NodeID == "" {
		if h, err := os.Hostname(); err == nil {
			c.Cluster.NodeID = strings.ToLower(h)
		}
	}
}

// SlogLevel returns Log.Level as a slog.Level. Unknown values (rejected by
// Validate) map to slog.LevelInfo.
func (c Config) SlogLevel() slog.Level {
	switch strings.ToLower(c.Log.Level) {
	case "debug":
		return slog.LevelDebug
	case "warn":
		return slog.LevelWarn
	case "error":
		return slog.LevelError
	default:
		return slog.LevelInfo
	}
}

// Logger returns the process log, written to w in Log.Format (json, else
// text) from SlogLevel up.
func (c Config) Logger(w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: c.SlogLevel()}
	if c.Log.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// redactedMask replaces secrets in Redacted and in Credential.String.
const redactedMask = "REDACTED"

func maskSecret(s string) string {
	if s == "" {
		return ""
	}
	return redactedMask
}

// Redacted returns a deep copy of c with every non-empty SecretAccessKey
// replaced by "REDACTED", suitable for printing the effective configuration
// (for example with yaml.Marshal). Access key IDs are kept.
func (c Config) Redacted() Config {
	out := c
	if c.MediaRegions != nil {
		out.MediaRegions = append([]string{}, c.MediaRegions...)
	}
	if c.Credentials != nil {
		out.Credentials = make([]Credential, len(c.Credentials))
		for i, cr := range c.Credentials {
			out.Credentials[i] = Credential{AccessKeyID: cr.AccessKeyID, SecretAccessKey: maskSecret(cr.SecretAccessKey)}
		}
	}
	if c.Demo.Passcode != "" {
		out.Demo.Passcode = maskSecret(c.Demo.Passcode)
	}
	if c.TURN.Secret != "" {
		out.TURN.Secret = maskSecret(c.TURN.Secret)
	}
	if c.SIP.S3.SecretAccessKey != "" {
		out.SIP.S3.SecretAccessKey = maskSecret(c.SIP.S3.SecretAccessKey)
	}
	if c.SIP.Outbound.Password != "" {
		out.SIP.Outbound.Password = maskSecret(c.SIP.Outbound.Password)
	}
	if c.SIP.ApplicationSecret != "" {
		out.SIP.ApplicationSecret = maskSecret(c.SIP.ApplicationSecret)
	}
	if c.SIP.Applications != nil {
		out.SIP.Applications = append([]sma.Application{}, c.SIP.Applications...)
		for i := range out.SIP.Applications {
			if out.SIP.Applications[i].Secret != "" {
				out.SIP.Applications[i].Secret = maskSecret(out.SIP.Applications[i].Secret)
			}
		}
	}
	n := c.Notifications
	out.Notifications.Hooks = make([]notify.Hook, len(n.Hooks))
	for i, h := range n.Hooks {
		if h.Webhook != nil {
			w := *h.Webhook
			w.Secret = maskSecret(w.Secret)
			h.Webhook = &w
		}
		if h.SQS != nil {
			t := *h.SQS
			t.SecretAccessKey = maskSecret(t.SecretAccessKey)
			h.SQS = &t
		}
		if h.SNS != nil {
			t := *h.SNS
			t.SecretAccessKey = maskSecret(t.SecretAccessKey)
			h.SNS = &t
		}
		if h.EventBridge != nil {
			t := *h.EventBridge
			t.SecretAccessKey = maskSecret(t.SecretAccessKey)
			h.EventBridge = &t
		}
		out.Notifications.Hooks[i] = h
	}
	out.Notifications.Endpoints = make([]notify.Endpoint, len(n.Endpoints))
	for i, e := range n.Endpoints {
		e.SecretAccessKey = maskSecret(e.SecretAccessKey)
		out.Notifications.Endpoints[i] = e
	}
	if n.DLQ != nil {
		d := *n.DLQ
		d.SecretAccessKey = maskSecret(d.SecretAccessKey)
		out.Notifications.DLQ = &d
	}
	return out
}

//go:embed example.yaml
var exampleYAML string // immutable; exposed only through ExampleYAML

// ExampleYAML returns the annotated example configuration file
// (example.yaml), which sets every key to its default.
func ExampleYAML() string { return exampleYAML }

// Duration is a time.Duration written in configuration files as a Go duration
// string such as "90s", "5m" or "1h30m" (see time.ParseDuration). Plain
// numbers other than 0 are rejected, since their unit would be ambiguous.
type Duration time.Duration

// Std returns d as a time.Duration.
func (d Duration) Std() time.Duration { return time.Duration(d) }

// String formats d like time.Duration.String without zero trailing units:
// "24h", "5m", "1h30m", "10s".
func (d Duration) String() string {
	s := time.Duration(d).String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}

func parseDuration(s string) (Duration, error) {
	v, err := time.ParseDuration(strings.TrimSpace(s))
	if err != nil {
		return 0, fmt.Errorf("invalid duration %q: use a Go duration such as \"90s\", \"5m\" or \"24h\"", s)
	}
	return Duration(v), nil
}

// UnmarshalYAML implements yaml.Unmarshaler.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("expected a duration such as \"5m\", got a %s", nodeKind(n))
	}
	v, err := parseDuration(n.Value)
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// MarshalYAML implements yaml.Marshaler.
func (d Duration) MarshalYAML() (any, error) { return d.String(), nil }

// MarshalText implements encoding.TextMarshaler (used by encoding/json).
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := parseDuration(string(b))
	if err != nil {
		return err
	}
	*d = v
	return nil
}
