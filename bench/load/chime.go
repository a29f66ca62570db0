package load

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// chimeClient is the bench's control-plane client: the three Chime SDK
// Meetings operations it needs over their REST-JSON routes, signed with
// aws-sdk-go-v2's SigV4 signer (service "chime"). The v2 service client
// for Chime SDK Meetings is not among the modules this project builds
// from, and the v1 SDK is end-of-life.
type chimeClient struct {
	endpoint string
	region   string
	creds    aws.Credentials
	signer   *v4.Signer
	http     *http.Client
	retries  int
}

func newChimeClient(t *Target) *chimeClient {
	return &chimeClient{
		endpoint: strings.TrimRight(t.URL, "/"), region: t.Region,
		creds:  aws.Credentials{AccessKeyID: t.AccessKeyID, SecretAccessKey: t.SecretAccessKey, Source: "confab bench"},
		signer: v4.NewSigner(), http: &http.Client{Timeout: 30 * time.Second}, retries: 3,
	}
}

// chimeMeeting and chimeAttendee are the fields of the API's Meeting and
// Attendee objects the bench reads.
type chimeMeeting struct {
	MeetingId      string
	MediaPlacement struct{ SignalingUrl string }
}

type chimeAttendee struct {
	AttendeeId string
	JoinToken  string
}

// chimeError is an API error answer (X-Amzn-ErrorType and its message).
type chimeError struct {
	Status int
	Code   string
	Msg    string
}

func (e *chimeError) Error() string { return fmt.Sprintf("%s (HTTP %d): %s", e.Code, e.Status, e.Msg) }

func (c *chimeClient) createMeeting(ctx context.Context, token, externalID string) (chimeMeeting, error) {
	var out struct{ Meeting chimeMeeting }
	err := c.call(ctx, http.MethodPost, "/meetings", map[string]string{
		"ClientRequestToken": token, "MediaRegion": c.region, "ExternalMeetingId": externalID,
	}, &out)
	return out.Meeting, err
}

func (c *chimeClient) createAttendee(ctx context.Context, meetingID, externalUserID string) (chimeAttendee, error) {
	var out struct{ Attendee chimeAttendee }
	err := c.call(ctx, http.MethodPost, "/meetings/"+url.PathEscape(meetingID)+"/attendees",
		map[string]string{"ExternalUserId": externalUserID}, &out)
	return out.Attendee, err
}

func (c *chimeClient) deleteMeeting(ctx context.Context, meetingID string) error {
	return c.call(ctx, http.MethodDelete, "/meetings/"+url.PathEscape(meetingID), nil, nil)
}

// call sends one signed request, retrying throttling and server errors
// with backoff, and decodes a 2xx JSON answer into out.
func (c *chimeClient) call(ctx context.Context, method, path string, in, out any) error {
	var body []byte
	if in != nil {
		var err error
		if body, err = json.Marshal(in); err != nil {
			return err
		}
	}
	for attempt := 0; ; attempt++ {
		err := c.once(ctx, method, path, body, out)
		ce, isAPI := err.(*chimeError)
		retry := err != nil && attempt < c.retries && (!isAPI || ce.Status == http.StatusTooManyRequests || ce.Status >= 500)
		if !retry {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Duration(50<<attempt) * time.Millisecond):
		}
	}
}

func (c *chimeClient) once(ctx context.Context, method, path string, body []byte, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, c.endpoint+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	sum := sha256.Sum256(body)
	if err := c.signer.SignHTTP(ctx, c.creds, req, hex.EncodeToString(sum[:]), "chime", c.region, time.Now()); err != nil {
		return err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		var e struct{ Code, Message string }
		_ = json.Unmarshal(raw, &e)
		code := resp.Header.Get("X-Amzn-ErrorType")
		if code == "" {
			code = e.Code
		}
		code, _, _ = strings.Cut(code, ":")
		return &chimeError{Status: resp.StatusCode, Code: code, Msg: e.Message}
	}
	if out == nil || len(raw) == 0 {
		return nil
	}
	return json.Unmarshal(raw, out)
}
