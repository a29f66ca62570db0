package sipgw

import (
	"context"
	"net"
	"net/url"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/confab-media/confab/signaling/meeting"
)

// Locator finds where a meeting lives in a cluster (package cluster). A
// gateway without one hosts every meeting itself.
type Locator interface {
	// MeetingSIP returns the SIP UDP address (host:port) of the node
	// hosting meetingID, or "" when that is this node or no node hosts
	// it (the gateway then answers as usual). An error (the hosting node
	// is gone, the cluster state unreachable) refuses the call with 503.
	MeetingSIP(ctx context.Context, meetingID string) (string, error)
}

// HandoverAddr is the address other cluster nodes hand this node's calls
// over to (cluster.Cluster.SetSIP): the gateway's UDP listen address, with
// publicIP, or failing that publicURL's host, for an unspecified (or
// non-IP) listen host.
func HandoverAddr(udp net.Addr, publicIP, publicURL string) string {
	host, port, err := net.SplitHostPort(udp.String())
	if err != nil {
		return udp.String()
	}
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
		host = publicIP
		if host == "" {
			if u, err := url.Parse(publicURL); err == nil {
				host = u.Hostname()
			}
		}
	}
	return net.JoinHostPort(host, port)
}

// headerHandover marks an INVITE one node's gateway handed over to
// another's (its value: the sending gateway's address). The receiving
// gateway then sends in-dialog requests to the caller's Contact, not to
// the INVITE's source (the other node). A caller who sets it only gets the
// standard RFC 3261 behaviour instead of the NAT-friendly one.
const headerHandover = "X-Confab-Handover"

// handoverUA keys the dialog UA of handed-over calls in Gateway.dialogUAs.
const handoverUA = "handover"

// handoverTimeout bounds a handed-over INVITE transaction (RFC 3261 Timer
// B: 64 × T1).
const handoverTimeout = 32 * time.Second

// hostElsewhere reports the SIP address of the node that hosts the
// meeting of req's join token, when that is another node. The token is
// only read for its meeting ID here: the hosting node verifies it.
func (g *Gateway) hostElsewhere(req *sip.Request) (string, *refusal) {
	if g.p.Locator == nil {
		return "", nil
	}
	token, ok := joinToken(req)
	if !ok {
		return "", nil
	}
	meetingID, ok := meeting.TokenMeetingID(token)
	if !ok {
		return "", nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	addr, err := g.p.Locator.MeetingSIP(ctx, meetingID)
	if err != nil {
		g.log.Info("sipgw: cannot hand a call over", "meeting", meetingID, "err", err)
		return "", refuse(503, "Service Unavailable")
	}
	return addr, nil
}

// handOver passes a caller's INVITE to the gateway of the node hosting its
// meeting and relays that node's answers back, as a transaction-stateful
// proxy (RFC 3261 §16) that does not Record-Route: once the INVITE
// transaction ends, the dialog (ACK, BYE, re-INVITE) and the media run
// between the caller and the hosting node, whose Contact and SDP the
// caller got. A trunk that does not follow redirects needs nothing more.
func (g *Gateway) handOver(req *sip.Request, tx sip.ServerTransaction, addr string) {
	g.metrics.handedOver.Inc()
	log := g.log.With("callID", req.CallID().Value(), "to", addr)
	out := req.Clone()
	out.SetDestination(addr)
	out.SetTransport("UDP")
	out.Laddr = sip.Addr{}
	out.RemoveHeader(headerHandover) // a caller's own is not passed on
	out.AppendHeader(sip.NewHeader(headerHandover, g.udp.LocalAddr().String()))
	ctx, cancel := context.WithTimeout(context.Background(), handoverTimeout)
	defer cancel()
	ctl, err := g.cli.TransactionRequest(ctx, out, sipgo.ClientRequestAddVia, sipgo.ClientRequestDecreaseMaxForward)
	if err != nil {
		log.Info("sipgw: hand-over failed", "err", err)
		g.respond(req, tx, refuse(503, "Service Unavailable"))
		return
	}
	defer ctl.Terminate()
	back := sip.NewResponseFromRequest(req, 100, "Trying", nil)
	cancelled := make(chan struct{})
	tx.OnCancel(func(*sip.Request) { close(cancelled) })
	for {
		select {
		case res := <-ctl.Responses():
			relayed := res.Clone()
			relayed.RemoveHeader("Via") // ours, the top one
			// Back where the caller's INVITE came from (its Via's
			// received/rport, else the connection's source), not
			// where the hosting node sent the response.
			relayed.SetDestination(back.Destination())
			relayed.SetTransport(back.Transport())
			if err := tx.Respond(relayed); err != nil {
				log.Debug("sipgw: relay response", "err", err)
			}
			if res.StatusCode >= 200 {
				log.Info("sipgw: call handed over", "status", res.StatusCode)
				return
			}
		case <-cancelled:
			cancelled = nil
			c := cancelOf(out)
			if err := g.cli.WriteRequest(c); err != nil {
				log.Debug("sipgw: relay CANCEL", "err", err)
			}
		case <-ctl.Done():
			log.Info("sipgw: hand-over got no final answer", "err", ctl.Err())
			g.respond(req, tx, refuse(504, "Server Time-out"))
			return
		case <-ctx.Done():
			g.respond(req, tx, refuse(503, "Service Unavailable"))
			return
		case <-tx.Done():
			return // the caller's transaction ended (it gave up)
		case <-g.closing:
			g.respond(req, tx, refuse(503, "Service Unavailable"))
			return
		}
	}
}

// cancelOf builds the CANCEL of the INVITE we sent (RFC 3261 §9.1: same
// Request-URI, Call-ID, From, To, CSeq number and top Via).
func cancelOf(inv *sip.Request) *sip.Request {
	c := sip.NewRequest(sip.CANCEL, inv.Recipient)
	c.AppendHeader(sip.HeaderClone(inv.Via()))
	c.AppendHeader(sip.HeaderClone(inv.From()))
	c.AppendHeader(sip.HeaderClone(inv.To()))
	c.AppendHeader(sip.HeaderClone(inv.CallID()))
	if cseq := inv.CSeq(); cseq != nil {
		c.AppendHeader(&sip.CSeqHeader{SeqNo: cseq.SeqNo, MethodName: sip.CANCEL})
	}
	c.AppendHeader(sip.NewHeader("Max-Forwards", "70"))
	c.SetDestination(inv.Destination())
	c.SetTransport(inv.Transport())
	return c
}
