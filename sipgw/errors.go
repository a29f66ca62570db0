package sipgw

import "errors"

var (
	// ErrMeetingFull is returned by Conference.JoinPhone when the meeting
	// takes no more attendees; the caller gets 486.
	ErrMeetingFull = errors.New("sipgw: meeting is full")
	// ErrInvalidConfig wraps every Config validation failure.
	ErrInvalidConfig = errors.New("sipgw: invalid config")
)

// refusal is a SIP final response to an INVITE (or another request) that
// the gateway turns down: errors are mapped to it at the SIP edge only.
// statusOK uses the same shape for plain 200 responses.
type refusal struct {
	code   int
	reason string // the reason phrase, one per cause
	// extra headers, "Name: value" pairs
	headers [][2]string
}

func (r *refusal) Error() string { return r.reason }

func refuse(code int, reason string, headers ...[2]string) *refusal {
	return &refusal{code: code, reason: reason, headers: headers}
}

var statusOK = &refusal{code: 200, reason: "OK"}

// The INVITE refusals, each with its own reason phrase.
var (
	refuse100rel       = refuse(420, "Bad Extension 100rel", [2]string{"Unsupported", "100rel"})
	refuseNumber       = refuse(404, "Unknown dial-in number")
	refuseNoToken      = refuse(403, "Missing join token")
	refuseBadToken     = refuse(403, "Invalid join token")
	refuseRevoked      = refuse(403, "Join token revoked")
	refuseEnded        = refuse(404, "Meeting ended")
	refuseFromNotE164  = refuse(403, "Caller ID is not E.164")
	refuseFull         = refuse(486, "Meeting full")
	refuseJoinFailed   = refuse(503, "Meeting unavailable")
	refuseNoSDP        = refuse(488, "SDP offer required")
	refuseBadSDP       = refuse(400, "Malformed SDP")
	refuseNoAudio      = refuse(488, "No audio stream offered")
	refuseNoCodec      = refuse(488, "No acceptable codec")
	refuseNoCrypto     = refuse(488, "No acceptable SRTP crypto suite")
	refuseSRTPRequired = refuse(488, "SRTP required")
	refuseNoPorts      = refuse(503, "No media ports available")
	refuseShutdown     = refuse(503, "Shutting down")
	refuseCodecChange  = refuse(488, "Codec change not supported")
	refuseTooManyCalls = refuse(486, "Too many calls in meeting")
	refuseReplacing    = refuse(503, "Previous call of attendee still ending", [2]string{"Retry-After", "2"})
	refuseSource       = refuse(403, "Source not allowed")
	refuseAppBusy      = refuse(486, "Too many calls")
)

var errNoPorts = errors.New("sipgw: no free RTP port pair")
