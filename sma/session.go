package sma

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/confab-media/confab/internal/clock"
	"github.com/confab-media/confab/internal/guard"
	"github.com/confab-media/confab/internal/ids"
)

// Runtime holds what every Session shares: the applications and rules,
// the handler invoker and the prompts.
type Runtime struct {
	// Config is the applications and rules at start; SetConfig replaces
	// them while calls run.
	Config  Config
	Invoker Invoker
	Audio   *AudioStore
	// Recordings keeps RecordAudio's recordings; nil refuses RecordAudio.
	Recordings *RecordingStore
	Clock      clock.Clock
	Log        *slog.Logger
	// AccountID and Region fill CallDetails (an application's own
	// AwsRegion wins).
	AccountID, Region string
	// Panics counts panics contained in a Session (each ends its call).
	Panics guard.Counter

	admit    admission
	current  atomic.Pointer[Config] // SetConfig's; nil: Config
	sessions sessionSet             // calls in progress, for Update
}

// SetConfig replaces the applications and rules (validated by the
// caller). Calls in progress keep the application they were routed to.
func (rt *Runtime) SetConfig(c Config) {
	rt.admit.mu.Lock()
	rt.admit.prefixes = nil // parsed per *Rule: the rules are new
	rt.admit.mu.Unlock()
	rt.current.Store(&c)
}

// Applications returns the applications in force.
func (rt *Runtime) Applications() []Application {
	return append([]Application(nil), rt.config().Applications...)
}

// config is the applications and rules in force.
func (rt *Runtime) config() *Config {
	if c := rt.current.Load(); c != nil {
		return c
	}
	return &rt.Config
}

// Route finds the application of a call to user@host (Config.Route).
func (rt *Runtime) Route(user, host string) (*Rule, *Application, bool) {
	return rt.config().Route(user, host)
}

// CallInfo describes a new inbound call.
type CallInfo struct {
	Rule *Rule
	App  *Application
	// To is the dialled number (or user), From the caller's.
	To, From string
	// BridgeFrom is LEG-B's From: the number the meeting sees the call
	// come from (the gateway's dial-in number).
	BridgeFrom string
}

// Session is one call's application runtime. Begin runs before the call
// is answered; Run after, on a goroutine the call owns; Digit and End may
// be called from any goroutine.
type Session struct {
	rt      *Runtime
	app     *Application
	log     *slog.Logger
	details CallDetails
	seq     int

	digits  chan rune
	updates chan map[string]string // UpdateSipMediaApplicationCall's arguments
	ended   chan struct{}
	endOnce chan struct{} // holds one token: the first End closes ended

	// Owned by Run's goroutine.
	call    Call
	pending []Action
	bridge  Bridge
	legB    int // index of LEG-B in details.Participants, -1 if none
	// bridgeFrom is LEG-B's From (CallInfo.BridgeFrom).
	bridgeFrom string
	matcher    *digitMatcher
	// Queued while an action ran: a ReceiveDigits match, a lost meeting.
	matched    *string
	bridgeLost bool
	update     map[string]string // queued CALL_UPDATE_REQUESTED
	recordings int               // RecordAudio's so far, numbering their keys
	failures   int               // actions failed in a row
}

// maxFailures bounds the actions that may fail in a row: a handler that
// keeps answering ACTION_FAILED with another failing action would
// otherwise spin the call (and itself) without end.
const maxFailures = 20

// digitQueue bounds the key presses buffered for the Session.
const digitQueue = 64

// NewSession prepares the runtime of one inbound call.
func (rt *Runtime) NewSession(info CallInfo) *Session {
	return rt.newSession(info.App, info.Rule.ID, "Inbound", info.To, info.From, info.BridgeFrom)
}

func (rt *Runtime) newSession(app *Application, ruleID, direction, to, from, bridgeFrom string) *Session {
	region := app.AwsRegion
	if region == "" {
		region = rt.Region
	}
	s := &Session{
		rt: rt, app: app,
		digits:  make(chan rune, digitQueue),
		updates: make(chan map[string]string, updateQueue),
		ended:   make(chan struct{}),
		endOnce: make(chan struct{}, 1),
		legB:    -1,
	}
	s.endOnce <- struct{}{}
	s.details = CallDetails{
		TransactionID: ids.New(), AwsAccountID: rt.AccountID, AwsRegion: region,
		SipRuleID: ruleID, SipApplicationID: app.ID,
		Participants: []Participant{{
			CallID: ids.New(), ParticipantTag: LegA, To: to, From: from, Direction: direction,
			StartTimeInMilliseconds: millisNow(rt.Clock), Status: StatusConnected,
		}},
	}
	log := rt.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s.log = log.With("sma", app.ID, "transaction", s.details.TransactionID)
	s.bridgeFrom = bridgeFrom
	rt.sessions.add(s)
	return s
}

// TransactionID is the call's transaction id (CallDetails.TransactionId).
func (s *Session) TransactionID() string { return s.details.TransactionID }

// Begin invokes the handler with NEW_INBOUND_CALL. It returns 0 when the
// call is to be answered and run, else the SIP code to refuse it with:
// 480 when the handler failed twice, the first action's code when the
// handler hangs up at once (0 becomes 603).
func (s *Session) Begin(ctx context.Context) int {
	resp, err := s.invoke(ctx, EventNewInboundCall, nil)
	if err != nil {
		s.log.Warn("sma: handler failed on NEW_INBOUND_CALL", "err", err)
		return 480
	}
	s.pending = resp.Actions
	if len(s.pending) > 0 && s.pending[0].Type == ActionHangup {
		var p hangupParams
		if decode(s.pending[0].Parameters, &p) == nil {
			if code, aerr := hangupCode(p.SipResponseCode); aerr == nil {
				if code == 0 {
					return 603
				}
				return code
			}
		}
	}
	return 0
}

// Digit hands over one key press of the caller; it never blocks (a full
// queue drops it).
func (s *Session) Digit(d rune) {
	select {
	case s.digits <- d:
	default:
	}
}

// End tells the Session that the call is over (the caller hung up, or the
// gateway ended it).
func (s *Session) End() {
	select {
	case <-s.endOnce:
		close(s.ended)
		s.rt.sessions.remove(s)
	default:
	}
}

// Run executes the actions on call until the call ends, then sends HANGUP.
// It returns when the call is over. A panic ends the call, not the process.
func (s *Session) Run(ctx context.Context, call Call) {
	s.call = call
	defer guard.Recover(s.log, s.rt.Panics, "sma session", func(any) { call.Hangup(0) })
	defer s.hangupEvent(ctx)
	for !s.isEnded() {
		if len(s.pending) == 0 {
			s.idle()
			if !s.handleQueued(ctx) {
				return
			}
			continue
		}
		a := s.pending[0]
		s.pending = s.pending[1:]
		out := s.exec(a)
		if s.isEnded() || out.hungUp {
			return
		}
		data := &ActionData{Type: a.Type, Parameters: a.Parameters, ReceivedDigits: out.digits, RecordingDestination: out.recording}
		ev := EventActionSuccessful
		if out.err == nil {
			s.failures = 0
		} else {
			ev, data.ErrorType, data.ErrorMessage = EventActionFailed, out.err.Type, out.err.Message
			if s.failures++; s.failures > maxFailures {
				s.log.Warn("sma: the handler keeps answering with failing actions: hanging up", "failures", s.failures)
				s.call.Hangup(0)
				return
			}
		}
		if out.err != nil || out.invoke || len(s.pending) == 0 {
			if !s.next(ctx, ev, data) {
				return
			}
		}
		if !s.handleQueued(ctx) {
			return
		}
	}
}

// next invokes the handler and takes its actions; false: the handler
// failed and the call was ended with 480.
func (s *Session) next(ctx context.Context, event string, data *ActionData) bool {
	resp, err := s.invoke(ctx, event, data)
	if err != nil {
		s.log.Warn("sma: handler failed: ending the call with 480", "event", event, "err", err)
		s.call.Hangup(480)
		return false
	}
	if resp.Actions != nil {
		s.pending = resp.Actions
	}
	return true
}

// handleQueued raises the events queued while an action ran or while
// idle: DIGITS_RECEIVED of a ReceiveDigits match, HANGUP of a meeting leg
// that ended.
func (s *Session) handleQueued(ctx context.Context) bool {
	if s.isEnded() {
		return false
	}
	if s.bridgeLost {
		s.bridgeLost = false
		p := s.details.Participants[s.legB]
		params, _ := json.Marshal(legParams{CallID: p.CallID, ParticipantTag: LegB})
		s.dropBridge()
		if !s.next(ctx, EventHangup, &ActionData{Type: ActionHangup, Parameters: params}) {
			return false
		}
	}
	if u := s.update; u != nil {
		s.update = nil
		params, _ := json.Marshal(map[string]any{"Arguments": u})
		if !s.next(ctx, EventCallUpdateRequested, &ActionData{Type: "CallUpdateRequest", Parameters: params}) {
			return false
		}
	}
	if d := s.matched; d != nil && s.matcher != nil {
		s.matched = nil
		if !s.next(ctx, EventDigitsReceived, &ActionData{Type: ActionReceiveDigits, Parameters: s.matcher.params, ReceivedDigits: d}) {
			return false
		}
	}
	return true
}

// idle waits, with no action to run, for what may bring new actions: a
// ReceiveDigits match, the meeting leg ending, or the end of the call.
func (s *Session) idle() {
	for !s.isEnded() && s.matched == nil && !s.bridgeLost && s.update == nil {
		s.wait(nil, nil, false)
	}
}

func (s *Session) isEnded() bool {
	select {
	case <-s.ended:
		return true
	default:
		return false
	}
}

// waitEvent is what ended a wait.
type waitEvent int

const (
	waitDone waitEvent = iota
	waitTimer
	waitDigit
	waitEnded
	waitOther // a background event was queued (matcher, meeting leg)
)

// wait blocks until done closes, timer fires, a digit arrives (returned
// when wantDigits; otherwise it goes to the ReceiveDigits matcher), the
// call ends, or a background event is queued.
func (s *Session) wait(done <-chan struct{}, timer <-chan time.Time, wantDigits bool) (waitEvent, rune) {
	var matchTimer <-chan time.Time
	if s.matcher != nil {
		matchTimer = s.matcher.timer
	}
	var bridgeDone <-chan struct{}
	if s.bridge != nil && !s.bridgeLost {
		bridgeDone = s.bridge.Done()
	}
	select {
	case <-done:
		return waitDone, 0
	case <-timer:
		return waitTimer, 0
	case d := <-s.digits:
		if wantDigits {
			return waitDigit, d
		}
		if s.matcher != nil {
			s.matcher.digit(d, s.rt.Clock)
		}
		return waitOther, 0
	case <-matchTimer:
		if got, ok := s.matcher.fire(); ok {
			s.matched = &got
		}
		return waitOther, 0
	case <-bridgeDone:
		s.bridgeLost = true
		return waitOther, 0
	case u := <-s.updates:
		s.update = u
		return waitOther, 0
	case <-s.ended:
		return waitEnded, 0
	}
}

// sleep waits d, or until the call ends (false).
func (s *Session) sleep(d time.Duration) bool {
	timer := s.rt.Clock.After(d)
	for {
		switch ev, _ := s.wait(nil, timer, false); ev {
		case waitTimer:
			return true
		case waitEnded:
			return false
		}
	}
}

// play plays pcm to the end (digits go to the matcher), until a key press
// with stopOnKey, or until the call ends (false).
func (s *Session) play(pcm []int16, stopOnKey bool) (bool, *actionError) {
	done, err := s.call.Play(pcm)
	if err != nil {
		return true, playError(err)
	}
	for {
		switch ev, d := s.wait(done, nil, stopOnKey); ev {
		case waitDone:
			return true, nil
		case waitDigit:
			// PlayAudio: "if a user stops playback with a key press"
			// the action succeeds; a ReceiveDigits running in the
			// background still gets the digit.
			if s.matcher != nil {
				s.matcher.digit(d, s.rt.Clock)
			}
			s.call.StopPlay()
			return true, nil
		case waitEnded:
			s.call.StopPlay()
			return false, nil
		}
	}
}

func playError(err error) *actionError {
	if errors.Is(err, ErrBridged) {
		return &actionError{Type: ErrSystemException, Message: "Playing audio on a call bridged into a meeting is not supported."}
	}
	return errSystem
}

// invoke sends one event with the current call details.
func (s *Session) invoke(ctx context.Context, event string, data *ActionData) (*Response, error) {
	s.seq++
	ev := &Event{SchemaVersion: SchemaVersion, Sequence: s.seq, InvocationEventType: event, ActionData: data, CallDetails: s.snapshot()}
	return s.rt.Invoker.Invoke(ctx, s.app, ev)
}

// snapshot copies the call details (the participants change).
func (s *Session) snapshot() CallDetails {
	d := s.details
	d.Participants = append([]Participant(nil), s.details.Participants...)
	return d
}

// hangupEvent reports the end of the call: every leg Disconnected. The
// answer is ignored.
func (s *Session) hangupEvent(ctx context.Context) {
	if s.bridge != nil {
		s.bridge.Leave()
		s.bridge = nil
	}
	for i := range s.details.Participants {
		s.details.Participants[i].Status = StatusGone
	}
	params, _ := json.Marshal(legParams{CallID: s.details.Participants[0].CallID, ParticipantTag: LegA})
	if _, err := s.invoke(ctx, EventHangup, &ActionData{Type: ActionHangup, Parameters: params}); err != nil {
		s.log.Info("sma: HANGUP not delivered", "err", err)
	}
}

// dropBridge forgets the meeting leg (it ended or was hung up).
func (s *Session) dropBridge() {
	if s.bridge != nil {
		s.bridge.Leave()
		s.bridge = nil
	}
	if s.legB >= 0 {
		s.details.Participants[s.legB].Status = StatusGone
		s.legB = -1
	}
}

func millisNow(c clock.Clock) string {
	return strconv.FormatInt(c.Now().UnixMilli(), 10)
}
