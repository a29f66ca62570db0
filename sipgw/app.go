package sipgw

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/confab-media/confab/signaling/meeting"
	"github.com/confab-media/confab/sma"
)

// A call without a join token whose dialled number or Request-URI host a
// SIP media application's rule names is an app call: the application's
// handler is asked what to do (NEW_INBOUND_CALL) before the call is
// answered, then its actions run on the call (package sma) — prompts from
// the prompter, digits from the caller, and JoinChimeMeeting attaching the
// call to a meeting as a phone member, as a token call would be.

// appCall is the sma.Call of an app call. The Session calls it from its
// goroutine; the media reader pushes the caller's audio to the current
// leg: none before JoinChimeMeeting, the meeting's while bridged.
type appCall struct {
	c       *call
	sess    *sma.Session
	player  *prompter
	hangups chan int // the application hung up (after the answer)
	release func()   // the call's admission (Apps.Admit)
	run     sync.WaitGroup

	rec callRecorder // RecordAudio

	bridgeMu sync.Mutex // guards bridge
	bridge   *meetingBridge
	leg      atomic.Pointer[legRef] // nil: not bridged
}

type legRef struct{ leg PhoneLeg }

// appRoute finds the application for a call that carries no join token.
func (g *Gateway) appRoute(req *sip.Request) (*sma.Rule, *sma.Application, bool) {
	if g.p.Apps == nil {
		return nil, nil, false
	}
	if _, ok := joinToken(req); ok {
		return nil, nil, false
	}
	return g.p.Apps.Route(req.Recipient.User, req.Recipient.Host)
}

// setupApp admits an app call: Require tags, SDP and timer, then the
// handler's NEW_INBOUND_CALL (its refusal or failure is the call's final
// response: 480 when it did not answer twice), then media.
func (g *Gateway) setupApp(req *sip.Request, tx sip.ServerTransaction, dlg *sipgo.DialogServerSession, transport string, log *slog.Logger, rule *sma.Rule, app *sma.Application) (*call, *refusal) {
	if bad := unsupportedRequire(req); len(bad) > 0 {
		return nil, refuse(420, "Bad Extension", [2]string{"Unsupported", strings.Join(bad, ", ")})
	}
	release, code := g.p.Apps.Admit(rule, sourceIP(req))
	switch code {
	case 0:
	case 403:
		return nil, refuseSource
	default:
		return nil, refuseAppBusy
	}
	admitted := false
	var sess *sma.Session
	defer func() {
		if !admitted {
			release()
			if sess != nil {
				sess.End() // never run: forget it
			}
		}
	}()
	neg, ref := g.negotiateInvite(req, log)
	if ref != nil {
		return nil, ref
	}
	from := ""
	if f := req.From(); f != nil {
		from = f.Address.User
	}
	sess = g.p.Apps.NewSession(sma.CallInfo{Rule: rule, App: app, To: req.Recipient.User, From: from, BridgeFrom: g.cfg.DialInNumber})
	log = log.With("sma", app.ID, "rule", rule.ID, "transaction", sess.TransactionID())
	// The handler may take seconds (5 s per try, two tries): 100 Trying
	// stops the caller's INVITE retransmissions (RFC 3261 §8.2.6.1).
	_ = tx.Respond(sip.NewResponseFromRequest(req, 100, "Trying", nil))
	if code := sess.Begin(dlg.Context()); code != 0 {
		if dlg.Context().Err() != nil {
			return nil, refuseShutdown
		}
		return nil, refuse(code, appReason(code))
	}
	a := &appCall{sess: sess, hangups: make(chan int, 1), release: release}
	var c *call
	c, freePorts, ref := g.newCall(req, dlg, transport, log, neg,
		func(b []byte, ts uint32, level int8) error { return a.push(b, ts, level) },
		func(pcm []int16, ts uint32, level int8) error { return a.pushPCM(pcm, ts, level) })
	if ref != nil {
		return nil, ref
	}
	a.c, c.app = c, a
	player, err := newPrompter(g.clock, neg.plan.codec, c.media.mix)
	if err != nil {
		freePorts()
		return nil, refuseJoinFailed
	}
	a.player = player
	if dlg.Context().Err() != nil || !g.register(c) {
		freePorts()
		return nil, refuseShutdown
	}
	admitted = true
	log.Info("sipgw: SIP media application takes the call")
	return c, nil
}

// appReason is the reason phrase of an application's refusal.
func appReason(code int) string {
	switch code {
	case 480:
		return "Temporarily Unavailable"
	case 486:
		return "Busy Here"
	}
	return "Decline"
}

// start runs the prompter and the application once the call is answered.
func (a *appCall) start(ctx context.Context) {
	a.player.start(a.c.log, a.c.g.p.Panics)
	a.run.Go(func() { a.sess.Run(ctx, a) })
}

// stop ends the application's part of the call (the call is ending): the
// Session sends HANGUP and returns, the prompter stops, the meeting leg
// is left.
func (a *appCall) stop() {
	a.sess.End()
	a.player.close()
	a.leave()
}

// wait waits for the Session (its HANGUP invocation included).
func (a *appCall) wait() {
	a.run.Wait()
	a.release()
}

func (a *appCall) push(b []byte, ts uint32, level int8) error {
	a.rec.addOpus(b)
	if r := a.leg.Load(); r != nil {
		return r.leg.Push(b, ts, level)
	}
	return nil // not in a meeting: the caller's audio goes nowhere
}

func (a *appCall) pushPCM(pcm []int16, ts uint32, level int8) error {
	a.rec.addPCM(pcm)
	if r := a.leg.Load(); r != nil {
		return r.leg.PushPCM(pcm, ts, level)
	}
	return nil
}

// Play implements sma.Call.
func (a *appCall) Play(pcm []int16) (<-chan struct{}, error) {
	if a.leg.Load() != nil {
		return nil, sma.ErrBridged
	}
	return a.player.play(pcm), nil
}

// StartRecording implements sma.Call.
func (a *appCall) StartRecording(max time.Duration) error { return a.rec.start(max) }

// StopRecording implements sma.Call.
func (a *appCall) StopRecording() []int16 { return a.rec.stop() }

// StopPlay implements sma.Call.
func (a *appCall) StopPlay() { a.player.stop() }

// Hangup implements sma.Call: the call's dialog goroutine sends BYE.
func (a *appCall) Hangup(code int) {
	select {
	case a.hangups <- code:
	default:
	}
}

// Join implements sma.Call: JoinChimeMeeting. The token is verified, the
// attendee's seat taken (its other call, if any, is replaced), and the
// call joins the meeting's Room as a phone member.
func (a *appCall) Join(token string) (sma.Bridge, error) {
	g, c := a.c.g, a.c
	id, err := g.p.Auth.Verify(token)
	if err != nil || id.Content {
		return nil, sma.ErrJoinToken
	}
	if g.p.Locator != nil { // in a cluster, the meeting must be on this node
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		addr, err := g.p.Locator.MeetingSIP(ctx, id.MeetingID)
		cancel()
		if err != nil || addr != "" {
			return nil, fmt.Errorf("sipgw: meeting %s is hosted on another node (%s): an answered call cannot move", id.MeetingID, addr)
		}
	}
	st, old := g.seats.take(id, g.cfg.MaxCallsPerMeeting)
	if st == nil {
		return nil, errors.New("sipgw: too many calls in the meeting")
	}
	if old != nil && !old.evict(c.ended) {
		g.seats.release(st)
		return nil, errors.New("sipgw: the attendee's other call is still ending")
	}
	a.player.stop()
	leg, err := g.p.Conference.JoinPhone(id, c.codec.mixerCodec(), c.media.mix)
	if err != nil {
		g.seats.release(st)
		return nil, err
	}
	c.media.resyncTx()
	b := newMeetingBridge(a, id, leg, st)
	a.bridgeMu.Lock()
	a.bridge = b
	a.bridgeMu.Unlock()
	a.leg.Store(&legRef{leg: leg})
	c.log.Info("sipgw: app call joined a meeting", "meeting", id.MeetingID, "attendee", id.AttendeeID)
	return b, nil
}

// leave ends the meeting leg, if any.
func (a *appCall) leave() {
	a.bridgeMu.Lock()
	b := a.bridge
	a.bridgeMu.Unlock()
	if b != nil {
		b.Leave()
	}
}

// meetingBridge is an app call's membership in a meeting (sma.Bridge):
// Done closes when the meeting ends, the attendee is deleted, or another
// call of the attendee replaces this one.
type meetingBridge struct {
	a    *appCall
	id   meeting.Identity
	leg  PhoneLeg
	seat *seat

	done    chan struct{}
	stop    chan struct{}
	watcher sync.WaitGroup
	once    sync.Once
}

func newMeetingBridge(a *appCall, id meeting.Identity, leg PhoneLeg, st *seat) *meetingBridge {
	b := &meetingBridge{a: a, id: id, leg: leg, seat: st, done: make(chan struct{}), stop: make(chan struct{})}
	b.watcher.Go(func() {
		select {
		case <-leg.Done():
		case <-st.kick:
		case <-b.stop:
			return
		}
		close(b.done)
	})
	return b
}

func (b *meetingBridge) MeetingID() string     { return b.id.MeetingID }
func (b *meetingBridge) AttendeeID() string    { return b.id.AttendeeID }
func (b *meetingBridge) SetMuted(m bool)       { b.leg.SetMuted(m) }
func (b *meetingBridge) Done() <-chan struct{} { return b.done }

// Leave takes the call out of the meeting (once): the caller's audio goes
// nowhere again and prompts may play.
func (b *meetingBridge) Leave() {
	b.once.Do(func() {
		b.a.leg.Store(nil)
		b.leg.Leave()
		close(b.stop)
		b.watcher.Wait()
		b.a.c.g.seats.release(b.seat)
		b.a.c.media.resyncTx()
		b.a.bridgeMu.Lock()
		if b.a.bridge == b {
			b.a.bridge = nil
		}
		b.a.bridgeMu.Unlock()
	})
}
