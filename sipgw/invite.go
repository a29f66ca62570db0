package sipgw

import (
	"errors"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/confab-media/confab/signaling/meeting"
)

// tokenParam is the Request-URI parameter that carries the join token, as
// the Chime SDK's SIP media applications pass it.
const tokenParam = "X-chime-join-token"

// checkRequest applies the checks that need no state, in order: Require
// option tags, the dialled number, the caller ID. It returns nil when the
// request may proceed to token verification.
func (g *Gateway) checkRequest(req *sip.Request) *refusal {
	if bad := unsupportedRequire(req); len(bad) > 0 {
		if len(bad) == 1 && bad[0] == "100rel" {
			return refuse100rel
		}
		return refuse(420, "Bad Extension", [2]string{"Unsupported", strings.Join(bad, ", ")})
	}
	if req.Recipient.User != g.cfg.DialInNumber {
		return refuseNumber
	}
	from := req.From()
	if from == nil || !isE164(from.Address.User) {
		return refuseFromNotE164
	}
	return nil
}

// unsupportedRequire returns the Require option tags the gateway does not
// support (it supports "timer" only; RFC 3261 §8.2.2.3).
func unsupportedRequire(req *sip.Request) []string {
	var bad []string
	for _, h := range req.GetHeaders("Require") {
		for _, tag := range strings.Split(h.Value(), ",") {
			tag = strings.ToLower(strings.TrimSpace(tag))
			if tag != "" && tag != supported {
				bad = append(bad, tag)
			}
		}
	}
	return bad
}

// joinToken returns the Request-URI's join token: the parameter name is
// matched case-insensitively (RFC 3261 §19.1.4) and the value
// percent-decoded.
func joinToken(req *sip.Request) (string, bool) {
	for _, kv := range req.Recipient.UriParams {
		if strings.EqualFold(kv.K, tokenParam) {
			v, err := url.PathUnescape(kv.V)
			if err != nil || v == "" {
				return "", false
			}
			return v, true
		}
	}
	return "", false
}

// verify checks the join token and maps the verification errors to SIP.
func (g *Gateway) verify(req *sip.Request) (meeting.Identity, *refusal) {
	token, ok := joinToken(req)
	if !ok {
		return meeting.Identity{}, refuseNoToken
	}
	id, err := g.p.Auth.Verify(token)
	switch {
	case err == nil:
	case errors.Is(err, meeting.ErrMeetingEnded):
		return id, refuseEnded
	case errors.Is(err, meeting.ErrTokenRevoked):
		return id, refuseRevoked
	default:
		return id, refuseBadToken
	}
	if id.Content {
		return id, refuse(403, "Content-share token not accepted")
	}
	return id, nil
}

// sessionTimer is the RFC 4028 session timer of a call
// (https://www.rfc-editor.org/rfc/rfc4028): the caller refreshes
// (refresher=uac) and the gateway sends BYE when no refresh came in time.
type sessionTimer struct {
	interval time.Duration // 0: no session timer
}

// headers returns the headers of a 2xx that uses the timer.
func (t sessionTimer) headers() []sip.Header {
	if t.interval == 0 {
		return nil
	}
	return []sip.Header{
		sip.NewHeader("Session-Expires", strconv.Itoa(int(t.interval/time.Second))+";refresher=uac"),
		sip.NewHeader("Require", "timer"),
	}
}

// deadline is when the gateway gives up on a refresh made at t: the
// session interval minus the lesser of 32 s and a third of it (§10).
func (t sessionTimer) deadline(refreshed time.Time) time.Time {
	return refreshed.Add(t.interval - min(32*time.Second, t.interval/3))
}

// negotiateTimer reads Session-Expires, Min-SE and Supported from a
// request (INVITE, re-INVITE or UPDATE). A session interval below the
// gateway's minimum gets 422 with Min-SE.
func (g *Gateway) negotiateTimer(req *sip.Request) (sessionTimer, *refusal) {
	se, hasSE := headerSeconds(req, "Session-Expires", "x")
	minSE, _ := headerSeconds(req, "Min-SE", "")
	if hasSE && se < g.cfg.MinSessionExpires {
		return sessionTimer{}, refuse(422, "Session Interval Too Small",
			[2]string{"Min-SE", strconv.Itoa(int(g.cfg.MinSessionExpires / time.Second))})
	}
	if !hasOptionTag(req, "Supported", "k", supported) && !hasOptionTag(req, "Require", "", supported) {
		// The caller cannot refresh; the RTP timeout still ends dead calls.
		return sessionTimer{}, nil
	}
	interval := g.cfg.SessionExpires
	if hasSE {
		interval = min(se, interval)
	}
	interval = max(interval, minSE, g.cfg.MinSessionExpires)
	return sessionTimer{interval: interval}, nil
}

// headerSeconds parses the delta-seconds of a header like Session-Expires
// ("1800;refresher=uac").
func headerSeconds(req *sip.Request, name, compact string) (time.Duration, bool) {
	h := req.GetHeader(name)
	if h == nil && compact != "" {
		h = req.GetHeader(compact)
	}
	if h == nil {
		return 0, false
	}
	v, _, _ := strings.Cut(h.Value(), ";")
	n, err := strconv.ParseUint(strings.TrimSpace(v), 10, 32)
	if err != nil {
		return 0, false
	}
	return time.Duration(n) * time.Second, true
}

// hasOptionTag reports whether a header (or its compact form) lists tag.
func hasOptionTag(req *sip.Request, name, compact, tag string) bool {
	hs := req.GetHeaders(name)
	if compact != "" {
		hs = append(hs, req.GetHeaders(compact)...)
	}
	for _, h := range hs {
		for _, t := range strings.Split(h.Value(), ",") {
			if strings.EqualFold(strings.TrimSpace(t), tag) {
				return true
			}
		}
	}
	return false
}

// sdpOffer returns the request's SDP offer, or nil if it has none.
func sdpOffer(req *sip.Request) ([]byte, bool) {
	body := req.Body()
	if len(body) == 0 {
		return nil, false
	}
	if ct := req.ContentType(); ct != nil {
		v, _, _ := strings.Cut(ct.Value(), ";")
		if !strings.EqualFold(strings.TrimSpace(v), "application/sdp") {
			return nil, false
		}
	}
	return body, true
}
