package load

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/confab-media/confab/signaling/notify"
)

// The PIN flow of a SIP media application, as a deployment runs it for
// callers without a join token: the bench registers an application whose
// handler it serves itself, and a SIP rule sending a number of its own to
// it, through the Chime SDK Voice API (CreateSipMediaApplication with an
// http URL as Endpoints[0].LambdaArn, CreateSipRule). Each caller dials
// that number and keys its PIN and "#" (RFC 4733). The handler answers
// NEW_INBOUND_CALL with ReceiveDigits, and DIGITS_RECEIVED with
// CreateAttendee in the PIN's meeting and JoinChimeMeeting with the new
// attendee's join token; ACTION_SUCCESSFUL of JoinChimeMeeting marks the
// caller in its meeting. Guide: "Building Lambda functions for SIP media
// applications" (shared/seeds/001_…).

// pinDigits is the length of a caller's PIN.
const pinDigits = 6

// pinCaller is what the handler knows of one caller: its meeting, the
// call that keyed its PIN (a PIN admits one call: another that keys it is
// hung up, so byTx holds at most one entry per PIN) and, once it
// happens, when the application joined it.
type pinCaller struct {
	meetingID, user string
	tx              string
	attendeeMs      float64   // CreateAttendee's time
	joined          time.Time // ACTION_SUCCESSFUL of JoinChimeMeeting
}

// pinApp is the bench's SIP media application: its handler's HTTP server
// and the application and rule registered for it.
type pinApp struct {
	chime  *chimeClient
	secret []byte // verifies the server's signatures; nil: unsigned accepted
	number string // the rule's number the callers dial
	appID  string
	ruleID string

	ln  net.Listener
	srv *http.Server
	wg  sync.WaitGroup

	mu     sync.Mutex
	byPIN  map[string]*pinCaller
	byTx   map[string]*pinCaller // TransactionId → caller, from DIGITS_RECEIVED
	wrong  int                   // unknown PINs
	errors []string              // first failures, for the report
}

// startPINApp serves the handler on listenIP and registers the
// application and its rule under a random E.164 number.
func startPINApp(ctx context.Context, chime *chimeClient, listenIP, name string, secret []byte) (*pinApp, error) {
	ln, err := net.Listen("tcp", net.JoinHostPort(listenIP, "0"))
	if err != nil {
		return nil, fmt.Errorf("load: SIP media application handler: %w", err)
	}
	a := &pinApp{chime: chime, secret: secret, ln: ln, byPIN: map[string]*pinCaller{}, byTx: map[string]*pinCaller{},
		number: fmt.Sprintf("+1555%07d", rand.IntN(10_000_000))}
	a.srv = &http.Server{Handler: a, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second,
		WriteTimeout: 30 * time.Second, MaxHeaderBytes: 16 << 10}
	a.wg.Go(func() { _ = a.srv.Serve(ln) })
	if err := a.register(ctx, name, "http://"+ln.Addr().String()+"/"); err != nil {
		a.close()
		return nil, err
	}
	return a, nil
}

// register creates the application and the rule.
func (a *pinApp) register(ctx context.Context, name, endpoint string) error {
	var app struct {
		SipMediaApplication struct{ SipMediaApplicationId string }
	}
	if err := a.chime.call(ctx, http.MethodPost, "/sip-media-applications", map[string]any{
		"AwsRegion": a.chime.region, "Name": name, "Endpoints": []map[string]string{{"LambdaArn": endpoint}},
	}, &app); err != nil {
		return fmt.Errorf("load: CreateSipMediaApplication: %w", err)
	}
	a.appID = app.SipMediaApplication.SipMediaApplicationId
	var rule struct{ SipRule struct{ SipRuleId string } }
	if err := a.chime.call(ctx, http.MethodPost, "/sip-rules", map[string]any{
		"Name": name, "TriggerType": "ToPhoneNumber", "TriggerValue": a.number,
		"TargetApplications": []map[string]any{{"SipMediaApplicationId": a.appID, "Priority": 1, "AwsRegion": a.chime.region}},
	}, &rule); err != nil {
		return fmt.Errorf("load: CreateSipRule: %w", err)
	}
	a.ruleID = rule.SipRule.SipRuleId
	return nil
}

// add gives a caller of meetingID a PIN and returns it.
func (a *pinApp) add(meetingID, user string) string {
	a.mu.Lock()
	defer a.mu.Unlock()
	pin := fmt.Sprintf("%0*d", pinDigits, len(a.byPIN)+1)
	a.byPIN[pin] = &pinCaller{meetingID: meetingID, user: user}
	return pin
}

// joined returns when the application joined the caller with pin, and
// how long its CreateAttendee took.
func (a *pinApp) joined(pin string) (time.Time, float64) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if c := a.byPIN[pin]; c != nil {
		return c.joined, c.attendeeMs
	}
	return time.Time{}, 0
}

// close deletes the rule and the application and stops the handler.
func (a *pinApp) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if a.ruleID != "" {
		_ = a.chime.call(ctx, http.MethodDelete, "/sip-rules/"+url.PathEscape(a.ruleID), nil, nil)
	}
	if a.appID != "" {
		_ = a.chime.call(ctx, http.MethodDelete, "/sip-media-applications/"+url.PathEscape(a.appID), nil, nil)
	}
	_ = a.srv.Shutdown(ctx)
	a.wg.Wait()
}

// smaEvent is what the handler reads of an invocation event.
type smaEvent struct {
	InvocationEventType string
	ActionData          *struct {
		Type           string
		ReceivedDigits *string
		ErrorType      string
		ErrorMessage   string
	}
	CallDetails struct{ TransactionId string }
}

// ServeHTTP answers one invocation. Its input is the server's (signed,
// when a secret is given), bounded to 1 MiB; a bad request is a 400.
func (a *pinApp) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
	if err != nil || r.Method != http.MethodPost {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	if a.secret != nil {
		if err := notify.VerifyWebhook(a.secret, r.Header, body, time.Now(), 0); err != nil {
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
	}
	var ev smaEvent
	if err := json.Unmarshal(body, &ev); err != nil {
		http.Error(w, "bad event", http.StatusBadRequest)
		return
	}
	resp := map[string]any{"SchemaVersion": "1.0"}
	if actions := a.handle(r.Context(), &ev); actions != nil {
		resp["Actions"] = actions // none: the running actions go on
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(resp)
}

type smaAction struct {
	Type       string
	Parameters map[string]any
}

// handle runs the PIN flow for one event and returns the actions.
func (a *pinApp) handle(ctx context.Context, ev *smaEvent) []smaAction {
	tx := ev.CallDetails.TransactionId
	action := ""
	if ev.ActionData != nil {
		action = ev.ActionData.Type
	}
	switch ev.InvocationEventType {
	case "NEW_INBOUND_CALL":
		return []smaAction{{Type: "ReceiveDigits", Parameters: map[string]any{
			"InputDigitsRegex":                      fmt.Sprintf(`^\d{%d}#$`, pinDigits),
			"InBetweenDigitsDurationInMilliseconds": 50, "FlushDigitsDurationInMilliseconds": 10000}}}
	case "DIGITS_RECEIVED":
		pin := ""
		if ev.ActionData != nil && ev.ActionData.ReceivedDigits != nil {
			pin = strings.TrimSuffix(*ev.ActionData.ReceivedDigits, "#")
		}
		a.mu.Lock()
		c := a.byPIN[pin]
		switch {
		case c == nil || (c.tx != "" && c.tx != tx): // unknown, or already keyed by another call
			c = nil
			a.wrong++
		default:
			c.tx = tx
			a.byTx[tx] = c
		}
		a.mu.Unlock()
		if c == nil {
			return []smaAction{{Type: "Hangup", Parameters: map[string]any{"SipResponseCode": "0"}}}
		}
		start := time.Now()
		created, err := a.chime.createAttendee(ctx, c.meetingID, c.user)
		a.mu.Lock()
		c.attendeeMs = ms(time.Since(start))
		a.mu.Unlock()
		if err != nil {
			a.fail(fmt.Errorf("CreateAttendee for PIN %s: %w", pin, err))
			return []smaAction{{Type: "Hangup", Parameters: map[string]any{"SipResponseCode": "480"}}}
		}
		return []smaAction{{Type: "JoinChimeMeeting", Parameters: map[string]any{"JoinToken": created.JoinToken}}}
	case "ACTION_SUCCESSFUL":
		if action == "JoinChimeMeeting" {
			now := time.Now()
			a.mu.Lock()
			if c := a.byTx[tx]; c != nil && c.joined.IsZero() {
				c.joined = now
			}
			a.mu.Unlock()
		}
		return nil // keep listening (ReceiveDigits) or talking in the meeting
	case "ACTION_FAILED":
		msg := ""
		if ev.ActionData != nil {
			msg = ev.ActionData.ErrorType + ": " + ev.ActionData.ErrorMessage
		}
		a.fail(fmt.Errorf("%s failed: %s", action, msg))
		return []smaAction{{Type: "Hangup", Parameters: map[string]any{"SipResponseCode": "0"}}}
	}
	return nil
}

func (a *pinApp) fail(err error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.errors) < 20 {
		a.errors = append(a.errors, err.Error())
	}
}

// failures returns the handler's errors, with the unknown PINs counted.
func (a *pinApp) failures() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	var errs []error
	for _, e := range a.errors {
		errs = append(errs, errors.New(e))
	}
	if a.wrong > 0 {
		errs = append(errs, fmt.Errorf("%d calls keyed an unknown or already used PIN", a.wrong))
	}
	return errors.Join(errs...)
}
