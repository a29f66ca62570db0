package turn

import (
	"net"
	"net/netip"

	pionturn "github.com/pion/turn/v4"
)

// events keeps each relay's mirror of its allocation's channels and
// permissions in step with pion/turn. pion calls these synchronously when a
// ChannelBind or CreatePermission succeeds (on the lane's reader, before it
// reads the client's next datagram) and when a binding or permission
// expires or its allocation ends.
func (s *Server) events() pionturn.EventHandler {
	return pionturn.EventHandler{
		OnPermissionCreated: func(src, _ net.Addr, _, _, _ string, relayAddr net.Addr, peer net.IP) {
			defer s.recoverCallback("turn permission event", nil)
			if r := s.relayAt(relayAddr, src); r != nil {
				if ip, ok := netip.AddrFromSlice(peer); ok {
					r.permit(ip.Unmap())
				}
			}
		},
		OnPermissionDeleted: func(src, _ net.Addr, _, _, _ string, relayAddr net.Addr, peer net.IP) {
			defer s.recoverCallback("turn permission event", nil)
			if r := s.relayAt(relayAddr, src); r != nil {
				if ip, ok := netip.AddrFromSlice(peer); ok {
					r.unpermit(ip.Unmap())
				}
			}
		},
		OnChannelCreated: func(src, _ net.Addr, _, _, _ string, relayAddr, peer net.Addr, number uint16) {
			defer s.recoverCallback("turn channel event", nil)
			// Only a peer the policy permits (address and port) enters
			// the engine's mirror; screen has refused the others already.
			if r := s.relayAt(relayAddr, src); r != nil && s.permitsPeer(addrPortOf(peer)) {
				r.bind(number, addrPortOf(peer))
			}
		},
		OnChannelDeleted: func(src, _ net.Addr, _, _, _ string, relayAddr, _ net.Addr, number uint16) {
			defer s.recoverCallback("turn channel event", nil)
			if r := s.relayAt(relayAddr, src); r != nil {
				r.unbind(number)
			}
		},
	}
}

// relayAt finds the live relay at relayAddr serving client, or nil. Matching
// the client too keeps a late event of a closed allocation off a new one that
// reused its port.
func (s *Server) relayAt(relayAddr, client net.Addr) *relay {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.relays[addrPortOf(relayAddr)]
	if r == nil || r.client != addrPortOf(client) {
		return nil
	}
	return r
}
