package sipgw

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/confab-media/confab/internal/guard"
	"github.com/confab-media/confab/sma"
)

// Dial-out: a SIP media application places a call
// (CreateSipMediaApplicationCall) through the configured outbound trunk.
// The gateway sends the INVITE (plain RTP/AVP: PCMU, PCMA and
// telephone-event; digest authentication when the trunk challenges), and
// once answered the call runs the application like an inbound app call:
// prompts, digits, RecordAudio, JoinChimeMeeting. The callee's BYE, the
// application's Hangup, an RTP timeout or Close end it.

// ErrNoTrunk: Config.Outbound has no trunk host.
var ErrNoTrunk = errors.New("sipgw: no outbound trunk is configured")

// ErrClosed: the gateway is closing.
var ErrClosed = errors.New("sipgw: closed")

// dialOutUDP keys the DialogUA of placed calls over UDP, which sends from
// the UDP listener.
const dialOutUDP = "udp-out"

// answerTimeout bounds how long a placed call may ring.
const answerTimeout = 60 * time.Second

// outCall is a call the gateway placed.
type outCall struct {
	c   *call
	dlg *sipgo.DialogClientSession
}

// Dial places a call from from to to (E.164) for app through the trunk and
// returns its transaction id at once; the call goes on in the background.
func (g *Gateway) Dial(app *sma.Application, from, to string, args map[string]string) (string, error) {
	if g.cfg.Outbound.Host == "" {
		return "", ErrNoTrunk
	}
	if g.p.Apps == nil {
		return "", errors.New("sipgw: no SIP media applications")
	}
	g.mu.Lock()
	if g.closed {
		g.mu.Unlock()
		return "", ErrClosed
	}
	g.handlers.Add(1) // Close waits for the call
	g.mu.Unlock()
	sess := g.p.Apps.NewOutboundSession(sma.OutboundInfo{App: app, From: from, To: to, Arguments: args})
	go func() {
		defer g.handlers.Done()
		g.dialOut(sess, app, from, to)
	}()
	return sess.TransactionID(), nil
}

func (g *Gateway) dialOut(sess *sma.Session, app *sma.Application, from, to string) {
	log := g.log.With("sma", app.ID, "transaction", sess.TransactionID(), "to", to, "direction", "outbound")
	defer guard.Recover(log, g.p.Panics, "sipgw dial-out", func(any) { sess.End() })
	ctx := g.ctx
	trunk := g.cfg.Outbound
	host, portStr, err := net.SplitHostPort(trunk.Host)
	if err != nil {
		host, portStr = trunk.Host, "5060"
	}
	port, _ := strconv.Atoi(portStr)
	transport := trunk.transport()
	dua := g.dialogUAs[transport]
	if transport == "udp" {
		dua = g.dialogUAs[dialOutUDP]
	}
	rtpConn, rtcpConn, err := g.ports.alloc(g.bindIP)
	if err != nil {
		log.Warn("sipgw: dial-out: no RTP ports", "err", err)
		sess.NotAnswered(ctx)
		return
	}
	release := func() { _ = rtpConn.Close(); _ = rtcpConn.Close() }
	ip := g.advertisedIP(net.JoinHostPort(host, strconv.Itoa(port)))
	recipient := sip.Uri{Scheme: "sip", User: to, Host: host, Port: port}
	if transport != "udp" {
		recipient.UriParams = sip.NewParams()
		recipient.UriParams.Add("transport", transport)
	}
	fromHdr := &sip.FromHeader{Address: sip.Uri{Scheme: "sip", User: from, Host: ip.String()}, Params: sip.NewParams()}
	fromHdr.Params.Add("tag", sip.GenerateTagN(16))
	sess.Dialing(ctx)
	dlg, err := dua.Invite(ctx, recipient, outboundOffer(ip, rtpConn.LocalAddr().(*net.UDPAddr).Port), fromHdr,
		sip.NewHeader("Content-Type", "application/sdp"), sip.NewHeader("Allow", allowMethods))
	if err == nil {
		actx, cancel := context.WithTimeout(ctx, answerTimeout)
		err = dlg.WaitAnswer(actx, sipgo.AnswerOptions{Username: trunk.Username, Password: trunk.Password})
		cancel()
	}
	if err == nil {
		err = dlg.Ack(ctx)
	}
	var n *negotiated
	if err == nil {
		n, err = answerPlan(dlg.InviteResponse, host)
	}
	if err != nil {
		log.Info("sipgw: dial-out not answered", "err", err)
		if dlg != nil {
			if dlg.InviteResponse != nil && dlg.InviteResponse.IsSuccess() {
				g.byeOut(dlg, log)
			}
			_ = dlg.Close()
		}
		release()
		sess.NotAnswered(ctx)
		return
	}
	a := &appCall{sess: sess, hangups: make(chan int, 1), release: func() {}}
	c, _, ref := g.callOn(rtpConn, rtcpConn, ip, log, n,
		func(b []byte, ts uint32, level int8) error { return a.push(b, ts, level) },
		func(pcm []int16, ts uint32, level int8) error { return a.pushPCM(pcm, ts, level) })
	if ref == nil {
		a.c, c.app = c, a
		a.player, err = newPrompter(g.clock, n.plan.codec, c.media.mix)
	}
	if ref != nil || err != nil {
		g.byeOut(dlg, log)
		_ = dlg.Close()
		sess.NotAnswered(ctx)
		return
	}
	oc := &outCall{c: c, dlg: dlg}
	g.mu.Lock()
	g.outbound[dlg.InviteRequest.CallID().Value()] = oc
	g.mu.Unlock()
	defer func() {
		g.mu.Lock()
		delete(g.outbound, dlg.InviteRequest.CallID().Value())
		g.mu.Unlock()
		_ = dlg.Close()
	}()
	c.media.start()
	c.media.setTx(n.plan.pt, nil, true)
	log.Info("sipgw: dial-out answered", "codec", c.codec)
	reason, bye, ran := "handler failed", true, false
	if sess.Answered(ctx) {
		a.start(ctx)
		reason, bye = oc.loop()
		ran = true
	}
	a.stop()
	if bye {
		g.byeOut(dlg, log)
	}
	c.media.close()
	a.wait()
	if !ran {
		sess.NotAnswered(ctx) // HANGUP: the Session never ran to send it
	}
	log.Info("sipgw: dial-out ended", "reason", reason)
}

// loop serves an answered placed call until it ends.
func (oc *outCall) loop() (string, bool) {
	c := oc.c
	ticks, stop := c.g.clock.Tick(c.housekeeping())
	defer stop()
	for {
		select {
		case <-c.app.hangups:
			return "application hangup", true
		case <-oc.dlg.Context().Done():
			return "bye", false
		case now := <-ticks:
			if now.Sub(time.Unix(0, c.media.lastRTP.Load())) > c.g.cfg.RTPTimeout {
				return "rtp timeout", true
			}
		case <-c.media.failed:
			return "media error", true
		case <-c.g.closing:
			return "shutdown", true
		}
	}
}

func (g *Gateway) byeOut(dlg *sipgo.DialogClientSession, log interface{ Info(string, ...any) }) {
	ctx, cancel := context.WithTimeout(context.Background(), byeTimeout)
	defer cancel()
	if err := dlg.Bye(ctx); err != nil {
		log.Info("sipgw: dial-out BYE failed", "err", err)
	}
}

// outboundFor returns the placed call an in-dialog request belongs to.
func (g *Gateway) outboundFor(req *sip.Request) *outCall {
	id := req.CallID()
	if id == nil {
		return nil
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.outbound[id.Value()]
}

// outboundOffer is the SDP offer of a placed call: plain RTP, PCMU and
// PCMA with telephone-event.
func outboundOffer(ip netip.Addr, port int) []byte {
	var rnd [8]byte
	_, _ = rand.Read(rnd[:])
	id := binary.BigEndian.Uint64(rnd[:]) >> 1
	return fmt.Appendf(nil, "v=0\r\no=confab %d 1 IN IP4 %s\r\ns=-\r\nc=IN IP4 %s\r\nt=0 0\r\n"+
		"m=audio %d RTP/AVP 0 8 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\n"+
		"a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\na=ptime:20\r\na=sendrecv\r\n", id, ip, ip, port)
}

// answerPlan reads the callee's SDP answer: its codec (one the offer had)
// and address.
func answerPlan(res *sip.Response, trunkHost string) (*negotiated, error) {
	if res == nil || len(res.Body()) == 0 {
		return nil, errors.New("2xx without an SDP answer")
	}
	o, err := parseOffer(res.Body())
	if err != nil {
		return nil, fmt.Errorf("SDP answer: %w", err)
	}
	p, ref := negotiate(o, false, 0)
	if ref != nil {
		return nil, fmt.Errorf("SDP answer: %s", ref.reason)
	}
	if p.codec == codecOpus {
		return nil, errors.New("SDP answer picked a codec the offer did not have")
	}
	n := &negotiated{offer: o, plan: p}
	if ip, err := netip.ParseAddr(trunkHost); err == nil {
		n.signalIP = ip.Unmap()
	} else if p.remote.IsValid() {
		n.signalIP = p.remote.Addr()
	}
	return n, nil
}
