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
//   - The UDP data path. The UDP port is a group of SO_REUSEPORT sockets;
//     each has an engine (engine_linux.go): one goroutine that owns that
//     socket and the relayed sockets of the allocations made on it, waits
//     for them with its own epoll set (itself parked in Go's netpoller),
//     and relays ChannelData (RFC 8656 §12) with recvmmsg/sendto/sendmmsg,
//     without allocating or locking, from a mirror of pion's channel
//     bindings (events.go). Everything else — STUN requests, Send and Data
//     indications, TURN over TCP/TLS — goes to pion/turn: one pion server
//     per socket or connection, fed through an in-memory inbox.
//   - Metrics: confab_turn_allocations, confab_turn_relayed_packets_total,
//     confab_turn_relayed_bytes_total, confab_turn_refusals_total{reason}.
//
// Layout: server.go (Server, New, Close, Revoke), lane.go (a client-facing
// socket or connection and its pion server), relay.go (one allocation's
// relayed socket and its binding mirror), engine_linux.go and
// sock_linux.go (the data path), screen.go (401/403 before pion),
// events.go, registry.go (caps and counts), credentials.go, policy.go,
// config.go, stream.go (TCP/TLS), metrics.go, pionlog.go.
//
// Limits: Linux only (New returns ErrUnsupported elsewhere); IPv4 UDP
// listener and relayed addresses; no RFC 6062 TCP relays.
//
// Tests use coturn (apt-get install -y coturn) as the reference client and
// echo peer; the coturn comparison runs with
//
//	CONFAB_TURN_COMPARE=1 go test -run TestCompareCoturn -v -timeout 30m ./turn/
package turn
