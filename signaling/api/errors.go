package api

import (
	"errors"
	"net/http"

	"github.com/confab-media/confab/signaling/meeting"
	"github.com/confab-media/confab/signaling/sigv4"
)

// exception is a Chime error as the SDKs read it: the type travels in the
// X-Amzn-ErrorType header and as Code in the JSON body.
type exception struct {
	status int
	code   string
	msg    string
}

func (e *exception) Error() string { return e.code + ": " + e.msg }

func badRequest(msg string) *exception {
	return &exception{http.StatusBadRequest, "BadRequestException", msg}
}

// toException maps a package error to its exception. Only here do Go errors
// become HTTP statuses. Unknown errors are a ServiceFailureException (500)
// and are logged by the caller; bad input never lands there.
func toException(err error) *exception {
	var ex *exception
	if errors.As(err, &ex) {
		return ex
	}
	msg := err.Error()
	kinds := []struct {
		kind   error
		status int
		code   string
	}{
		{meeting.ErrInvalid, 400, "BadRequestException"},
		{meeting.ErrLimitExceeded, 400, "LimitExceededException"},
		{meeting.ErrTooManyTags, 400, "TooManyTagsException"},
		{meeting.ErrNotFound, 404, "NotFoundException"},
		{meeting.ErrResourceGone, 404, "ResourceNotFoundException"},
		{meeting.ErrUnprocessable, 422, "UnprocessableEntityException"},
		{meeting.ErrStore, 500, "ServiceFailureException"},
		{sigv4.ErrMissingAuth, 401, "UnauthorizedException"},
		{sigv4.ErrMalformedAuth, 401, "UnauthorizedException"},
		{sigv4.ErrUnknownKey, 401, "UnauthorizedException"},
		{sigv4.ErrSignatureMismatch, 403, "ForbiddenException"},
		{sigv4.ErrRequestExpired, 403, "ForbiddenException"},
		{sigv4.ErrWrongService, 403, "ForbiddenException"},
	}
	for _, k := range kinds {
		if errors.Is(err, k.kind) {
			return &exception{k.status, k.code, msg}
		}
	}
	return &exception{http.StatusInternalServerError, "ServiceFailureException", "The service failed to process the request"}
}

// WriteServiceUnavailable answers a request with a typed
// ServiceUnavailableException (503), the way the handler answers its own
// errors: for a front (package cluster) that cannot place or reach a meeting.
func WriteServiceUnavailable(w http.ResponseWriter, msg string) {
	writeException(w, &exception{http.StatusServiceUnavailable, "ServiceUnavailableException", msg}, newRequestID())
}
