// Package cluster runs several Confab nodes as one deployment on Redis (the
// way LiveKit does): no consensus of its own, Redis holds what every node
// must agree on.
//
//   - Registry: each node heartbeats its Node (URLs, regions, load,
//     draining) every Heartbeat under a key that expires after TTL.
//   - Placement: CreateMeeting on any node picks a live, non-draining node
//     serving the MediaRegion, least loaded under its meeting limit; none →
//     ServiceUnavailableException (503).
//   - Router: the HTTP front of every node. A request about a meeting hosted
//     elsewhere is forwarded verbatim (its SigV4 signature intact, so the
//     hosting node authenticates it) to the node that hosts it; a
//     CreateMeeting goes to the node placement picked. The meeting → node map
//     is the meeting record's MediaGroup in Redis (store.Redis).
//   - Reaper: when a node's heartbeat has expired, one surviving node (a
//     Redis lock decides which) ends the dead node's meetings: their records
//     go and each MeetingEnded is queued in the same transaction.
//   - Relay: every node consumes the events stream (store.Redis) in one
//     consumer group and hands each event to its local delivery outbox
//     before acknowledging it; entries a dead consumer held are claimed after
//     ClaimIdle, so an event is delivered at least once even if the node
//     that produced it, or the one relaying it, dies.
//   - Drain: Drain marks the node draining (no new placements), waits up to
//     a deadline for its meetings to end, then ends the rest.
package cluster
