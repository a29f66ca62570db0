package main

import (
	"context"
	"log/slog"
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/confab-media/confab/cmd/confab/internal/config"
	"github.com/confab-media/confab/internal/guard"
	"github.com/confab-media/confab/internal/netguard"
	"github.com/confab-media/confab/sfu"
	"github.com/confab-media/confab/signaling/events"
	"github.com/confab-media/confab/signaling/meeting"
	"github.com/confab-media/confab/signaling/session"
	"github.com/confab-media/confab/sipgw"
)

// startSIP starts the dial-in gateway when the config enables it. Its TCP
// and TLS connections take from the process's descriptor budget fds;
// panics counts the panics it contains.
func startSIP(cfg config.Config, svc *meeting.Service, conf *phoneConference, reg prometheus.Registerer, log *slog.Logger, fds *netguard.Budget, panics guard.Counter) (*sipgw.Gateway, error) {
	sc := cfg.SIP
	if !sc.Enabled {
		return nil, nil
	}
	return sipgw.New(sipgw.Config{
		DialInNumber: sc.DialInNumber, ListenUDP: sc.ListenUDP, ListenTCP: sc.ListenTCP, ListenTLS: sc.ListenTLS,
		CertFile: sc.CertFile, KeyFile: sc.KeyFile, RequireSRTP: sc.RequireSRTP, AllowPlainRTP: sc.AllowPlainRTP,
		RTPPortMin: sc.RTPPortMin, RTPPortMax: sc.RTPPortMax, RTPTimeout: sc.RTPTimeout.Std(), PublicIP: sc.PublicIP,
		NoMediaTimeout: sc.NoMediaTimeout.Std(), MaxCallsPerMeeting: sc.MaxCallsPerMeeting,
		Stream: sipgw.StreamConfig{MaxConns: sc.MaxConns, MaxConnsPerIP: sc.MaxConnsPerIP,
			FirstMessage: sc.FirstMessageTimeout.Std(), Idle: sc.IdleTimeout.Std()},
	}, sipgw.Params{
		Auth: svc, Conference: conf, Log: log, Registerer: reg, FDs: fds, Panics: panics,
		OnDTMF: func(id meeting.Identity, digit rune) {
			log.Info("dtmf", "meeting", id.MeetingID, "attendee", id.AttendeeID, "digit", string(digit))
		},
	})
}

// phoneConference puts SIP callers into meetings (sipgw.Conference): their
// audio into the meeting's mixer (sfu), their presence and join/leave
// events into signaling (session). It is an events.Sink: DeleteAttendee
// and the meeting's end hang up the calls concerned.
type phoneConference struct {
	media    *sfu.Server
	sessions *session.Handler

	mu    sync.Mutex
	calls map[string]map[*phoneCall]struct{} // by meeting
}

func newPhoneConference(media *sfu.Server, sessions *session.Handler) *phoneConference {
	return &phoneConference{media: media, sessions: sessions, calls: map[string]map[*phoneCall]struct{}{}}
}

// JoinPhone implements sipgw.Conference.
func (c *phoneConference) JoinPhone(id meeting.Identity, mix func(opus []byte, ts uint32)) (sipgw.PhoneLeg, error) {
	leg, err := c.media.JoinPhoneAs(id, mix) // the caller's capabilities apply
	if err != nil {
		return nil, err
	}
	leave, err := c.sessions.JoinPhone(id)
	if err != nil {
		leg.Leave()
		return nil, err
	}
	call := &phoneCall{c: c, id: id, leg: leg, leave: leave, done: make(chan struct{})}
	c.mu.Lock()
	set := c.calls[id.MeetingID]
	if set == nil {
		set = map[*phoneCall]struct{}{}
		c.calls[id.MeetingID] = set
	}
	set[call] = struct{}{}
	c.mu.Unlock()
	return call, nil
}

// Deliver hangs up on DeleteAttendee and meeting end.
func (c *phoneConference) Deliver(_ context.Context, e events.Event) {
	var end []*phoneCall
	c.mu.Lock()
	for call := range c.calls[e.Detail.MeetingID] {
		switch {
		case e.Detail.EventType == events.MeetingEnded,
			e.Detail.EventType == events.AttendeeDeleted && call.id.AttendeeID == e.Detail.AttendeeID:
			end = append(end, call)
		}
	}
	c.mu.Unlock()
	for _, call := range end {
		call.doneOnce.Do(func() { close(call.done) })
	}
}

func (c *phoneConference) forget(call *phoneCall) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.calls[call.id.MeetingID], call)
	if len(c.calls[call.id.MeetingID]) == 0 {
		delete(c.calls, call.id.MeetingID)
	}
}

// phoneCall is one caller's sipgw.PhoneLeg.
type phoneCall struct {
	c         *phoneConference
	id        meeting.Identity
	leg       *sfu.PhoneLeg
	leave     func(dropped bool)
	done      chan struct{}
	doneOnce  sync.Once
	leaveOnce sync.Once
}

func (p *phoneCall) Push(opus []byte, ts uint32, level int8) error {
	return p.leg.Push(opus, ts, level)
}
func (p *phoneCall) SetMuted(m bool)       { p.leg.SetMuted(m) }
func (p *phoneCall) Done() <-chan struct{} { return p.done }

// Leave ends the call's presence (Left) and its mixer leg.
func (p *phoneCall) Leave() {
	p.leaveOnce.Do(func() {
		p.leg.Leave()
		p.leave(false)
		p.c.forget(p)
	})
}
