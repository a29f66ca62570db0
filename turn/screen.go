package turn

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"net"
	"net/netip"

	"github.com/pion/stun/v3"
)

var errForbiddenPeer = errors.New("turn: forbidden peer")

// screen answers, before pion/turn sees them, the authenticated requests
// Confab refuses, with the codes the RFCs give and pion/turn v4.1.4 does
// not send:
//   - bad, expired or revoked credentials: 401 Unauthorized with REALM and
//     NONCE (RFC 8489 §9.2.4; pion answers 400);
//   - CreatePermission or ChannelBind to a forbidden peer: 403 Forbidden
//     (RFC 8656 §9.1 and §12.1; pion answers an error without a code, or
//     401). The peer is judged by address AND port (peerPolicy): a
//     permission is per address in RFC 8656, but Confab grants one only
//     for a socket it may relay to, and checks the port again on every
//     Send indication and relayed datagram.
//
// It reports whether it answered. Requests without MESSAGE-INTEGRITY,
// Binding requests, indications and anything malformed go on to pion. A
// panic while screening drops the message (reported as answered).
func (s *Server) screen(l *lane, pkt []byte, from net.Addr) (answered bool) {
	defer s.recoverCallback("turn request screen", func() { answered = true })
	if s.testHook != nil {
		s.testHook(pkt)
	}
	if !stun.IsMessage(pkt) {
		return false
	}
	var typ stun.MessageType
	typ.ReadValue(binary.BigEndian.Uint16(pkt[0:2]))
	if typ.Class != stun.ClassRequest {
		return false
	}
	switch typ.Method {
	case stun.MethodAllocate, stun.MethodRefresh, stun.MethodCreatePermission, stun.MethodChannelBind:
	default:
		return false
	}
	msg := &stun.Message{Raw: append([]byte(nil), pkt...)}
	if msg.Decode() != nil || !msg.Contains(stun.AttrMessageIntegrity) {
		return false
	}
	var user stun.Username
	if user.GetFrom(msg) != nil {
		return false
	}
	attendee, key, why := s.creds.check(user.String())
	if why == reasonNone && stun.MessageIntegrity(key).Check(msg) != nil {
		why = reasonBadPassword
	}
	if why != reasonNone {
		s.refuse(why, attendee, from)
		s.answer(l, from, msg, stun.CodeUnauthorized, nil)
		return true
	}
	if typ.Method != stun.MethodCreatePermission && typ.Method != stun.MethodChannelBind {
		return false
	}
	err := msg.ForEach(stun.AttrXORPeerAddress, func(m *stun.Message) error {
		var peer stun.XORMappedAddress
		if err := peer.GetFromAs(m, stun.AttrXORPeerAddress); err != nil {
			return nil // malformed: pion answers 400
		}
		ip, ok := netip.AddrFromSlice(peer.IP)
		if !ok || !s.permitsPeer(netip.AddrPortFrom(ip, uint16(peer.Port))) {
			return errForbiddenPeer
		}
		return nil
	})
	if err == nil {
		return false
	}
	s.refuse(reasonForbiddenPeer, attendee, from)
	s.answer(l, from, msg, stun.CodeForbidden, key)
	return true
}

// answer sends an error response to req; key, if set, signs it
// (RFC 8489 §9.2.4: responses to authenticated requests carry
// MESSAGE-INTEGRITY).
func (s *Server) answer(l *lane, to net.Addr, req *stun.Message, code stun.ErrorCode, key []byte) {
	setters := []stun.Setter{
		&stun.Message{TransactionID: req.TransactionID},
		stun.NewType(req.Type.Method, stun.ClassErrorResponse),
		code,
	}
	if code == stun.CodeUnauthorized {
		// A fresh nonce; a retry with it meets pion's nonce check (438 and
		// one of pion's), then this screen again.
		setters = append(setters, stun.NewRealm(s.cfg.Realm), stun.NewNonce(rand.Text()))
	}
	if key != nil {
		setters = append(setters, stun.MessageIntegrity(key))
	}
	msg, err := stun.Build(setters...)
	if err != nil {
		return
	}
	_, _ = l.WriteTo(msg.Raw, to)
}
