package session

import "github.com/coder/websocket"

// WebSocket close codes sent by the server. How the SDK (3.x) reads them:
//
//   - While joining (JoinAndReceiveIndexTask): 4410 → MeetingEnded;
//     4500–4599 → SignalingInternalServerError (retried); any other code →
//     SignalingBadRequest, which is terminal.
//   - After connecting (MonitorTask): only 1006 and 4500–4599 count as
//     unexpected (→ reconnect); other codes are ignored, so a session that
//     must end after connecting is first told why with an AUDIO_STATUS frame
//     (see the audioStatus constants), then closed.
const (
	// CloseNormal ends a session after LEAVE / LEAVE_ACK.
	CloseNormal websocket.StatusCode = websocket.StatusNormalClosure
	// CloseBadRequest: a malformed or out-of-order frame (e.g. SUBSCRIBE
	// before JOIN, a text message, garbage).
	CloseBadRequest websocket.StatusCode = 4400
	// CloseAuthRejected: the join token is invalid or was revoked
	// (DeleteAttendee), at connect or later.
	CloseAuthRejected websocket.StatusCode = 4401
	// CloseForbidden: a valid token presented on another meeting's URL.
	CloseForbidden websocket.StatusCode = 4403
	// CloseTimeout: no JOIN within Config.JoinTimeout.
	CloseTimeout websocket.StatusCode = 4408
	// CloseReplaced: the same attendee joined on another connection.
	CloseReplaced websocket.StatusCode = 4409
	// CloseMeetingEnded: the SDK maps 4410 to MeetingEnded while joining.
	CloseMeetingEnded websocket.StatusCode = 4410
	// CloseServerShutdown: the Handler is closing; 45xx makes the SDK
	// reconnect (SignalingInternalServerError).
	CloseServerShutdown websocket.StatusCode = 4503
	// CloseInternalError: a bug (a contained panic) ended this session and
	// only it; 45xx makes the SDK reconnect.
	CloseInternalError websocket.StatusCode = 4500
	// CloseRateLimited: the attendee opened more connections than
	// Config.ConnectRate/ConnectBurst allow. In the 45xx range so the SDK
	// retries with its backoff instead of failing for good.
	CloseRateLimited websocket.StatusCode = 4529
)

// AUDIO_STATUS values (MeetingSessionStatus.fromAudioStatus in the SDK) sent
// before a server-initiated close of a connected session. All three are
// terminal statuses for the SDK.
const (
	audioStatusJoinedFromAnotherDevice uint32 = 301 // AudioJoinedFromAnotherDevice
	audioStatusMeetingEnded            uint32 = 410 // MeetingEnded
	audioStatusAttendeeRemoved         uint32 = 411 // AudioAttendeeRemoved
)

// error.status values (MeetingSessionStatus.fromSignalingStatus): 4xx →
// SignalingBadRequest (terminal), 5xx → SignalingInternalServerError
// (reconnect).
const (
	statusBadRequest  uint32 = 400
	statusTooMany     uint32 = 429 // SUBSCRIBE over Config.SubscribeRate
	statusInternal    uint32 = 500
	statusUnavailable uint32 = 503
)
