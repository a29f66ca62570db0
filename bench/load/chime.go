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

// chimeClient is the bench's control-plane client: the Chime SDK
// Meetings operations it needs (and, for the PIN flow, four of the Voice
// API's: pin.go) over their REST-JSON routes, signed with
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
	AttendeeId     string
	ExternalUserId string
	JoinToken      string
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

// batchSize is BatchCreateAttendee's limit of attendees per request.
const batchSize = 100

// createAttendees creates attendees with the given external user ids in
// batches (BatchCreateAttendee: one request, one commit, per 100), and
// returns them in the order of the ids. Any per-attendee error fails it.
func (c *chimeClient) createAttendees(ctx context.Context, meetingID string, externalUserIDs []string) ([]chimeAttendee, error) {
	byUser := make(map[string]chimeAttendee, len(externalUserIDs))
	for start := 0; start < len(externalUserIDs); start += batchSize {
		batch := externalUserIDs[start:min(start+batchSize, len(externalUserIDs))]
		in := struct{ Attendees []map[string]string }{}
		for _, u := range batch {
			in.Attendees = append(in.Attendees, map[string]string{"ExternalUserId": u})
		}
		var out struct {
			Attendees []chimeAttendee
			Errors    []struct{ ExternalUserId, ErrorCode, ErrorMessage string }
		}
		if err := c.call(ctx, http.MethodPost, "/meetings/"+url.PathEscape(meetingID)+"/attendees?operation=batch-create", in, &out); err != nil {
			return nil, err
		}
		if len(out.Errors) > 0 {
			e := out.Errors[0]
			return nil, fmt.Errorf("%d of %d attendees refused, e.g. %s: %s %s", len(out.Errors), len(batch), e.ExternalUserId, e.ErrorCode, e.ErrorMessage)
		}
		for _, a := range out.Attendees {
			byUser[a.ExternalUserId] = a
		}
	}
	list := make([]chimeAttendee, len(externalUserIDs))
	for i, u := range externalUserIDs {
		a, ok := byUser[u]
		if !ok {
			return nil, fmt.Errorf("BatchCreateAttendee returned no attendee for %s", u)
		}
		list[i] = a
	}
	return list, nil
}

// createAttendee creates one attendee (CreateAttendee).
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
