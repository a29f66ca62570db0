package sipgw

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/pion/srtp/v3"

	"github.com/confab-media/confab/internal/guard"
	"github.com/confab-media/confab/signaling/meeting"
)

// call is one answered phone call. Its dialog goroutine is the INVITE
// handler, which lives as long as the call: it applies re-offers and
// timers in order (one queue, ops) and ends the call; other SIP handlers
// only post to it. Media runs on goroutines of its own (media.go: one
// reader, one sender); a retransmitter of the initial 2xx runs until its
// ACK (resend2xx).
type call struct {
	g         *Gateway
	log       *slog.Logger
	id        meeting.Identity
	transport string
	dlg       *sipgo.DialogServerSession
	contact   sip.ContactHeader
	leg       PhoneLeg
	media     *media
	codec     codec
	seat      *seat // kick: another INVITE of the attendee replaces this call; nil for app calls
	// app is the SIP media application of an app call (no join token);
	// nil for a token call. An app call has no leg (c.leg nil): its
	// meeting membership, if any, is the app's bridge.
	app *appCall
	// requireSRTP: plain RTP is refused for this caller (see srtpRequired).
	requireSRTP bool

	// Owned by the dialog goroutine.
	plan       *plan
	srtp       *srtpSession
	ans        answer
	lastAnswer []byte
	offerVer   uint64 // o= version of the last offer applied
	offerID    uint64 // o= session id of the last offer
	muted      bool
	timer      sessionTimer
	refreshed  time.Time
	answered   time.Time
	counters   callCounters

	ops     chan callOp
	ended   chan struct{}
	endOnce sync.Once
	wg      sync.WaitGroup // the initial 2xx's retransmitter

	acksMu sync.Mutex               // guards acks
	acks   map[uint32]chan struct{} // 2xx awaiting their ACK, by CSeq (expectAck)
}

// callOp is a re-offer (re-INVITE or UPDATE) or a refresh for the call
// goroutine.
type callOp struct {
	offer *offer // nil: a refresh without SDP
	timer sessionTimer
	reply chan opResult
}

type opResult struct {
	sdp   []byte
	timer sessionTimer // as negotiated, for the 2xx
	ref   *refusal
}

// onInvite handles an initial INVITE for the whole life of its call, or a
// re-INVITE.
func (g *Gateway) onInvite(req *sip.Request, tx sip.ServerTransaction) {
	if to := req.To(); to != nil && to.Params.Has("tag") {
		g.onReinvite(req, tx)
		return
	}
	start := g.clock.Now()
	if addr, ref := g.hostElsewhere(req); ref != nil || addr != "" {
		if ref != nil {
			g.metrics.refusedWith(ref.code)
			g.respond(req, tx, ref)
			return
		}
		g.handOver(req, tx, addr)
		return
	}
	transport := transportOf(req)
	dua := g.dialogUAs[transport]
	if transport == "udp" && req.GetHeader(headerHandover) != nil {
		dua = g.dialogUAs[handoverUA]
	}
	if dua == nil {
		g.respond(req, tx, refuse(400, "Unsupported transport"))
		return
	}
	dlg, err := dua.ReadInvite(req, tx) // from here on a CANCEL ends dlg's context
	if err != nil {
		g.respond(req, tx, refuse(400, "Malformed INVITE"))
		return
	}
	log := g.log.With("callID", req.CallID().Value(), "transport", transport, "from", req.From().Address.User)
	var st *seat // the attendee's seat, held until the call has ended
	defer func() {
		if st != nil {
			g.seats.release(st)
		}
	}()
	c, ref := g.setup(req, tx, dlg, transport, log, &st)
	if ref != nil {
		if dlg.Context().Err() != nil {
			g.metrics.refusedWith(487)
			log.Info("sipgw: call cancelled during setup")
			return // sipgo answered 487
		}
		g.metrics.refusedWith(ref.code)
		log.Info("sipgw: call refused", "code", ref.code, "reason", ref.reason)
		g.respond(dlg.InviteRequest, tx, ref)
		return
	}
	c.run(req, tx, start)
}

// setup admits the call: checks, token, SDP, session timer, the
// attendee's seat (*stp, which onInvite gives back), media ports and the
// conference leg, in that order, so nothing reaches the Conference before
// the token is verified, nothing is allocated for a caller that is refused,
// and an INVITE that fails its checks does not end the attendee's call. A
// call without a token that a SIP media application's rule takes goes to
// setupApp instead.
func (g *Gateway) setup(req *sip.Request, tx sip.ServerTransaction, dlg *sipgo.DialogServerSession, transport string, log *slog.Logger, stp **seat) (*call, *refusal) {
	if rule, app, ok := g.appRoute(req); ok {
		return g.setupApp(req, tx, dlg, transport, log, rule, app)
	}
	if ref := g.checkRequest(req); ref != nil {
		return nil, ref
	}
	id, ref := g.verify(req)
	if ref != nil {
		return nil, ref
	}
	log = log.With("meeting", id.MeetingID, "attendee", id.AttendeeID)
	neg, ref := g.negotiateInvite(req, log)
	if ref != nil {
		return nil, ref
	}
	// Checks done: take the attendee's seat (its call, if any, ends).
	st, old := g.seats.take(id, g.cfg.MaxCallsPerMeeting)
	if st == nil {
		return nil, refuseTooManyCalls
	}
	*stp = st
	if old != nil {
		log.Info("sipgw: attendee calls again: the new call replaces the old one")
		if !old.evict(dlg.Context().Done()) {
			return nil, refuseReplacing
		}
	}
	var c *call
	c, release, ref := g.newCall(req, dlg, transport, log, neg,
		// The reader starts after JoinPhone (run), so c.leg is set.
		func(b []byte, ts uint32, level int8) error { return c.leg.Push(b, ts, level) },
		func(pcm []int16, ts uint32, level int8) error { return c.leg.PushPCM(pcm, ts, level) })
	if ref != nil {
		return nil, ref
	}
	c.id, c.seat = id, st
	if dlg.Context().Err() != nil { // cancelled
		release()
		return nil, refuseShutdown
	}
	leg, err := g.p.Conference.JoinPhone(id, neg.plan.codec.mixerCodec(), c.media.mix)
	if err != nil {
		release()
		if errors.Is(err, ErrMeetingFull) {
			return nil, refuseFull
		}
		log.Warn("sipgw: join failed", "err", err)
		return nil, refuseJoinFailed
	}
	c.leg = leg
	if dlg.Context().Err() != nil || isClosed(st.kick) || !g.register(c) { // cancelled, replaced, or closing
		leg.Leave()
		release()
		return nil, refuseShutdown
	}
	return c, nil
}

// negotiated is what an INVITE's SDP offer and headers settled.
type negotiated struct {
	offer       *offer
	plan        *plan
	timer       sessionTimer
	srtp        *srtpSession
	signalIP    netip.Addr
	requireSRTP bool
}

// negotiateInvite answers the INVITE's SDP offer and session timer.
func (g *Gateway) negotiateInvite(req *sip.Request, log *slog.Logger) (*negotiated, *refusal) {
	body, ok := sdpOffer(req)
	if !ok {
		return nil, refuseNoSDP
	}
	o, err := parseOffer(body)
	if err != nil {
		return nil, refuseBadSDP
	}
	n := &negotiated{offer: o, signalIP: sourceIP(req)}
	n.requireSRTP = g.srtpRequired(n.signalIP)
	var ref *refusal
	if n.plan, ref = negotiate(o, n.requireSRTP, 0); ref != nil {
		return nil, ref
	}
	if n.timer, ref = g.negotiateTimer(req); ref != nil {
		return nil, ref
	}
	if n.plan.crypto != nil {
		if n.srtp, err = newSRTPSession(*n.plan.crypto); err != nil {
			log.Warn("sipgw: srtp setup failed", "err", err)
			return nil, refuseNoCrypto
		}
	}
	return n, nil
}

// newCall allocates the call's RTP ports and media session and renders
// its SDP answer; release gives the ports back if the call does not go on.
// The reader pushes the caller's audio to push (Opus) or pushPCM (G.711).
func (g *Gateway) newCall(req *sip.Request, dlg *sipgo.DialogServerSession, transport string, log *slog.Logger, n *negotiated,
	push func([]byte, uint32, int8) error, pushPCM func([]int16, uint32, int8) error) (*call, func(), *refusal) {
	rtpConn, rtcpConn, err := g.ports.alloc(g.bindIP)
	if err != nil {
		log.Warn("sipgw: no RTP ports", "err", err)
		return nil, nil, refuseNoPorts
	}
	ip := g.advertisedIP(req.Source())
	c, release, ref := g.callOn(rtpConn, rtcpConn, ip, log, n, push, pushPCM)
	if ref != nil {
		return nil, nil, ref
	}
	c.dlg, c.transport = dlg, transport
	c.contact = g.contact(transport, g.listenAddr(transport), ip)
	c.lastAnswer = c.ans.render(n.offer, n.plan, n.srtp, n.plan.dir.reverse())
	return c, release, nil
}

// callOn makes a call's media session on the given RTP and RTCP sockets
// (closed by release, and on failure); ip is the address the SDP gives.
func (g *Gateway) callOn(rtpConn, rtcpConn *net.UDPConn, ip netip.Addr, log *slog.Logger, n *negotiated,
	push func([]byte, uint32, int8) error, pushPCM func([]int16, uint32, int8) error) (*call, func(), *refusal) {
	p, o := n.plan, n.offer
	c := &call{
		g: g, log: log, codec: p.codec,
		plan: p, srtp: n.srtp, timer: n.timer, requireSRTP: n.requireSRTP,
		ops:      make(chan callOp),
		acks:     map[uint32]chan struct{}{},
		ended:    make(chan struct{}),
		offerVer: o.version, offerID: o.sd.Origin.SessionID,
	}
	var rnd [18]byte // o= session id, SSRC, first sequence number and timestamp
	_, _ = rand.Read(rnd[:])
	mp := mediaParams{
		clock: g.clock, conn: rtpConn, rtcp: rtcpConn, codec: p.codec,
		rx:     rxConfig{pt: p.pt, tePT: p.tePT},
		remote: p.remote, signalIP: n.signalIP, log: log, panics: g.p.Panics,
		ssrc:   binary.BigEndian.Uint32(rnd[8:12]),
		seq:    binary.BigEndian.Uint16(rnd[12:14]),
		tsBase: binary.BigEndian.Uint32(rnd[14:18]),
		onDTMF: func(d rune) { c.dtmf(d, "rfc4733") },
		push:   push, pushPCM: pushPCM,
	}
	if n.srtp != nil {
		mp.rx.srtp, mp.txSRTP = n.srtp.rx, n.srtp.tx
	}
	release := func() { _ = rtpConn.Close(); _ = rtcpConn.Close() }
	m, err := newMedia(mp)
	if err != nil {
		release()
		log.Warn("sipgw: media setup failed", "err", err)
		return nil, nil, refuseJoinFailed
	}
	c.media = m
	c.ans = answer{sessionID: binary.BigEndian.Uint64(rnd[:8]) >> 1, ip: ip, port: m.port}
	return c, release, nil
}

// byeTimeout bounds the wait for the 200 to our BYE.
const byeTimeout = 4 * time.Second

// run answers the call and serves it until it ends. A panic on the way
// ends this call (BYE), not the process.
func (c *call) run(req *sip.Request, tx sip.ServerTransaction, start time.Time) {
	g := c.g
	defer guard.Recover(c.log, g.p.Panics, "sipgw call", func(any) { c.end("internal error", true) })
	c.media.start()
	c.muted = c.plan.muted()
	if c.muted && c.leg != nil {
		c.leg.SetMuted(true)
	}
	labels := []string{c.transport, c.codec.String()}
	g.metrics.active.WithLabelValues(labels...).Inc()
	defer g.metrics.active.WithLabelValues(labels...).Dec()
	g.metrics.total.WithLabelValues(labels...).Inc()
	c.answered = g.clock.Now()
	c.refreshed = c.answered

	res := c.okResponse(c.dlg.InviteRequest, c.lastAnswer, c.timer)
	c.dlg.InviteResponse = res
	acked, cancel := c.expectAck(req.CSeq().SeqNo)
	defer cancel()
	reason, bye := "", true
	if err := tx.Respond(res); err != nil {
		reason, bye = "transport error", false
	} else {
		c.media.setTx(c.plan.pt, c.srtpTx(), c.plan.sending()) // media may flow once the 2xx is sent
		g.metrics.setup.Observe(g.clock.Now().Sub(start).Seconds())
		c.log.Info("sipgw: call answered", "codec", c.codec, "srtp", c.srtp != nil, "rtpPort", c.media.port,
			"sessionExpires", c.timer.interval)
		if c.app != nil {
			c.app.start(g.ctx)
		}
		noAck := make(chan struct{})
		c.wg.Go(func() {
			if !c.resend2xx(tx, res, acked) {
				close(noAck)
			}
		})
		reason, bye = c.loop(acked, noAck)
	}
	c.end(reason, bye)
}

// srtpTx is the SRTP context the sender encrypts with; nil for plain RTP.
func (c *call) srtpTx() *srtp.Context {
	if c.srtp == nil {
		return nil
	}
	return c.srtp.tx
}

// okResponse builds a 2xx to an INVITE or UPDATE of the call.
func (c *call) okResponse(req *sip.Request, body []byte, timer sessionTimer) *sip.Response {
	res := sip.NewResponseFromRequest(req, 200, "OK", body)
	if body != nil {
		res.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	}
	res.AppendHeader(c.contact.Clone())
	res.AppendHeader(sip.NewHeader("Allow", allowMethods))
	res.AppendHeader(sip.NewHeader("Supported", supported))
	for _, h := range timer.headers() {
		res.AppendHeader(h)
	}
	return res
}

// expectAck registers a 2xx to an INVITE (initial or re-INVITE) with CSeq
// seq: acked is closed by its ACK. cancel forgets it.
func (c *call) expectAck(seq uint32) (acked <-chan struct{}, cancel func()) {
	ch := make(chan struct{})
	c.acksMu.Lock()
	c.acks[seq] = ch
	c.acksMu.Unlock()
	return ch, func() {
		c.acksMu.Lock()
		if c.acks[seq] == ch {
			delete(c.acks, seq)
		}
		c.acksMu.Unlock()
	}
}

// resend2xx retransmits the 2xx res to an INVITE until acked is closed,
// T1 doubling up to T2 (RFC 3261 §13.3.1.4: the UAS core, not the
// transaction layer, retransmits 2xx; RFC 6026). It reports false when
// 64·T1 pass without the ACK — the session must then end — or when the
// call ends or the gateway closes first.
func (c *call) resend2xx(tx sip.ServerTransaction, res *sip.Response, acked <-chan struct{}) bool {
	interval := sip.T1
	retx := time.NewTimer(interval)
	defer retx.Stop()
	giveUp := time.NewTimer(64 * sip.T1)
	defer giveUp.Stop()
	for {
		select {
		case <-acked:
			return true
		case <-retx.C:
			_ = tx.Respond(res)
			interval = min(2*interval, sip.T2)
			retx.Reset(interval)
		case <-giveUp.C:
			return false
		case <-c.ended:
			return false
		case <-c.g.closing:
			return false
		}
	}
}

// housekeeping is how often a call checks its timers and flushes metrics.
func (c *call) housekeeping() time.Duration {
	return max(20*time.Millisecond, min(time.Second, c.g.cfg.RTPTimeout/4, c.g.cfg.NoMediaTimeout/4))
}

// loop serves the answered call: acked closes with the ACK of its 2xx,
// noAck when that never came (RFC 3261 §13.3.1.4: end the session). It
// returns why the call ends and whether the gateway must send BYE.
func (c *call) loop(acked, noAck <-chan struct{}) (string, bool) {
	ticks, stop := c.g.clock.Tick(c.housekeeping())
	defer stop()
	// A token call ends with its attendee or seat; an app call when its
	// application hangs up.
	var legDone, kicked <-chan struct{}
	var hangups <-chan int
	if c.app != nil {
		hangups = c.app.hangups
	} else {
		legDone, kicked = c.leg.Done(), c.seat.kick
	}
	for {
		select {
		case <-acked:
			c.refreshed, acked = c.g.clock.Now(), nil
		case <-noAck:
			return "no ACK", true
		case op := <-c.ops:
			op.reply <- c.apply(op)
		case now := <-ticks:
			c.g.metrics.flush(c.media, &c.counters)
			if c.plan.expectsRTP() && now.Sub(time.Unix(0, c.media.lastRTP.Load())) > c.g.cfg.RTPTimeout {
				return "rtp timeout", true
			}
			if c.media.received.Load() == 0 && now.Sub(c.answered) > c.g.cfg.NoMediaTimeout {
				return "no media", true
			}
			if c.timer.interval > 0 && now.After(c.timer.deadline(c.refreshed)) {
				return "session expired", true
			}
		case <-legDone:
			return "attendee removed", true
		case <-kicked:
			return "replaced", true
		case <-hangups:
			return "application hangup", true
		case <-c.media.failed:
			return "media error", true
		case <-c.g.closing:
			return "shutdown", true
		case <-c.dlg.Context().Done():
			return "bye", false
		}
	}
}

// end tears the call down, sending BYE if asked to; only its first call
// does anything. The leg leaves first, so the mixer stops feeding a call
// that is over, and the attendee's seat is given back at once, so that a
// call replacing this one can join.
func (c *call) end(reason string, bye bool) {
	c.endOnce.Do(func() { c.endOnce1(reason, bye) })
}

func (c *call) endOnce1(reason string, bye bool) {
	close(c.ended)
	c.wg.Wait() // the retransmitter stops with ended
	if c.app != nil {
		c.app.stop() // HANGUP goes to the application meanwhile; waited for below
	} else {
		c.leg.Leave()
		c.g.seats.release(c.seat)
	}
	if bye {
		ctx, cancel := context.WithTimeout(context.Background(), byeTimeout)
		if err := c.dlg.Bye(ctx); err != nil {
			c.log.Info("sipgw: BYE failed", "err", err)
		}
		cancel()
	}
	c.media.close()
	if c.app != nil {
		c.app.wait()
	}
	c.g.unregister(c) // only now: the ACK or BYE of a call being hung up still gets in
	c.g.metrics.flush(c.media, &c.counters)
	c.g.metrics.ended.WithLabelValues(reason).Inc()
	c.log.Info("sipgw: call ended", "reason", reason,
		"expected", c.counters.expected, "received", c.counters.received, "late", c.counters.late,
		"rejected", c.counters.rejected, "invalid", c.counters.invalid, "lateTicks", c.counters.lateTicks,
		"dropped", c.counters.dropped)
}

// apply runs a re-offer or refresh on the dialog goroutine.
func (c *call) apply(op callOp) opResult {
	now := c.g.clock.Now()
	o := op.offer
	if o == nil || (o.sd.Origin.SessionID == c.offerID && o.version == c.offerVer) {
		// A refresh, or a re-offer of the same SDP: the same answer, same
		// o= version.
		c.refreshed, c.timer = now, op.timer
		return opResult{sdp: c.lastAnswer, timer: c.timer}
	}
	p, ref := negotiate(o, c.requireSRTP, c.codec)
	if ref != nil {
		return opResult{ref: ref}
	}
	if (p.crypto == nil) != (c.srtp == nil) {
		return opResult{ref: refuse(488, "SRTP change not supported")}
	}
	if p.crypto != nil && !c.srtp.sameKey(*p.crypto) {
		if p.crypto.suite.profile == c.srtp.offer.suite.profile {
			if err := c.srtp.rekeyRx(*p.crypto); err != nil {
				return opResult{ref: refuseNoCrypto}
			}
		} else {
			sess, err := newSRTPSession(*p.crypto)
			if err != nil {
				return opResult{ref: refuseNoCrypto}
			}
			c.srtp = sess
		}
	}
	cfg := rxConfig{pt: p.pt, tePT: p.tePT}
	if c.srtp != nil {
		cfg.srtp = c.srtp.rx
	}
	c.media.rxCfg.Store(&cfg)
	c.media.setTx(p.pt, c.srtpTx(), p.sending())
	if p.remote.IsValid() {
		c.media.setRemote(p.remote)
	}
	if !c.plan.expectsRTP() && p.expectsRTP() {
		c.media.lastRTP.Store(now.UnixNano()) // the RTP timeout starts over on unhold
	}
	if m := p.muted(); m != c.muted {
		c.muted = m
		if c.leg != nil {
			c.leg.SetMuted(m)
		}
		c.log.Info("sipgw: call hold changed", "held", m, "direction", p.dir)
	}
	c.plan = p
	c.refreshed, c.timer = now, op.timer
	c.offerVer, c.offerID = o.version, o.sd.Origin.SessionID
	c.lastAnswer = c.ans.render(o, p, c.srtp, p.dir.reverse())
	return opResult{sdp: c.lastAnswer, timer: c.timer}
}

// post hands an op to the dialog goroutine and waits for its result.
func (c *call) post(op callOp) opResult {
	op.reply = make(chan opResult, 1)
	select {
	case c.ops <- op:
	case <-c.ended:
		return opResult{ref: refuse(481, "Call/Transaction Does Not Exist")}
	}
	return <-op.reply
}

// ack handles an ACK of the call (initial INVITE or re-INVITE): it
// confirms the 2xx of its CSeq, if one awaits it.
func (c *call) ack(req *sip.Request, tx sip.ServerTransaction) {
	_ = c.dlg.ReadAck(req, tx)
	seq := req.CSeq().SeqNo
	c.acksMu.Lock()
	if ch := c.acks[seq]; ch != nil {
		close(ch)
		delete(c.acks, seq)
	}
	c.acksMu.Unlock()
}

// dtmf reports one digit.
func (c *call) dtmf(d rune, method string) {
	c.g.metrics.dtmf.WithLabelValues(method).Inc()
	if c.app != nil {
		c.app.sess.Digit(d)
		return
	}
	if c.g.p.OnDTMF != nil {
		c.g.p.OnDTMF(c.id, d)
	}
}

// digit reports a SIP INFO digit.
func (c *call) digit(d rune) { c.dtmf(d, "info") }

// onReinvite handles an INVITE within a dialog: hold, unhold, a new
// address or key, or a session refresh.
func (g *Gateway) onReinvite(req *sip.Request, tx sip.ServerTransaction) {
	c := g.lookup(req)
	if c == nil {
		g.respond(req, tx, refuse(481, "Call/Transaction Does Not Exist"))
		return
	}
	if err := c.dlg.ReadRequest(req, tx); err != nil {
		g.respond(req, tx, refuse(500, "CSeq out of order", [2]string{"Retry-After", "1"}))
		return
	}
	op, ref := c.offerOp(req)
	if ref == nil {
		r := c.post(op)
		ref = r.ref
		if ref == nil {
			c.answerReinvite(req, tx, r.sdp, r.timer)
			return
		}
	}
	g.respond(req, tx, ref)
}

// offerOp reads a re-INVITE's or UPDATE's SDP and session timer.
func (c *call) offerOp(req *sip.Request) (callOp, *refusal) {
	var op callOp
	timer, ref := c.g.negotiateTimer(req)
	if ref != nil {
		return op, ref
	}
	op.timer = timer
	if body, ok := sdpOffer(req); ok {
		o, err := parseOffer(body)
		if err != nil {
			return op, refuseBadSDP
		}
		op.offer = o
	} else if len(req.Body()) > 0 {
		return op, refuse(415, "Unsupported Media Type", [2]string{"Accept", "application/sdp"})
	}
	return op, nil
}

// answerReinvite sends the 2xx of a re-INVITE and retransmits it until
// its ACK (resend2xx).
func (c *call) answerReinvite(req *sip.Request, tx sip.ServerTransaction, sdp []byte, timer sessionTimer) {
	res := c.okResponse(req, sdp, timer)
	acked, cancel := c.expectAck(req.CSeq().SeqNo)
	defer cancel()
	if err := tx.Respond(res); err != nil {
		return
	}
	c.resend2xx(tx, res, acked)
}

// onUpdate handles UPDATE (RFC 3311): a session refresh, with or without
// a new offer. It has no ACK.
func (g *Gateway) onUpdate(req *sip.Request, tx sip.ServerTransaction) {
	c := g.lookup(req)
	if c == nil {
		g.respond(req, tx, refuse(481, "Call/Transaction Does Not Exist"))
		return
	}
	if err := c.dlg.ReadRequest(req, tx); err != nil {
		g.respond(req, tx, refuse(500, "CSeq out of order", [2]string{"Retry-After", "1"}))
		return
	}
	op, ref := c.offerOp(req)
	if ref == nil {
		r := c.post(op)
		if ref = r.ref; ref == nil {
			var body []byte
			if op.offer != nil {
				body = r.sdp
			}
			if err := tx.Respond(c.okResponse(req, body, r.timer)); err != nil {
				c.log.Debug("sipgw: respond to UPDATE failed", "err", err)
			}
			return
		}
	}
	g.respond(req, tx, ref)
}

// sourceIP is the address a request came from (unmapped), or the zero
// Addr.
func sourceIP(req *sip.Request) netip.Addr {
	ap, err := netip.ParseAddrPort(req.Source())
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr().Unmap()
}

// srtpRequired reports whether a caller signalling from ip must use SRTP:
// always with Config.RequireSRTP, and for every caller off loopback unless
// Config.AllowPlainRTP.
func (g *Gateway) srtpRequired(ip netip.Addr) bool {
	return g.cfg.RequireSRTP || (!g.cfg.AllowPlainRTP && !ip.IsLoopback())
}

// isClosed reports whether ch is closed.
func isClosed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}
