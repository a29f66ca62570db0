package voice

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/confab-media/confab/sma"
)

// Dialer places the calls of CreateSipMediaApplicationCall (the SIP
// gateway's Dial).
type Dialer interface {
	Dial(app *sma.Application, from, to string, args map[string]string) (transactionID string, err error)
}

// SetDialer attaches the gateway that places calls (set once, before the
// API serves).
func (r *Registry) SetDialer(d Dialer) { r.dialer = d }

type createCallInput struct {
	FromPhoneNumber string
	ToPhoneNumber   string
	SipHeaders      map[string]string
	ArgumentsMap    map[string]string
}

type updateCallInput struct {
	Arguments map[string]string
}

// Bounds on a call's arguments.
const (
	maxArguments   = 20
	maxArgumentLen = 1024
)

func checkArguments(m map[string]string, name string) error {
	if len(m) > maxArguments {
		return badRequest(fmt.Sprintf("%s has more than %d entries", name, maxArguments))
	}
	for k, v := range m {
		if k == "" || len(k) > maxArgumentLen || len(v) > maxArgumentLen {
			return badRequest(fmt.Sprintf("%s entries must have keys of 1 to %d and values of at most %d characters", name, maxArgumentLen, maxArgumentLen))
		}
	}
	return nil
}

// application returns the runtime's application id (file's or API's).
func (r *Registry) application(id string) (*sma.Application, error) {
	if r.p.Runtime == nil {
		return nil, notFound("no SIP media applications on this node")
	}
	for _, a := range r.p.Runtime.Applications() {
		if a.ID == id {
			return &a, nil
		}
	}
	return nil, notFound(fmt.Sprintf("SIP media application %s not found", truncate(id, 64)))
}

// createCall runs CreateSipMediaApplicationCall: the gateway places the
// call through its outbound trunk.
func (r *Registry) createCall(appID string, in createCallInput) (int, any, error) {
	if !sma.IsE164(in.FromPhoneNumber) || !sma.IsE164(in.ToPhoneNumber) {
		return 0, nil, badRequest("FromPhoneNumber and ToPhoneNumber must be E.164 numbers")
	}
	if len(in.SipHeaders) > 0 {
		return 0, nil, badRequest("SipHeaders are not supported")
	}
	if err := checkArguments(in.ArgumentsMap, "ArgumentsMap"); err != nil {
		return 0, nil, err
	}
	app, err := r.application(appID)
	if err != nil {
		return 0, nil, err
	}
	if r.dialer == nil {
		return 0, nil, &exception{http.StatusServiceUnavailable, "ServiceUnavailableException", "SIP is off on this node"}
	}
	tx, err := r.dialer.Dial(app, in.FromPhoneNumber, in.ToPhoneNumber, in.ArgumentsMap)
	if err != nil {
		return 0, nil, &exception{http.StatusServiceUnavailable, "ServiceUnavailableException", err.Error()}
	}
	return http.StatusCreated, map[string]any{"SipMediaApplicationCall": map[string]string{"TransactionId": tx}}, nil
}

// updateCall runs UpdateSipMediaApplicationCall: the arguments go to the
// call's handler as CALL_UPDATE_REQUESTED.
func (r *Registry) updateCall(appID, tx string, in updateCallInput) (int, any, error) {
	if err := checkArguments(in.Arguments, "Arguments"); err != nil {
		return 0, nil, err
	}
	if r.p.Runtime == nil {
		return 0, nil, notFound("no SIP media applications on this node")
	}
	err := r.p.Runtime.Update(appID, tx, in.Arguments)
	switch {
	case errors.Is(err, sma.ErrNoCall):
		return 0, nil, notFound(fmt.Sprintf("no call in progress with transaction id %s", truncate(tx, 64)))
	case errors.Is(err, sma.ErrBusy):
		return 0, nil, &exception{http.StatusTooManyRequests, "ThrottledClientException", err.Error()}
	case err != nil:
		return 0, nil, err
	}
	return http.StatusAccepted, map[string]any{"SipMediaApplicationCall": map[string]string{"TransactionId": tx}}, nil
}
