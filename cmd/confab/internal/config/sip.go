package config

import "github.com/confab-media/confab/sma"

// SIPConfig configures the SIP dial-in gateway (package sipgw): phones and
// PBXs call the dial-in number with X-chime-join-token in the Request-URI.
type SIPConfig struct {
	// Enabled turns the gateway on. Default true.
	Enabled bool `yaml:"enabled"`
	// DialInNumber is the E.164 number callers dial. Default +17035550122.
	DialInNumber string `yaml:"dial_in_number"`
	// ListenUDP, ListenTCP and ListenTLS are the SIP listeners. Defaults
	// 127.0.0.1:5060 (UDP and TCP) and 127.0.0.1:5061 (TLS); port 0 picks
	// a free port.
	ListenUDP string `yaml:"listen_udp"`
	ListenTCP string `yaml:"listen_tcp"`
	ListenTLS string `yaml:"listen_tls"`
	// CertFile and KeyFile are the TLS certificate; empty generates a
	// self-signed one at start (for development only: phones will not
	// trust it).
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
	// RequireSRTP refuses plain RTP/AVP offers (488) from every caller,
	// loopback included. Default false.
	RequireSRTP bool `yaml:"require_srtp"`
	// AllowPlainRTP accepts plain RTP/AVP from callers off loopback.
	// Default false: they must offer SDES-SRTP (RTP/SAVP) or get 488.
	AllowPlainRTP bool `yaml:"allow_plain_rtp"`
	// NoMediaTimeout ends a call from which no RTP at all has come this
	// long after answer (receive-only calls included). Default 30s.
	NoMediaTimeout Duration `yaml:"no_media_timeout"`
	// MaxCallsPerMeeting caps the calls in one meeting (486 past it); an
	// attendee has at most one call (a new one replaces it). Default 100.
	MaxCallsPerMeeting int `yaml:"max_calls_per_meeting"`
	// MaxConns and MaxConnsPerIP cap the open TCP and TLS connections of
	// each listener, overall and per remote IP. Defaults 1024 and 32.
	MaxConns      int `yaml:"max_conns"`
	MaxConnsPerIP int `yaml:"max_conns_per_ip"`
	// FirstMessageTimeout bounds the TLS handshake and first message of a
	// TCP or TLS connection; IdleTimeout closes one that has been silent
	// (keep-alive CRLFs count) this long. Defaults 10s and 1h.
	FirstMessageTimeout Duration `yaml:"first_message_timeout"`
	IdleTimeout         Duration `yaml:"idle_timeout"`
	// RTPPortMin and RTPPortMax bound the calls' RTP ports. Default
	// 16384-32767.
	RTPPortMin int `yaml:"rtp_port_min"`
	RTPPortMax int `yaml:"rtp_port_max"`
	// RTPTimeout ends a call that sends no RTP this long. Default 30s.
	RTPTimeout Duration `yaml:"rtp_timeout"`
	// PublicIP is the address put in SDP c= and Contact; empty means the
	// listen address.
	PublicIP string `yaml:"public_ip"`
	// Applications are SIP media applications (package sma): a call that
	// carries no join token, to a number or Request-URI host one of Rules
	// names, is answered and controlled by the application's HTTP handler
	// (PIN dial-in: prompt, digits, JoinChimeMeeting). Default none.
	Applications []sma.Application `yaml:"applications"`
	Rules        []sma.Rule        `yaml:"rules"`
	// Outbound is the trunk (a PBX, a carrier's SBC) through which SIP media
	// applications place calls (CreateSipMediaApplicationCall). Empty host:
	// no dial-out.
	Outbound OutboundTrunk `yaml:"outbound"`
	// ApplicationSecret signs the requests to the HTTP handlers of
	// applications created through the Chime SDK Voice API (whose model
	// has no secret); empty: unsigned. Applications of this file carry
	// their own secret.
	ApplicationSecret string `yaml:"application_secret"`
	// AllowedSources are the CIDRs (or addresses) calls to applications may
	// come from, a Voice Connector's allowlist: others get 403. A rule's
	// own allowed_sources replaces it. Default: anywhere.
	AllowedSources []string `yaml:"allowed_sources"`
	// MaxCallsPerApplication and MaxCallsPerSource cap the application
	// calls in progress, per application and per source IP (486 past
	// them). Defaults 1000 and 200; 0: no cap.
	MaxCallsPerApplication int `yaml:"max_calls_per_application"`
	MaxCallsPerSource      int `yaml:"max_calls_per_source"`
	// PromptsDir holds the applications' prompts: an AudioSource
	// {BucketName, Key} is <prompts_dir>/<BucketName>/<Key>, a 16-bit PCM
	// mono WAV at 8 or 16 kHz. Default <data_dir>/prompts.
	PromptsDir string `yaml:"prompts_dir"`
	// S3, when its endpoint or region is set, holds the prompts and takes
	// the recordings instead of prompts_dir and recordings_dir: an
	// S3-compatible store (AWS, SeaweedFS, Garage, …).
	S3 S3Config `yaml:"s3"`
	// RecordingsDir keeps RecordAudio's recordings: RecordingDestination
	// {BucketName} is the directory <recordings_dir>/<BucketName>, which
	// must exist. Default <data_dir>/recordings.
	RecordingsDir string `yaml:"recordings_dir"`
}

// S3Config is sip.s3.
type S3Config struct {
	// Endpoint is the store's URL (e.g. http://127.0.0.1:8333); empty with
	// a region: AWS S3.
	Endpoint string `yaml:"endpoint"`
	Region   string `yaml:"region"`
	// AccessKeyID and SecretAccessKey sign the requests (SigV4).
	AccessKeyID     string `yaml:"access_key_id"`
	SecretAccessKey string `yaml:"secret_access_key"`
	// PathStyle addresses buckets as /<bucket>/<key>. Default true (what
	// S3-compatible servers expect).
	PathStyle bool `yaml:"path_style"`
}

// On reports whether S3 is configured.
func (c S3Config) On() bool { return c.Endpoint != "" || c.Region != "" }

// OutboundTrunk is sip.outbound.
type OutboundTrunk struct {
	// Host is host:port of the trunk (port 5060 when absent).
	Host string `yaml:"host"`
	// Transport is udp (default), tcp or tls.
	Transport string `yaml:"transport"`
	// Username and Password answer the trunk's digest challenge.
	Username string `yaml:"username"`
	Password string `yaml:"password"`
}
