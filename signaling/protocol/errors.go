package protocol

import "errors"

// Sentinel errors returned, wrapped with detail, by [Decode], [Encode] and
// [AppendEncode]. Test for them with [errors.Is].
//
// For a frame received from a client: ErrUnknownType can be ignored (skip
// the frame; a newer client may send types this server does not know); the
// others mean the peer does not speak this protocol and are grounds to close
// the connection.
var (
	// ErrEmpty: a zero-length WebSocket message.
	ErrEmpty = errors.New("signaling protocol: empty message")
	// ErrPrefix: the first byte is neither FramePrefix (0x05) nor
	// LegacyFramePrefix (0x02).
	ErrPrefix = errors.New("signaling protocol: unknown frame prefix")
	// ErrTooLarge: the message is longer than MaxFrameSize, or carries
	// more than MaxElements fields.
	ErrTooLarge = errors.New("signaling protocol: frame too large")
	// ErrMalformed: the payload is not a valid SdkSignalFrame: bad protobuf
	// wire format, or a required field (at any depth) is missing. The
	// protobuf error is wrapped too.
	ErrMalformed = errors.New("signaling protocol: malformed frame")
	// ErrUnknownType: an otherwise well-formed frame whose type is not a
	// SdkSignalFrame_Type this package knows.
	ErrUnknownType = errors.New("signaling protocol: unknown frame type")
	// ErrIncomplete: Encode was given a nil frame, a frame without
	// timestamp_ms or type, or one missing another required field
	// (e.g. ping_pong.ping_id). The client would reject it.
	ErrIncomplete = errors.New("signaling protocol: frame missing required field")
)
