package voice

import (
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/confab-media/confab/sma"
)

// SipMediaApplication is the API's SipMediaApplication.
type SipMediaApplication struct {
	SipMediaApplicationID  string     `json:"SipMediaApplicationId"`
	SipMediaApplicationArn string     `json:"SipMediaApplicationArn,omitempty"`
	AwsRegion              string     `json:"AwsRegion"`
	Name                   string     `json:"Name"`
	Endpoints              []Endpoint `json:"Endpoints"`
	CreatedTimestamp       string     `json:"CreatedTimestamp"`
	UpdatedTimestamp       string     `json:"UpdatedTimestamp"`
}

// Endpoint is a SipMediaApplicationEndpoint.
type Endpoint struct {
	LambdaArn string `json:"LambdaArn"`
}

// SipRule is the API's SipRule.
type SipRule struct {
	SipRuleID          string              `json:"SipRuleId"`
	Name               string              `json:"Name"`
	Disabled           bool                `json:"Disabled"`
	TriggerType        string              `json:"TriggerType"`
	TriggerValue       string              `json:"TriggerValue"`
	TargetApplications []TargetApplication `json:"TargetApplications"`
	CreatedTimestamp   string              `json:"CreatedTimestamp"`
	UpdatedTimestamp   string              `json:"UpdatedTimestamp"`
}

// TargetApplication is a SipRuleTargetApplication.
type TargetApplication struct {
	SipMediaApplicationID string `json:"SipMediaApplicationId"`
	Priority              int    `json:"Priority"`
	AwsRegion             string `json:"AwsRegion,omitempty"`
}

// timestamp renders a time as the API does (ISO 8601, milliseconds, UTC).
func timestamp(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

var (
	regionRE = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-\d$`)
	hostRE   = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9-]{0,62})(\.[A-Za-z0-9]([A-Za-z0-9-]{0,62}))*$`)
)

// checkName validates a Name (1–256 characters, no control characters).
func checkName(name string) error {
	if name == "" || utf8.RuneCountInString(name) > 256 || !utf8.ValidString(name) ||
		strings.ContainsFunc(name, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return badRequest("Name must be 1 to 256 printable characters")
	}
	return nil
}

func checkRegion(r string) error {
	if !regionRE.MatchString(r) {
		return badRequest(fmt.Sprintf("AwsRegion %q is not a region name", truncate(r, 40)))
	}
	return nil
}

// checkEndpoints validates Endpoints: one, a Lambda function ARN (that
// lambdaOK accepts) or an http(s) URL.
func checkEndpoints(eps []Endpoint, lambdaOK func(string) error) error {
	if len(eps) != 1 {
		return badRequest("Endpoints must have exactly one item")
	}
	v := eps[0].LambdaArn
	if len(v) == 0 || len(v) > 1024 {
		return badRequest("Endpoints[0].LambdaArn must be 1 to 1024 characters")
	}
	if strings.HasPrefix(v, "http://") || strings.HasPrefix(v, "https://") {
		if u, err := url.Parse(v); err != nil || u.Host == "" {
			return badRequest("Endpoints[0].LambdaArn is not a valid URL")
		}
		return nil
	}
	app := sma.Config{Applications: []sma.Application{{ID: "x", LambdaARN: v}}}
	if err := app.Validate(); err != nil {
		return badRequest("Endpoints[0].LambdaArn must be a Lambda function ARN (or an http(s) URL of a handler)")
	}
	if lambdaOK != nil {
		if err := lambdaOK(v); err != nil {
			return badRequest("Endpoints[0].LambdaArn: " + err.Error())
		}
	}
	return nil
}

// checkTrigger validates TriggerType and TriggerValue.
func checkTrigger(typ, value string) error {
	switch typ {
	case sma.TriggerToPhoneNumber:
		if !sma.IsE164(value) {
			return badRequest("TriggerValue must be an E.164 phone number for ToPhoneNumber")
		}
	case sma.TriggerRequestURIHostname:
		if len(value) > 253 || !hostRE.MatchString(value) {
			return badRequest("TriggerValue must be a hostname for RequestUriHostname")
		}
	default:
		return badRequest("TriggerType must be ToPhoneNumber or RequestUriHostname")
	}
	return nil
}

// checkTargets validates TargetApplications (1–25, priorities ≥ 1, known
// applications).
func checkTargets(ts []TargetApplication, known func(id string) bool) error {
	if len(ts) == 0 || len(ts) > 25 {
		return badRequest("TargetApplications must have 1 to 25 items")
	}
	for i, t := range ts {
		if t.Priority < 1 || t.Priority > 25 {
			return badRequest(fmt.Sprintf("TargetApplications[%d].Priority must be 1 to 25", i))
		}
		if t.AwsRegion != "" {
			if err := checkRegion(t.AwsRegion); err != nil {
				return err
			}
		}
		if !known(t.SipMediaApplicationID) {
			return notFound(fmt.Sprintf("SIP media application %s not found", truncate(t.SipMediaApplicationID, 64)))
		}
	}
	return nil
}

// target is the application a rule sends its calls to: the one with the
// lowest Priority.
func (r *SipRule) target() string {
	best := r.TargetApplications[0]
	for _, t := range r.TargetApplications[1:] {
		if t.Priority < best.Priority {
			best = t
		}
	}
	return best.SipMediaApplicationID
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
