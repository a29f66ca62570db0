package sipgw

import (
	"strconv"

	"github.com/emiago/sipgo/sip"
)

// Registration answers (RFC 3261 section 10.3). The gateway is dial-in
// only: it never calls a phone, so it keeps no bindings. Softphones
// (Linphone, Zoiper, baresip) register by default and show an error on
// 405; a REGISTER is therefore answered 200 OK echoing the request's
// Contacts with an expiry, and nothing is stored or trusted. No
// credentials are asked for because nothing is granted: calling in still
// needs a join token on the INVITE.
const (
	registerMinExpires = 60   // seconds; a shorter request is raised to it
	registerMaxExpires = 3600 // seconds; a longer request is lowered to it
	registerDefault    = 3600 // without an Expires header or parameter
	// maxRegisterContacts bounds the Contacts echoed back.
	maxRegisterContacts = 8
)

// registerExpiry is the expiry granted for a requested one (-1: none given).
func registerExpiry(requested int) int {
	switch {
	case requested < 0:
		return registerDefault
	case requested == 0:
		return 0 // a removal
	case requested < registerMinExpires:
		return registerMinExpires
	case requested > registerMaxExpires:
		return registerMaxExpires
	}
	return requested
}

// requestedExpiry reads a Contact's expires parameter, else the Expires
// header, else -1.
func requestedExpiry(req *sip.Request, c *sip.ContactHeader) int {
	if c != nil && c.Params != nil {
		if v, ok := c.Params.Get("expires"); ok {
			if n, err := strconv.Atoi(v); err == nil && n >= 0 {
				return n
			}
		}
	}
	if h := req.GetHeader("Expires"); h != nil {
		if n, err := strconv.Atoi(h.Value()); err == nil && n >= 0 {
			return n
		}
	}
	return -1
}

func (g *Gateway) onRegister(req *sip.Request, tx sip.ServerTransaction) {
	res := sip.NewResponseFromRequest(req, 200, "OK", nil)
	n := 0
	for _, h := range req.GetHeaders("Contact") {
		c, ok := h.(*sip.ContactHeader)
		if !ok || c.Address.Wildcard || n == maxRegisterContacts {
			continue // "*" removes every binding: there are none
		}
		exp := registerExpiry(requestedExpiry(req, c))
		if exp == 0 {
			continue
		}
		echo := &sip.ContactHeader{DisplayName: c.DisplayName, Address: *c.Address.Clone(), Params: sip.NewParams()}
		echo.Params.Add("expires", strconv.Itoa(exp))
		res.AppendHeader(echo)
		n++
	}
	res.AppendHeader(sip.NewHeader("Allow", allowMethods))
	g.metrics.registers.Inc()
	if err := tx.Respond(res); err != nil {
		g.log.Debug("sipgw: respond to REGISTER failed", "err", err)
	}
}
