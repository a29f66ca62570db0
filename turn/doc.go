// Package turn is Confab's TURN relay (RFC 8656, on STUN RFC 8489), built on
// pion/turn v4.1.4 (the version coherent with pion/webrtc v4.2.9 and
// pion/transport v4). Chime SDK clients given turn_credentials in JOIN_ACK
// force iceTransportPolicy "relay", so all their media crosses this server.
//
// What Confab adds to pion/turn:
//   - Credentials: the REST-API shared-secret scheme
//     (draft-uberti-behave-turn-rest-00, coturn's use-auth-secret). Minter
//     mints "<unix expiry>:<attendeeID>" usernames; the Server refuses
//     expired ones, bad passwords and attendees Params.Active disowns with
//     401 (RFC 8489 §9.2.4) on every authenticated request.
//   - Peer policy (policy.go): the relay is closed by default. Only the
//     peers Config.AllowedPeers names (Confab's media sockets, exact
//     address and port, plus operator entries) are reachable; everything
//     else gets 403 on CreatePermission and ChannelBind (RFC 8656 §21.3)
//     and is dropped on Send indications and relayed datagrams, which are
//     checked with their port since permissions are per address. The
//     server's own listeners and Config.DeniedPeers stay refused inside
//     wider entries.
//   - TCP/TLS limits: each listener is wrapped by internal/netguard
//     (Config.Stream, Params.FDs): handshake and first-message deadline,
//     idle timeout, caps per source IP and overall, shared descriptors.
//   - Containment: panics in the relay engines and in the callbacks pion
//     runs for a client's message are recovered (internal/guard,
//     Params.Panics); the message is dropped and the loop goes on.
//     Panics inside pion/turn's own reader code are out of reach.
//   - Caps per attendee and per server (486, RFC 8656 §7.2), and Revoke,
//     which ends an attendee's allocations at once.
//   - The UDP data path. On Linux the UDP port is a group of SO_REUSEPORT
//     sockets; each has an engine (engine_linux.go): one goroutine that
//     owns that socket and the relayed sockets of the allocations made on
//     it, waits for them with its own epoll set (itself parked in Go's
//     netpoller), and relays ChannelData (RFC 8656 §12) with
//     recvmmsg/sendto/sendmmsg, without allocating or locking, from a
//     mirror of pion's channel bindings (events.go). The socket, batch and
//     epoll machinery is internal/fastpath. Everything else — STUN
//     requests, Send and Data indications, TURN over TCP/TLS — goes to
//     pion/turn: one pion server per socket or connection, fed through an
//     in-memory inbox.
//   - Elsewhere (macOS, Windows, the BSDs) UDP takes pion/turn's own relay
//     (pion.go): one UDP socket and pion server, and plain relayed
//     sockets that pion reads and writes through Confab's relay type,
//     which applies the same peer policy, mirror checks, counts and
//     Revoke. Credentials, screen, quotas and TCP/TLS are shared. It is
//     slower (pion allocates per relayed datagram and has a goroutine per
//     allocation), pads ChannelData to 4 bytes, and passes datagrams over
//     1600 bytes on truncated instead of dropping them.
//   - Metrics: confab_turn_allocations, confab_turn_relayed_packets_total,
//     confab_turn_relayed_bytes_total, confab_turn_refusals_total{reason}.
//
// Layout: server.go (Server, New, Close, Revoke), lane.go (a client-facing
// socket or connection and its pion server), relay.go (one allocation's
// relayed socket and its binding mirror), fast_linux.go and
// engine_linux.go (the Linux data path; fast_other.go stands in
// elsewhere), pion.go (pion/turn's relay), screen.go (401/403 before
// pion), events.go, registry.go (caps and counts), credentials.go,
// policy.go, config.go, stream.go (TCP/TLS), metrics.go, pionlog.go.
//
// Limits: IPv4 UDP listener and relayed addresses; no RFC 6062 TCP relays.
//
// Tests use coturn (apt-get install -y coturn) as the reference client and
// echo peer; TestPionRelay runs them on pion/turn's relay too, and
// CONFAB_TURN_RELAY=pion puts the whole package on it. The coturn
// comparison runs with
//
//	CONFAB_TURN_COMPARE=1 go test -run TestCompareCoturn -v -timeout 30m ./turn/
package turn
