package notify

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/confab-media/confab/internal/clock"
)

// Webhook request headers. Every POST carries the event JSON as its body and:
const (
	// HeaderTimestamp is the signing time, Unix seconds (decimal).
	HeaderTimestamp = "X-Confab-Timestamp"
	// HeaderSignature is "v1=" + hex(HMAC-SHA256(secret, timestamp + "." + body)).
	// Receivers should accept any of several comma-separated v1 values.
	HeaderSignature = "X-Confab-Signature"
	// HeaderEventID is the event's id: the same on every retry, so receivers
	// de-duplicate on it.
	HeaderEventID = "X-Confab-Event-Id"
	// HeaderEventType is detail.eventType, e.g. chime:AttendeeJoined.
	HeaderEventType = "X-Confab-Event-Type"
	// HeaderHook is the hook's name.
	HeaderHook = "X-Confab-Hook"
	// HeaderAttempt is 1 on the first delivery attempt, 2 on the next…
	// (in a batch: the highest of its events).
	HeaderAttempt = "X-Confab-Attempt"
	// HeaderBatch is the number of events in the JSON array body of a
	// batching hook (WebhookTarget.Batch > 1); such a POST carries no
	// HeaderEventID or HeaderEventType.
	HeaderBatch = "X-Confab-Batch"
)

// DefaultSignatureTolerance is the clock skew VerifyWebhook accepts by default.
const DefaultSignatureTolerance = 5 * time.Minute

// Sign returns the HeaderSignature value for body signed at timestamp.
func Sign(secret []byte, timestamp int64, body []byte) string {
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(strconv.FormatInt(timestamp, 10)))
	mac.Write([]byte{'.'})
	mac.Write(body)
	return "v1=" + hex.EncodeToString(mac.Sum(nil))
}

// VerifyWebhook checks a received webhook: the timestamp must be within
// tolerance of now (0: DefaultSignatureTolerance), which bounds replays, and
// one v1 signature must equal Sign(secret, timestamp, body), compared in
// constant time. body must be the raw request body, before any JSON parsing.
// The error wraps ErrBadSignature.
func VerifyWebhook(secret []byte, h http.Header, body []byte, now time.Time, tolerance time.Duration) error {
	if tolerance <= 0 {
		tolerance = DefaultSignatureTolerance
	}
	ts, err := strconv.ParseInt(h.Get(HeaderTimestamp), 10, 64)
	if err != nil {
		return fmt.Errorf("%w: missing or malformed %s", ErrBadSignature, HeaderTimestamp)
	}
	if d := now.Sub(time.Unix(ts, 0)); d > tolerance || d < -tolerance {
		return fmt.Errorf("%w: timestamp %d is %s away from now", ErrBadSignature, ts, d.Round(time.Second))
	}
	want := []byte(Sign(secret, ts, body))
	for _, v := range strings.Split(h.Get(HeaderSignature), ",") {
		if hmac.Equal([]byte(strings.TrimSpace(v)), want) {
			return nil
		}
	}
	return fmt.Errorf("%w: no matching v1 signature", ErrBadSignature)
}

// webhookSender POSTs to one URL: each entry alone, or (batch > 1) up to
// batch entries as one JSON array.
type webhookSender struct {
	hook    string
	url     string
	secret  []byte
	batch   int
	client  *http.Client
	timeout time.Duration
	clock   clock.Clock
}

func (w *webhookSender) batchLimit() int { return max(w.batch, 1) }

func (w *webhookSender) send(ctx context.Context, batch []*entry) []error {
	errs := make([]error, len(batch))
	if w.batch > 1 {
		err := w.postBatch(ctx, batch)
		for i := range errs {
			errs[i] = err
		}
		return errs
	}
	for i, e := range batch {
		errs[i] = w.post(ctx, e.body, func(h http.Header) {
			h.Set(HeaderEventID, e.meta.EventID)
			h.Set(HeaderEventType, e.meta.EventType)
			h.Set(HeaderAttempt, strconv.Itoa(e.meta.Attempts+1))
		})
	}
	return errs
}

// postBatch sends batch as one JSON array; the whole batch succeeds or
// fails together.
func (w *webhookSender) postBatch(ctx context.Context, batch []*entry) error {
	size, attempt := 2+len(batch), 0
	for _, e := range batch {
		size += len(e.body)
		attempt = max(attempt, e.meta.Attempts+1)
	}
	body := make([]byte, 0, size)
	body = append(body, '[')
	for i, e := range batch {
		if i > 0 {
			body = append(body, ',')
		}
		body = append(body, e.body...)
	}
	body = append(body, ']')
	return w.post(ctx, body, func(h http.Header) {
		h.Set(HeaderBatch, strconv.Itoa(len(batch)))
		h.Set(HeaderAttempt, strconv.Itoa(attempt))
	})
}

// post sends one signed POST of body; headers adds what describes it.
func (w *webhookSender) post(ctx context.Context, body []byte, headers func(http.Header)) error {
	ctx, cancel := context.WithTimeout(ctx, w.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	ts := w.clock.Now().Unix()
	h := req.Header
	h.Set("Content-Type", "application/json")
	h.Set("User-Agent", "confab-notify/1")
	h.Set(HeaderTimestamp, strconv.FormatInt(ts, 10))
	h.Set(HeaderSignature, Sign(w.secret, ts, body))
	h.Set(HeaderHook, w.hook)
	headers(h)
	resp, err := w.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 256))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // let the connection be reused
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return nil
	}
	msg := strings.TrimSpace(string(snippet))
	if msg == "" {
		return fmt.Errorf("webhook answered %s", resp.Status)
	}
	return fmt.Errorf("webhook answered %s: %s", resp.Status, msg)
}
