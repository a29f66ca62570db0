package meeting

import (
	"errors"
	"fmt"
)

// Error kinds. The API edge maps each to its Chime exception; match them with
// errors.Is. The message of an *Error is written for the API caller.
var (
	ErrInvalid       = errors.New("invalid input")             // BadRequestException
	ErrNotFound      = errors.New("not found")                 // NotFoundException
	ErrResourceGone  = errors.New("resource not found")        // ResourceNotFoundException (tags)
	ErrLimitExceeded = errors.New("limit exceeded")            // LimitExceededException
	ErrTooManyTags   = errors.New("too many tags")             // TooManyTagsException
	ErrUnprocessable = errors.New("unprocessable")             // UnprocessableEntityException
	ErrStore         = errors.New("state could not be stored") // ServiceFailureException
)

// Join-token verification failures (Verify). The WebSocket, TURN and SIP edges
// map them to their own codes (close 4410/4401, HTTP 403/404, SIP 403/404).
var (
	// ErrTokenInvalid: not a token this deployment minted (bad encoding or MAC).
	ErrTokenInvalid = errors.New("join token is not valid")
	// ErrTokenRevoked: the attendee was deleted.
	ErrTokenRevoked = errors.New("join token was revoked")
	// ErrMeetingEnded: the token was valid but its meeting has ended.
	ErrMeetingEnded = errors.New("meeting has ended")
)

// Error is a failure with a message for the API caller and a kind above.
type Error struct {
	Kind error
	Msg  string
}

func (e *Error) Error() string { return e.Msg }
func (e *Error) Unwrap() error { return e.Kind }

func errorf(kind error, format string, args ...any) error {
	return &Error{Kind: kind, Msg: fmt.Sprintf(format, args...)}
}

// invalid reports a bad field, naming it as the API does.
func invalid(field, format string, args ...any) error {
	return &Error{Kind: ErrInvalid, Msg: "Invalid " + field + ": " + fmt.Sprintf(format, args...)}
}

func meetingNotFound(id string) error {
	return errorf(ErrNotFound, "Meeting %s not found", id)
}

func attendeeNotFound(id string) error {
	return errorf(ErrNotFound, "Attendee %s not found", id)
}
