package notify

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/confab-media/confab/internal/clock"
)

// senders builds the senders of targets (webhook.go, aws.go). It owns the
// outbound HTTP client, unless Params gave one, and the context of the
// Service's life, which close cancels.
type senders struct {
	http           *http.Client
	ownHTTP        bool
	clock          clock.Clock
	sendTimeout    time.Duration
	webhookTimeout time.Duration
	batchless      batchless // queues and topics sent to one message at a time

	ctx    context.Context // cancelled by close
	cancel context.CancelFunc
}

func newSenders(cfg Config, client *http.Client, clk clock.Clock) *senders {
	f := &senders{http: client, clock: clk, sendTimeout: cfg.SendTimeout, webhookTimeout: cfg.WebhookTimeout}
	if f.http == nil {
		f.http, f.ownHTTP = defaultHTTPClient(), true
	}
	f.ctx, f.cancel = context.WithCancel(context.Background())
	return f
}

func defaultHTTPClient() *http.Client {
	return &http.Client{Transport: &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		TLSHandshakeTimeout:   5 * time.Second,
		MaxIdleConns:          100,
		MaxIdleConnsPerHost:   8,
		IdleConnTimeout:       90 * time.Second,
		ExpectContinueTimeout: time.Second,
		ForceAttemptHTTP2:     true,
	}}
}

// close cancels the context and drops the idle connections of our own client.
func (f *senders) close() {
	f.cancel()
	if f.ownHTTP {
		f.http.CloseIdleConnections()
	}
}

// awsConfig builds the SDK configuration for one target; ctx bounds loading
// the default credential chain. The SDK's own retries are off: the worker's
// backoff and retry budget replace them.
func (f *senders) awsConfig(ctx context.Context, region string, c Credentials) (aws.Config, error) {
	noRetry := func() aws.Retryer { return aws.NopRetryer{} }
	if c.AccessKeyID != "" {
		return aws.Config{
			Region:      region,
			Credentials: aws.NewCredentialsCache(credentials.NewStaticCredentialsProvider(c.AccessKeyID, c.SecretAccessKey, c.SessionToken)),
			HTTPClient:  f.http,
			Retryer:     noRetry,
		}, nil
	}
	ctx, cancel := context.WithTimeout(ctx, f.sendTimeout)
	defer cancel()
	return awsconfig.LoadDefaultConfig(ctx, awsconfig.WithRegion(region),
		awsconfig.WithHTTPClient(f.http), awsconfig.WithRetryer(noRetry))
}

// endpointOpt returns the value for a client's BaseEndpoint option.
func endpointOpt(url string) *string {
	if url == "" {
		return nil
	}
	return aws.String(strings.TrimRight(url, "/"))
}

// hook builds the sender of a hook (h is normalized).
func (f *senders) hook(h *Hook) (sender, error) {
	switch h.Type {
	case HookWebhook:
		return &webhookSender{hook: h.Name, url: h.Webhook.URL, secret: []byte(h.Webhook.Secret),
			batch: h.Webhook.Batch, client: f.http, timeout: f.webhookTimeout, clock: f.clock}, nil
	case HookSQS:
		return f.sqs(h.SQS)
	case HookSNS:
		t := h.SNS
		cfg, err := f.awsConfig(f.ctx, t.Region, t.Credentials)
		if err != nil {
			return nil, err
		}
		c := sns.NewFromConfig(cfg, func(o *sns.Options) { o.BaseEndpoint = endpointOpt(t.EndpointURL) })
		return &snsSender{c: c, topic: t.TopicARN, fifo: strings.HasSuffix(t.TopicARN, ".fifo"), timeout: f.sendTimeout, single: &f.batchless}, nil
	case HookEventBridge:
		t := h.EventBridge
		cfg, err := f.awsConfig(f.ctx, t.Region, t.Credentials)
		if err != nil {
			return nil, err
		}
		c := eventbridge.NewFromConfig(cfg, func(o *eventbridge.Options) { o.BaseEndpoint = endpointOpt(t.EndpointURL) })
		return &eventBridgeSender{c: c, bus: t.BusName, source: t.Source, timeout: f.sendTimeout}, nil
	}
	return nil, fmt.Errorf("unknown hook type %q", h.Type)
}

// sqs builds the sender of one queue (an sqs hook, or the DLQ).
func (f *senders) sqs(t *SQSTarget) (sender, error) {
	q := *t
	if err := q.validate(); err != nil {
		return nil, err
	}
	cfg, err := f.awsConfig(f.ctx, q.Region, q.Credentials)
	if err != nil {
		return nil, err
	}
	c := sqs.NewFromConfig(cfg, func(o *sqs.Options) { o.BaseEndpoint = endpointOpt(q.EndpointURL) })
	return &sqsSender{c: c, queueURL: q.QueueURL, fifo: strings.HasSuffix(q.QueueURL, ".fifo"), timeout: f.sendTimeout, single: &f.batchless}, nil
}

// arn builds the sender of a meeting target ARN served by endpoint ep (see
// Resolver); ctx bounds loading credentials.
func (f *senders) arn(ctx context.Context, a arn, ep *Endpoint) (sender, error) {
	cfg, err := f.awsConfig(ctx, a.region, ep.Credentials)
	if err != nil {
		return nil, err
	}
	switch a.service {
	case "sqs":
		c := sqs.NewFromConfig(cfg, func(o *sqs.Options) { o.BaseEndpoint = endpointOpt(ep.URL) })
		return &sqsSender{c: c, queueURL: sqsQueueURL(a, ep), fifo: strings.HasSuffix(a.resource, ".fifo"), timeout: f.sendTimeout, single: &f.batchless}, nil
	case "sns":
		c := sns.NewFromConfig(cfg, func(o *sns.Options) { o.BaseEndpoint = endpointOpt(ep.URL) })
		return &snsSender{c: c, topic: a.raw, fifo: strings.HasSuffix(a.resource, ".fifo"), timeout: f.sendTimeout, single: &f.batchless}, nil
	default: // lambda
		c := lambda.NewFromConfig(cfg, func(o *lambda.Options) { o.BaseEndpoint = endpointOpt(ep.URL) })
		return &lambdaSender{c: c, function: a.raw, timeout: f.sendTimeout}, nil
	}
}
