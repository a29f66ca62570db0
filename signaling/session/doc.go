// Package session is Confab's client-signaling WebSocket server: the
// endpoint the unmodified amazon-chime-sdk-js 3.x browser client opens at
// MediaPlacement.SignalingUrl (fact sheet /work/shared/docs/chime-signaling.md,
// sections 2, 4, 6, 7 and 9).
//
// A [Handler] serves GET /control/{meetingID}. It authenticates the join
// token carried in Sec-WebSocket-Protocol ("_aws_wt_session, <token>"),
// answers with the subprotocol "_aws_wt_session", and runs one [Session] per
// WebSocket: one reader goroutine, one writer goroutine fed by a bounded,
// ordered queue, both owned by the session and waited for when it ends.
// Sessions of one meeting share a room (room.go) that renders presence
// (AUDIO_STREAM_ID_INFO), mute state and volumes (AUDIO_METADATA) and keeps
// data messages (relay, retention, throttling). The presence itself — who
// is in the meeting under which audio_stream_id, muted or not, phone
// callers included — is the meeting's conference Room's [conference.Roster]
// (Params.Rooms); the room changes it only under its own lock, so its
// frames leave in roster order.
//
// Media (SUBSCRIBE and the video control frames) is delegated to a [Media]
// implementation, the SFU; without one, SUBSCRIBE is answered with error
// status 503.
//
// Close codes and AUDIO_STATUS values are chosen from how the SDK maps them
// to MeetingSessionStatusCode; see codes.go.
//
// Every client is treated as hostile: a frame lacking the payload its type
// needs gets a typed answer and never reaches Media (dispatch.go);
// connections, SUBSCRIBE and unmutes are rate-limited per attendee across
// reconnects (limits.go); mute announcements are coalesced per meeting
// (presence.go); data messages are capped per frame and bounce once per
// frame (datamsg.go); send queues are bounded in frames and bytes, with
// relays skipped for a listener far behind (session.go); and a panic in a
// session's goroutines ends that session alone (CloseInternalError),
// logged and counted in Params.Panics. FuzzSession drives all of it.
package session
