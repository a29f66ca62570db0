package api

import (
	"net/url"
	"strings"
)

// Operation names the Chime SDK Meetings operations, as used in metrics and
// logs.
type Operation string

// The 16 operations of the Chime SDK Meetings API (apiVersion 2021-07-15).
const (
	OpCreateMeeting                         Operation = "CreateMeeting"
	OpCreateMeetingWithAttendees            Operation = "CreateMeetingWithAttendees"
	OpGetMeeting                            Operation = "GetMeeting"
	OpDeleteMeeting                         Operation = "DeleteMeeting"
	OpCreateAttendee                        Operation = "CreateAttendee"
	OpBatchCreateAttendee                   Operation = "BatchCreateAttendee"
	OpListAttendees                         Operation = "ListAttendees"
	OpGetAttendee                           Operation = "GetAttendee"
	OpDeleteAttendee                        Operation = "DeleteAttendee"
	OpUpdateAttendeeCapabilities            Operation = "UpdateAttendeeCapabilities"
	OpBatchUpdateAttendeeCapabilitiesExcept Operation = "BatchUpdateAttendeeCapabilitiesExcept"
	OpStartMeetingTranscription             Operation = "StartMeetingTranscription"
	OpStopMeetingTranscription              Operation = "StopMeetingTranscription"
	OpListTagsForResource                   Operation = "ListTagsForResource"
	OpTagResource                           Operation = "TagResource"
	OpUntagResource                         Operation = "UntagResource"

	// OpUnknown labels requests that match no route.
	OpUnknown Operation = "Unknown"
)

// route is a matched request: the operation and its path parameters.
type route struct {
	op         Operation
	meetingID  string
	attendeeID string
}

// match maps method, path and the `operation` query value to an operation,
// following the service model's HTTP bindings. It never fails: a request
// that fits nothing gets OpUnknown.
func match(method, path string, query url.Values) route {
	seg := strings.Split(strings.Trim(path, "/"), "/")
	opq := query.Get("operation")
	r := route{op: OpUnknown}
	switch {
	case len(seg) == 1 && seg[0] == "meetings":
		if method == "POST" {
			switch opq {
			case "":
				r.op = OpCreateMeeting
			case "create-attendees":
				r.op = OpCreateMeetingWithAttendees
			}
		}
	case len(seg) == 1 && seg[0] == "tags":
		switch {
		case method == "GET" && opq == "":
			r.op = OpListTagsForResource
		case method == "POST" && opq == "tag-resource":
			r.op = OpTagResource
		case method == "POST" && opq == "untag-resource":
			r.op = OpUntagResource
		}
	case len(seg) >= 2 && seg[0] == "meetings" && seg[1] != "":
		r.meetingID = seg[1]
		r.op = matchMeeting(method, seg[2:], opq, &r)
	}
	if r.op == OpUnknown {
		return route{op: OpUnknown} // no half-parsed IDs on a miss
	}
	return r
}

func matchMeeting(method string, rest []string, opq string, r *route) Operation {
	switch {
	case len(rest) == 0 && opq == "":
		switch method {
		case "GET":
			return OpGetMeeting
		case "DELETE":
			return OpDeleteMeeting
		}
	case len(rest) == 1 && rest[0] == "attendees":
		switch {
		case method == "POST" && opq == "":
			return OpCreateAttendee
		case method == "POST" && opq == "batch-create":
			return OpBatchCreateAttendee
		case method == "GET" && opq == "":
			return OpListAttendees
		}
	case len(rest) == 1 && rest[0] == "transcription" && method == "POST":
		switch opq {
		case "start":
			return OpStartMeetingTranscription
		case "stop":
			return OpStopMeetingTranscription
		}
	case len(rest) == 2 && rest[0] == "attendees" && rest[1] == "capabilities" &&
		method == "PUT" && opq == "batch-update-except":
		return OpBatchUpdateAttendeeCapabilitiesExcept
	case len(rest) == 2 && rest[0] == "attendees" && rest[1] != "" && opq == "":
		r.attendeeID = rest[1]
		switch method {
		case "GET":
			return OpGetAttendee
		case "DELETE":
			return OpDeleteAttendee
		}
	case len(rest) == 3 && rest[0] == "attendees" && rest[1] != "" && rest[2] == "capabilities" &&
		method == "PUT" && opq == "":
		r.attendeeID = rest[1]
		return OpUpdateAttendeeCapabilities
	}
	return OpUnknown
}
