package sma

import (
	"context"
	"errors"
	"sync"
)

// Calls placed by an application (CreateSipMediaApplicationCall) and
// arguments passed to calls in progress (UpdateSipMediaApplicationCall).
// The seed documents neither; Confab follows the Chime SDK Voice API:
// NEW_OUTBOUND_CALL when the INVITE goes out (its answer is not run),
// CALL_ANSWERED when the callee answers (its actions run), HANGUP when it
// does not answer or hangs up; CALL_UPDATE_REQUESTED with ActionData
// {Type: CallUpdateRequest, Parameters: {Arguments}}, whose answer replaces
// the actions like any other.

// updateQueue bounds the updates waiting for a Session.
const updateQueue = 8

// ErrNoCall: no call in progress has the transaction id.
var ErrNoCall = errors.New("sma: no call in progress with that transaction id")

// ErrBusy: the call has too many updates waiting.
var ErrBusy = errors.New("sma: the call has too many updates waiting")

// sessionSet is the Sessions in progress, by transaction id.
type sessionSet struct {
	mu sync.Mutex
	m  map[string]*Session
}

func (ss *sessionSet) add(s *Session) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if ss.m == nil {
		ss.m = map[string]*Session{}
	}
	ss.m[s.details.TransactionID] = s
}

func (ss *sessionSet) remove(s *Session) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if ss.m[s.details.TransactionID] == s {
		delete(ss.m, s.details.TransactionID)
	}
}

func (ss *sessionSet) get(id string) *Session {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	return ss.m[id]
}

// Update passes arguments to the call of transaction id of application
// appID: its handler gets CALL_UPDATE_REQUESTED once the current action
// ends.
func (rt *Runtime) Update(appID, transactionID string, args map[string]string) error {
	s := rt.sessions.get(transactionID)
	if s == nil || s.app.ID != appID {
		return ErrNoCall
	}
	select {
	case s.updates <- args:
		return nil
	default:
		return ErrBusy
	}
}

// OutboundInfo describes a call an application places.
type OutboundInfo struct {
	App *Application
	// From and To are E.164 numbers: the caller ID shown and the callee.
	From, To  string
	Arguments map[string]string
}

// NewOutboundSession prepares the runtime of a call the application
// places: LEG-A is the callee, Direction Outbound.
func (rt *Runtime) NewOutboundSession(info OutboundInfo) *Session {
	s := rt.newSession(info.App, "", "Outbound", info.To, info.From, info.From)
	s.details.ArgumentsMap = info.Arguments
	return s
}

// Dialing invokes NEW_OUTBOUND_CALL as the INVITE goes out (its answer is
// not run: the call is not connected yet).
func (s *Session) Dialing(ctx context.Context) {
	s.details.Participants[0].Status = "Ringing"
	if _, err := s.invoke(ctx, EventNewOutboundCall, nil); err != nil {
		s.log.Info("sma: NEW_OUTBOUND_CALL not delivered", "err", err)
	}
}

// Answered invokes CALL_ANSWERED and takes its actions; false when the
// handler failed (the caller then hangs up).
func (s *Session) Answered(ctx context.Context) bool {
	s.details.Participants[0].Status = StatusConnected
	resp, err := s.invoke(ctx, EventCallAnswered, nil)
	if err != nil {
		s.log.Warn("sma: handler failed on CALL_ANSWERED", "err", err)
		return false
	}
	s.pending = resp.Actions
	return true
}

// NotAnswered reports a call that was never connected (the callee
// refused, or the trunk failed): HANGUP, and the Session is over.
func (s *Session) NotAnswered(ctx context.Context) {
	s.End()
	s.hangupEvent(ctx)
}
