package notify

import (
	"fmt"
	"regexp"
	"strings"
)

// arn is a parsed ARN: arn:partition:service:region:account:resource.
// See https://docs.aws.amazon.com/IAM/latest/UserGuide/reference-arns.html.
type arn struct {
	raw, partition, service, region, account, resource string
}

// arnRE is the NotificationsConfiguration ARN pattern of the Chime API.
var arnRE = regexp.MustCompile(`^arn[/:\-_.a-zA-Z0-9]+$`)

func parseARN(s string) (arn, error) {
	if len(s) > 1024 || !arnRE.MatchString(s) {
		return arn{}, fmt.Errorf("%w: %q", ErrInvalidARN, s)
	}
	p := strings.SplitN(s, ":", 6)
	if len(p) != 6 || p[1] == "" || p[2] == "" || p[3] == "" || p[4] == "" || p[5] == "" {
		return arn{}, fmt.Errorf("%w: %q is not arn:partition:service:region:account:resource", ErrInvalidARN, s)
	}
	return arn{raw: s, partition: p[1], service: p[2], region: p[3], account: p[4], resource: p[5]}, nil
}

// Resolver maps meeting target ARNs to the configured endpoints. It is
// immutable and safe for concurrent use.
type Resolver struct {
	endpoints []Endpoint
}

// NewResolver validates the endpoints and returns their resolver.
func NewResolver(endpoints []Endpoint) (*Resolver, error) {
	for i := range endpoints {
		if err := endpoints[i].validate(); err != nil {
			return nil, fmt.Errorf("%w: Endpoints[%d]: %w", ErrInvalidConfig, i, err)
		}
	}
	return &Resolver{endpoints: append([]Endpoint(nil), endpoints...)}, nil
}

// Check reports whether events can be delivered to the ARN: it must be an SQS
// queue, SNS topic or Lambda function ARN that a configured endpoint serves.
// The error wraps ErrInvalidARN or ErrNoEndpoint; CreateMeeting answers it
// with a BadRequestException.
func (r *Resolver) Check(s string) error {
	_, _, err := r.resolve(s)
	return err
}

// CheckTargets checks each set field of a NotificationsConfiguration,
// including that each ARN is of the field's service; the error names the
// field (e.g. "SqsQueueArn: notify: no endpoint configured ...").
func (r *Resolver) CheckTargets(t MeetingTargets) error {
	for _, f := range []struct{ name, service, arn string }{
		{"LambdaFunctionArn", "lambda", t.LambdaFunctionArn},
		{"SnsTopicArn", "sns", t.SnsTopicArn},
		{"SqsQueueArn", "sqs", t.SqsQueueArn},
	} {
		if f.arn == "" {
			continue
		}
		a, err := parseARN(f.arn)
		if err == nil && a.service != f.service {
			err = fmt.Errorf("%w: %q is not a %s ARN", ErrInvalidARN, f.arn, f.service)
		}
		if err == nil {
			_, _, err = r.resolve(f.arn)
		}
		if err != nil {
			return fmt.Errorf("%s: %w", f.name, err)
		}
	}
	return nil
}

// resolve parses s and returns the endpoint serving it.
func (r *Resolver) resolve(s string) (arn, *Endpoint, error) {
	a, err := parseARN(s)
	if err != nil {
		return a, nil, err
	}
	switch a.service {
	case "sqs", "sns":
		if strings.ContainsAny(a.resource, ":/") {
			return a, nil, fmt.Errorf("%w: %q has a malformed %s resource", ErrInvalidARN, s, a.service)
		}
	case "lambda":
		if !strings.HasPrefix(a.resource, "function:") || len(a.resource) == len("function:") {
			return a, nil, fmt.Errorf("%w: %q is not a Lambda function ARN", ErrInvalidARN, s)
		}
	default:
		return a, nil, fmt.Errorf("%w: %q: service %q is not sqs, sns or lambda", ErrInvalidARN, s, a.service)
	}
	best, bestScore := -1, -1
	for i := range r.endpoints {
		e := &r.endpoints[i]
		score := 0
		for _, f := range [][2]string{{e.Service, a.service}, {e.Region, a.region}, {e.Account, a.account}} {
			switch f[0] {
			case "":
			case f[1]:
				score++
			default:
				score = -1
			}
			if score < 0 {
				break
			}
		}
		if score > bestScore {
			best, bestScore = i, score
		}
	}
	if best < 0 {
		return a, nil, fmt.Errorf("%w: %s (service %s, region %s, account %s)", ErrNoEndpoint, s, a.service, a.region, a.account)
	}
	return a, &r.endpoints[best], nil
}

// sqsQueueURL is the queue URL of an SQS ARN at endpoint e: the endpoint URL
// (or sqs.<region>.amazonaws.com) followed by /<account>/<queue name>.
func sqsQueueURL(a arn, e *Endpoint) string {
	base := strings.TrimRight(e.URL, "/")
	if base == "" {
		base = "https://sqs." + a.region + ".amazonaws.com"
		if a.partition == "aws-cn" {
			base += ".cn"
		}
	}
	return base + "/" + a.account + "/" + a.resource
}
