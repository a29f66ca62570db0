// Package phone is the bench's synthetic phone caller: a SIP user agent
// (emiago/sipgo) that dials a Confab SIP gateway's number with a join token
// as the Request-URI parameter X-chime-join-token, as a PBX trunk or a
// softphone does, and speaks G.711 (PCMU or PCMA, RFC 3551 §4.5.14) or
// Opus (RFC 7587) at 50 packets/s, over plain RTP or SRTP keyed by SDES
// (RFC 4568). Talkers send a tone in bursts; every caller
// decodes what the gateway mixes for it and records tone onsets, so the
// bench measures mouth-to-ear latency between phones and WebRTC attendees
// in both directions with the same method ([attendee.Bursts],
// [attendee.OnsetDetector]).
//
// One [Dialer] (one UDP socket for SIP, which it listens and sends on, as
// a phone does) places many [Call]s; each call has its own RTP socket, one
// sending and one receiving goroutine, and reuses its buffers.
//
// For a SIP media application's PIN flow a call dials the application's
// number without a join token and keys Config.Digits as RFC 4733
// telephone-events once answered (dtmf.go).
package phone

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// Dialer is a SIP user agent listening on one UDP port of 127.0.0.1 (or
// the given address), from which every call's requests go out.
type Dialer struct {
	ua     *sipgo.UserAgent
	cli    *sipgo.Client
	srv    *sipgo.Server
	cache  *sipgo.DialogClientCache
	conn   net.PacketConn
	served chan struct{}
	host   string
}

// NewDialer starts a user agent on a UDP socket bound to listen
// ("127.0.0.1:0" for loopback).
func NewDialer(listen string, log *slog.Logger) (*Dialer, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	conn, err := net.ListenPacket("udp4", listen)
	if err != nil {
		return nil, fmt.Errorf("phone: listen: %w", err)
	}
	host, _, _ := net.SplitHostPort(conn.LocalAddr().String())
	ua, err := sipgo.NewUA(sipgo.WithUserAgent("confab-bench"),
		sipgo.WithUserAgentTransportLayerOptions(sip.WithTransportLayerLogger(log)),
		sipgo.WithUserAgentTransactionLayerOptions(sip.WithTransactionLayerLogger(log)))
	if err != nil {
		_ = conn.Close()
		return nil, err
	}
	d := &Dialer{ua: ua, conn: conn, served: make(chan struct{}), host: host}
	fail := func(err error) (*Dialer, error) {
		_ = ua.Close()
		_ = conn.Close()
		return nil, err
	}
	if d.cli, err = sipgo.NewClient(ua, sipgo.WithClientLogger(log), sipgo.WithClientConnectionAddr(conn.LocalAddr().String())); err != nil {
		return fail(err)
	}
	if d.srv, err = sipgo.NewServer(ua, sipgo.WithServerLogger(log)); err != nil {
		return fail(err)
	}
	d.cache = sipgo.NewDialogClientCache(d.cli, sip.ContactHeader{Address: sip.Uri{Scheme: "sip", User: "bench", Host: host}})
	// The gateway ends calls with BYE (meeting ended, attendee removed).
	d.srv.OnBye(func(req *sip.Request, tx sip.ServerTransaction) {
		if err := d.cache.ReadBye(req, tx); err != nil {
			_ = tx.Respond(sip.NewResponseFromRequest(req, 481, "Call/Transaction Does Not Exist", nil))
		}
	})
	go func() { defer close(d.served); _ = d.srv.ServeUDP(conn) }()
	// Requests may go out only once the listener is in the pool (else the
	// client binds a second socket to the same address).
	pool := ua.TransportLayer().Pool("udp")
	for deadline := time.Now().Add(5 * time.Second); pool.Get(conn.LocalAddr().String()) == nil; {
		if time.Now().After(deadline) {
			d.Close()
			return nil, errors.New("phone: the SIP listener did not start")
		}
		time.Sleep(time.Millisecond)
	}
	return d, nil
}

// Close stops the user agent and its listener; calls must be hung up or
// closed first.
func (d *Dialer) Close() {
	_ = d.ua.Close()
	_ = d.conn.Close()
	<-d.served
}

// invite sends INVITE to uri with the SDP offer and waits for the final
// answer; on 2xx it sends ACK.
func (d *Dialer) invite(ctx context.Context, uri sip.Uri, from string, offer []byte) (*sipgo.DialogClientSession, error) {
	fromHdr := &sip.FromHeader{Address: sip.Uri{Scheme: "sip", User: from, Host: d.host}, Params: sip.NewParams()}
	fromHdr.Params.Add("tag", sip.GenerateTagN(12))
	sess, err := d.cache.Invite(ctx, uri, offer, fromHdr, sip.NewHeader("Content-Type", "application/sdp"))
	if err != nil {
		return nil, err
	}
	if err := sess.WaitAnswer(ctx, sipgo.AnswerOptions{}); err != nil {
		_ = sess.Close()
		return nil, err
	}
	if err := sess.Ack(ctx); err != nil {
		_ = sess.Close()
		return nil, err
	}
	return sess, nil
}
