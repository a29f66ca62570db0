package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	snstypes "github.com/aws/aws-sdk-go-v2/service/sns/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// batchErrors maps per-entry batch results to errs: ids are decimal seqs;
// an entry neither failed nor acknowledged is an error too.
func batchErrors(batch []*entry, ok map[string]bool, failed map[string]error) []error {
	errs := make([]error, len(batch))
	for i, e := range batch {
		id := strconv.FormatUint(e.seq, 10)
		switch {
		case failed[id] != nil:
			errs[i] = failed[id]
		case !ok[id]:
			errs[i] = errors.New("no result for this entry in the batch response")
		}
	}
	return errs
}

// errNoBatchResults: a batch call succeeded but listed no entry as sent or
// failed. goaws v0.5.4 answers SendMessageBatch so (it names the list
// "SendMessageBatchResultEntry", not "Successful"). The entries are retried
// one by one, which may duplicate them once (consumers de-duplicate on the
// event id), and that queue or topic is sent to unbatched from then on.
var errNoBatchResults = errors.New("batch response listed no entries; retrying them one by one")

// batchless remembers the queues and topics whose server does not answer
// batch calls properly. Safe for concurrent use.
type batchless struct {
	mu sync.Mutex // guards m
	m  map[string]bool
}

func (b *batchless) has(k string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.m[k]
}

func (b *batchless) add(k string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.m == nil {
		b.m = map[string]bool{}
	}
	b.m[k] = true
}

func fill(errs []error, err error) []error {
	for i := range errs {
		errs[i] = err
	}
	return errs
}

func groupID(e *entry) *string {
	if e.meta.MeetingID != "" {
		return aws.String(e.meta.MeetingID)
	}
	return aws.String("confab")
}

// sqsSender sends to one queue (SendMessage, or SendMessageBatch for
// several); on FIFO queues the meeting is the message group and the event id
// the deduplication id.
type sqsSender struct {
	c        *sqs.Client
	queueURL string
	fifo     bool
	timeout  time.Duration
	single   *batchless
}

func (q *sqsSender) batchLimit() int {
	if q.single.has(q.queueURL) {
		return 1
	}
	return 10
}

func (q *sqsSender) send(ctx context.Context, batch []*entry) []error {
	ctx, cancel := context.WithTimeout(ctx, q.timeout)
	defer cancel()
	errs := make([]error, len(batch))
	if len(batch) == 1 {
		e := batch[0]
		in := &sqs.SendMessageInput{QueueUrl: &q.queueURL, MessageBody: aws.String(string(e.body))}
		if q.fifo {
			in.MessageGroupId, in.MessageDeduplicationId = groupID(e), aws.String(e.meta.EventID)
		}
		_, errs[0] = q.c.SendMessage(ctx, in)
		return errs
	}
	in := &sqs.SendMessageBatchInput{QueueUrl: &q.queueURL}
	for _, e := range batch {
		m := sqstypes.SendMessageBatchRequestEntry{Id: aws.String(strconv.FormatUint(e.seq, 10)), MessageBody: aws.String(string(e.body))}
		if q.fifo {
			m.MessageGroupId, m.MessageDeduplicationId = groupID(e), aws.String(e.meta.EventID)
		}
		in.Entries = append(in.Entries, m)
	}
	out, err := q.c.SendMessageBatch(ctx, in)
	if err != nil {
		return fill(errs, err)
	}
	if len(out.Successful)+len(out.Failed) == 0 {
		q.single.add(q.queueURL)
		return fill(errs, errNoBatchResults)
	}
	ok, failed := map[string]bool{}, map[string]error{}
	for _, r := range out.Successful {
		ok[aws.ToString(r.Id)] = true
	}
	for _, r := range out.Failed {
		failed[aws.ToString(r.Id)] = fmt.Errorf("SQS SendMessageBatch entry failed: %s: %s", aws.ToString(r.Code), aws.ToString(r.Message))
	}
	return batchErrors(batch, ok, failed)
}

// snsSender publishes to one topic (Publish, or PublishBatch for several).
type snsSender struct {
	c       *sns.Client
	topic   string
	fifo    bool
	timeout time.Duration
	single  *batchless
}

func (t *snsSender) batchLimit() int {
	if t.single.has(t.topic) {
		return 1
	}
	return 10
}

func (t *snsSender) send(ctx context.Context, batch []*entry) []error {
	ctx, cancel := context.WithTimeout(ctx, t.timeout)
	defer cancel()
	errs := make([]error, len(batch))
	if len(batch) == 1 {
		e := batch[0]
		in := &sns.PublishInput{TopicArn: &t.topic, Message: aws.String(string(e.body))}
		if t.fifo {
			in.MessageGroupId, in.MessageDeduplicationId = groupID(e), aws.String(e.meta.EventID)
		}
		_, errs[0] = t.c.Publish(ctx, in)
		return errs
	}
	in := &sns.PublishBatchInput{TopicArn: &t.topic}
	for _, e := range batch {
		m := snstypes.PublishBatchRequestEntry{Id: aws.String(strconv.FormatUint(e.seq, 10)), Message: aws.String(string(e.body))}
		if t.fifo {
			m.MessageGroupId, m.MessageDeduplicationId = groupID(e), aws.String(e.meta.EventID)
		}
		in.PublishBatchRequestEntries = append(in.PublishBatchRequestEntries, m)
	}
	out, err := t.c.PublishBatch(ctx, in)
	if err != nil {
		return fill(errs, err)
	}
	if len(out.Successful)+len(out.Failed) == 0 {
		t.single.add(t.topic)
		return fill(errs, errNoBatchResults)
	}
	ok, failed := map[string]bool{}, map[string]error{}
	for _, r := range out.Successful {
		ok[aws.ToString(r.Id)] = true
	}
	for _, r := range out.Failed {
		failed[aws.ToString(r.Id)] = fmt.Errorf("SNS PublishBatch entry failed: %s: %s", aws.ToString(r.Code), aws.ToString(r.Message))
	}
	return batchErrors(batch, ok, failed)
}

// eventBridgeSender puts events on one bus: the envelope's detail-type,
// detail, resources and time, with the configured source.
type eventBridgeSender struct {
	c       *eventbridge.Client
	bus     string
	source  string
	timeout time.Duration
}

func (b *eventBridgeSender) batchLimit() int { return 10 }

// envelope is the part of an event that PutEvents carries separately.
type envelope struct {
	DetailType string          `json:"detail-type"`
	Time       string          `json:"time"`
	Resources  []string        `json:"resources"`
	Detail     json.RawMessage `json:"detail"`
}

func (b *eventBridgeSender) send(ctx context.Context, batch []*entry) []error {
	ctx, cancel := context.WithTimeout(ctx, b.timeout)
	defer cancel()
	errs := make([]error, len(batch))
	in := &eventbridge.PutEventsInput{}
	var idx []int // batch index of each request entry
	for i, e := range batch {
		var env envelope
		if err := json.Unmarshal(e.body, &env); err != nil || len(env.Detail) == 0 {
			errs[i] = fmt.Errorf("event is not an EventBridge envelope: %v", err)
			continue
		}
		pe := ebtypes.PutEventsRequestEntry{
			Source: aws.String(b.source), DetailType: aws.String(env.DetailType),
			Detail: aws.String(string(env.Detail)), EventBusName: aws.String(b.bus), Resources: env.Resources,
		}
		if t, err := time.Parse(time.RFC3339, env.Time); err == nil {
			pe.Time = aws.Time(t)
		}
		in.Entries = append(in.Entries, pe)
		idx = append(idx, i)
	}
	if len(in.Entries) == 0 {
		return errs
	}
	out, err := b.c.PutEvents(ctx, in)
	if err != nil {
		for _, i := range idx {
			errs[i] = err
		}
		return errs
	}
	for j, i := range idx {
		if j >= len(out.Entries) {
			errs[i] = errors.New("no result for this entry in the PutEvents response")
			continue
		}
		if r := out.Entries[j]; r.ErrorCode != nil {
			errs[i] = fmt.Errorf("EventBridge PutEvents entry failed: %s: %s", aws.ToString(r.ErrorCode), aws.ToString(r.ErrorMessage))
		}
	}
	return errs
}

// lambdaSender invokes one function asynchronously (InvocationType Event),
// the event JSON as its payload.
type lambdaSender struct {
	c        *lambda.Client
	function string
	timeout  time.Duration
}

func (l *lambdaSender) batchLimit() int { return 1 }

func (l *lambdaSender) send(ctx context.Context, batch []*entry) []error {
	errs := make([]error, len(batch))
	for i, e := range batch {
		ctx, cancel := context.WithTimeout(ctx, l.timeout)
		out, err := l.c.Invoke(ctx, &lambda.InvokeInput{
			FunctionName: &l.function, InvocationType: lambdatypes.InvocationTypeEvent, Payload: e.body,
		})
		cancel()
		if err == nil && out.FunctionError != nil {
			err = fmt.Errorf("lambda function error: %s", aws.ToString(out.FunctionError))
		}
		errs[i] = err
	}
	return errs
}
