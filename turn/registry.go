package turn

// capReached reports which cap, if any, a new allocation for attendee would
// pass.
func (s *Server) capReached(attendee string) reason {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.capReachedLocked(attendee)
}

func (s *Server) capReachedLocked(attendee string) reason {
	switch {
	case len(s.relays) >= s.cfg.MaxAllocations:
		return reasonGlobalQuota
	case len(s.byUser[attendee]) >= s.cfg.MaxAllocationsPerUser:
		return reasonUserQuota
	}
	return reasonNone
}

// admit registers a new allocation's relay and, on the fast path, hands
// it to an engine, unless the server is closing or a cap was reached since
// the quota check (pion/turn then answers 508). The engine gets the relay
// under s.mu, so its retirement (Revoke, Close) is always queued after it.
// The caller closes r's socket on an error.
func (s *Server) admit(r *relay) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	if why := s.capReachedLocked(r.attendee); why != reasonNone {
		s.met.refused(why)
		return ErrQuota
	}
	if r.pc == nil && !s.toEngineLocked(r) {
		return ErrClosed
	}
	s.relays[r.addr] = r
	if s.byUser[r.attendee] == nil {
		s.byUser[r.attendee] = map[*relay]bool{}
	}
	s.byUser[r.attendee][r] = true
	s.readers.Add(1) // pion/turn starts this relay's reader right away
	s.log.Debug("turn: allocation", "attendee", r.attendee, "client", r.client, "relay", r.addr)
	return nil
}

// release forgets a closed relay and keeps its counts.
func (s *Server) release(r *relay) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.relays[r.addr] == r {
		delete(s.relays, r.addr)
	}
	if u := s.byUser[r.attendee]; u != nil {
		delete(u, r)
		if len(u) == 0 {
			delete(s.byUser, r.attendee)
		}
	}
	s.done.packets += r.toPeer.packets.Load() + r.fromPeer.packets.Load()
	s.done.bytes += r.toPeer.bytes.Load() + r.fromPeer.bytes.Load()
}

func (s *Server) allocationCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.relays)
}

// relayed sums the relayed packets and bytes of live and ended allocations.
func (s *Server) relayed() (packets, bytes uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	packets, bytes = s.done.packets, s.done.bytes
	for _, r := range s.relays {
		packets += r.toPeer.packets.Load() + r.fromPeer.packets.Load()
		bytes += r.toPeer.bytes.Load() + r.fromPeer.bytes.Load()
	}
	return packets, bytes
}
