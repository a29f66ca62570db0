package sma

import (
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"strings"
)

// Rule trigger types, as the Chime SDK Voice API names them.
const (
	TriggerToPhoneNumber      = "ToPhoneNumber"
	TriggerRequestURIHostname = "RequestUriHostname"
)

// ErrInvalidConfig wraps every configuration error.
var ErrInvalidConfig = errors.New("sma: invalid config")

// Application is a SIP media application: the handler its calls' events
// go to.
type Application struct {
	ID   string `yaml:"id"`
	Name string `yaml:"name"`
	// Endpoint is the handler's URL (http or https); LambdaARN a Lambda
	// function invoked RequestResponse instead. One of the two.
	Endpoint  string `yaml:"endpoint"`
	LambdaARN string `yaml:"lambda_arn"`
	// Secret signs the requests (X-Confab-Signature); empty: unsigned.
	Secret string `yaml:"secret"`
	// AwsRegion is reported in CallDetails; empty: the server's region.
	AwsRegion string `yaml:"aws_region"`
}

// Rule sends calls that match it to an application: TriggerType
// ToPhoneNumber matches the dialled E.164 number (the Request-URI user),
// RequestUriHostname the Request-URI host.
type Rule struct {
	ID           string `yaml:"id"`
	Name         string `yaml:"name"`
	TriggerType  string `yaml:"trigger_type"`
	TriggerValue string `yaml:"trigger_value"`
	Application  string `yaml:"application"` // an Application.ID
	Disabled     bool   `yaml:"disabled"`
	// AllowedSources, if set, are the CIDRs this rule's calls may come
	// from (instead of Config.AllowedSources).
	AllowedSources []string `yaml:"allowed_sources"`
}

// Config is the applications and rules.
type Config struct {
	Applications []Application `yaml:"applications"`
	Rules        []Rule        `yaml:"rules"`
	// AllowedSources are the CIDRs calls to applications may come from
	// (a Voice Connector's allowlist); empty: anywhere. A rule's own list
	// replaces it.
	AllowedSources []string `yaml:"allowed_sources"`
	// MaxCallsPerApplication and MaxCallsPerSource cap the calls in
	// progress per application and per source IP; 0: no cap.
	MaxCallsPerApplication int `yaml:"max_calls_per_application"`
	MaxCallsPerSource      int `yaml:"max_calls_per_source"`
	// AccountID and Region fill CallDetails.AwsAccountId and AwsRegion.
	AccountID string `yaml:"-"`
	Region    string `yaml:"-"`
}

// Validate checks ids, endpoints, triggers, references and CIDRs.
func (c Config) Validate() error {
	if _, err := parseCIDRs(c.AllowedSources); err != nil {
		return fmt.Errorf("%w: allowed_sources: %v", ErrInvalidConfig, err)
	}
	apps := map[string]bool{}
	for i, a := range c.Applications {
		if a.ID == "" {
			return fmt.Errorf("%w: applications[%d].id is empty", ErrInvalidConfig, i)
		}
		if apps[a.ID] {
			return fmt.Errorf("%w: applications[%d].id %q is used twice", ErrInvalidConfig, i, a.ID)
		}
		apps[a.ID] = true
		if (a.Endpoint == "") == (a.LambdaARN == "") {
			return fmt.Errorf("%w: applications[%d]: set endpoint or lambda_arn (one of them)", ErrInvalidConfig, i)
		}
		if a.LambdaARN != "" {
			if p := strings.SplitN(a.LambdaARN, ":", 7); len(p) < 7 || p[0] != "arn" || p[2] != "lambda" || p[5] != "function" || p[6] == "" {
				return fmt.Errorf("%w: applications[%d].lambda_arn %q is not arn:aws:lambda:<region>:<account>:function:<name>", ErrInvalidConfig, i, a.LambdaARN)
			}
			continue
		}
		u, err := url.Parse(a.Endpoint)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("%w: applications[%d].endpoint %q is not an http(s) URL", ErrInvalidConfig, i, a.Endpoint)
		}
	}
	seen := map[string]bool{}
	for i, r := range c.Rules {
		if r.ID == "" {
			return fmt.Errorf("%w: rules[%d].id is empty", ErrInvalidConfig, i)
		}
		switch r.TriggerType {
		case TriggerToPhoneNumber:
			if !IsE164(r.TriggerValue) {
				return fmt.Errorf("%w: rules[%d].trigger_value %q is not an E.164 number", ErrInvalidConfig, i, r.TriggerValue)
			}
		case TriggerRequestURIHostname:
			if r.TriggerValue == "" || strings.ContainsAny(r.TriggerValue, " /@:;") {
				return fmt.Errorf("%w: rules[%d].trigger_value %q is not a hostname", ErrInvalidConfig, i, r.TriggerValue)
			}
		default:
			return fmt.Errorf("%w: rules[%d].trigger_type %q: want %s or %s", ErrInvalidConfig, i, r.TriggerType, TriggerToPhoneNumber, TriggerRequestURIHostname)
		}
		key := r.TriggerType + " " + strings.ToLower(r.TriggerValue)
		if seen[key] {
			return fmt.Errorf("%w: rules[%d]: another rule has %s %s", ErrInvalidConfig, i, r.TriggerType, r.TriggerValue)
		}
		seen[key] = true
		if _, err := parseCIDRs(r.AllowedSources); err != nil {
			return fmt.Errorf("%w: rules[%d].allowed_sources: %v", ErrInvalidConfig, i, err)
		}
		if !apps[r.Application] {
			return fmt.Errorf("%w: rules[%d].application %q is not an application's id", ErrInvalidConfig, i, r.Application)
		}
	}
	return nil
}

// IsE164 reports whether s is "+" and 2 to 15 digits, the first not 0.
func IsE164(s string) bool {
	if len(s) < 3 || len(s) > 16 || s[0] != '+' || s[1] == '0' {
		return false
	}
	for _, r := range s[1:] {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// Route finds the enabled rule for a call to user@host: a phone-number
// rule on the user first, then a hostname rule on the host (matched
// case-insensitively), and returns it with its application.
func (c Config) Route(user, host string) (*Rule, *Application, bool) {
	var hit *Rule
	for i := range c.Rules {
		r := &c.Rules[i]
		if r.Disabled {
			continue
		}
		if r.TriggerType == TriggerToPhoneNumber && r.TriggerValue == user {
			hit = r
			break
		}
		if hit == nil && r.TriggerType == TriggerRequestURIHostname && strings.EqualFold(r.TriggerValue, host) {
			hit = r
		}
	}
	if hit == nil {
		return nil, nil, false
	}
	for i := range c.Applications {
		if c.Applications[i].ID == hit.Application {
			return hit, &c.Applications[i], true
		}
	}
	return nil, nil, false
}

// parseCIDRs parses CIDRs; a bare address is a /32 or /128.
func parseCIDRs(ss []string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, s := range ss {
		if !strings.Contains(s, "/") {
			a, err := netip.ParseAddr(s)
			if err != nil {
				return nil, fmt.Errorf("%q is not a CIDR or an IP address", s)
			}
			out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
			continue
		}
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return nil, fmt.Errorf("%q is not a CIDR", s)
		}
		out = append(out, p.Masked())
	}
	return out, nil
}
