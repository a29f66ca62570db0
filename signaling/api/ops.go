package api

import (
	"net/http"
	"strconv"

	"github.com/confab-media/confab/signaling/meeting"
)

// opFunc serves one operation and returns the HTTP status it wrote.
type opFunc func(h *Handler, req *request) (int, error)

// operations maps each operation to its handler.
var operations = map[Operation]opFunc{
	OpCreateMeeting:                         createMeeting,
	OpCreateMeetingWithAttendees:            createMeetingWithAttendees,
	OpGetMeeting:                            getMeeting,
	OpDeleteMeeting:                         deleteMeeting,
	OpCreateAttendee:                        createAttendee,
	OpBatchCreateAttendee:                   batchCreateAttendee,
	OpListAttendees:                         listAttendees,
	OpGetAttendee:                           getAttendee,
	OpDeleteAttendee:                        deleteAttendee,
	OpUpdateAttendeeCapabilities:            updateAttendeeCapabilities,
	OpBatchUpdateAttendeeCapabilitiesExcept: batchUpdateAttendeeCapabilitiesExcept,
	OpStartMeetingTranscription:             startMeetingTranscription,
	OpStopMeetingTranscription:              stopMeetingTranscription,
	OpListTagsForResource:                   listTagsForResource,
	OpTagResource:                           tagResource,
	OpUntagResource:                         untagResource,
}

// pathIDs checks the GUID path parameters before anything is looked up.
func (req *request) pathIDs() error {
	if !meeting.IsGUID(req.route.meetingID) {
		return badRequest("Invalid MeetingId: must be a GUID ([a-fA-F0-9]{8}(-[a-fA-F0-9]{4}){3}-[a-fA-F0-9]{12})")
	}
	if req.route.attendeeID != "" && !meeting.IsGUID(req.route.attendeeID) {
		return badRequest("Invalid AttendeeId: must be a GUID ([a-fA-F0-9]{8}(-[a-fA-F0-9]{4}){3}-[a-fA-F0-9]{12})")
	}
	return nil
}

func createMeeting(h *Handler, req *request) (int, error) {
	var in meeting.CreateMeetingInput
	if err := req.decode(&in); err != nil {
		return 0, err
	}
	m, err := h.p.Meetings.CreateMeeting(req.r.Context(), &in)
	if err != nil {
		return 0, err
	}
	return req.reply(http.StatusOK, struct{ Meeting meeting.Meeting }{m})
}

func createMeetingWithAttendees(h *Handler, req *request) (int, error) {
	var in meeting.CreateMeetingInput
	if err := req.decode(&in); err != nil {
		return 0, err
	}
	m, as, errs, err := h.p.Meetings.CreateMeetingWithAttendees(req.r.Context(), &in)
	if err != nil {
		return 0, err
	}
	return req.reply(http.StatusOK, struct {
		Meeting   meeting.Meeting
		Attendees []meeting.Attendee
		Errors    []meeting.CreateAttendeeError
	}{m, as, errs})
}

func getMeeting(h *Handler, req *request) (int, error) {
	if err := req.pathIDs(); err != nil {
		return 0, err
	}
	m, err := h.p.Meetings.GetMeeting(req.r.Context(), req.route.meetingID)
	if err != nil {
		return 0, err
	}
	return req.reply(http.StatusOK, struct{ Meeting meeting.Meeting }{m})
}

func deleteMeeting(h *Handler, req *request) (int, error) {
	if err := req.pathIDs(); err != nil {
		return 0, err
	}
	if err := h.p.Meetings.DeleteMeeting(req.r.Context(), req.route.meetingID); err != nil {
		return 0, err
	}
	return req.reply(http.StatusNoContent, nil)
}

func createAttendee(h *Handler, req *request) (int, error) {
	if err := req.pathIDs(); err != nil {
		return 0, err
	}
	var in meeting.CreateAttendeeInput
	if err := req.decode(&in); err != nil {
		return 0, err
	}
	a, err := h.p.Meetings.CreateAttendee(req.r.Context(), req.route.meetingID, &in)
	if err != nil {
		return 0, err
	}
	return req.reply(http.StatusOK, struct{ Attendee meeting.Attendee }{a})
}

func batchCreateAttendee(h *Handler, req *request) (int, error) {
	if err := req.pathIDs(); err != nil {
		return 0, err
	}
	var in struct{ Attendees []meeting.CreateAttendeeInput }
	if err := req.decode(&in); err != nil {
		return 0, err
	}
	as, errs, err := h.p.Meetings.BatchCreateAttendee(req.r.Context(), req.route.meetingID, in.Attendees)
	if err != nil {
		return 0, err
	}
	return req.reply(http.StatusOK, struct {
		Attendees []meeting.Attendee
		Errors    []meeting.CreateAttendeeError
	}{as, errs})
}

func listAttendees(h *Handler, req *request) (int, error) {
	if err := req.pathIDs(); err != nil {
		return 0, err
	}
	q := req.r.URL.Query()
	max := 0
	if v := q.Get("max-results"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100 {
			return 0, badRequest("Invalid MaxResults: must be an integer from 1 to 100")
		}
		max = n
	}
	as, next, err := h.p.Meetings.ListAttendees(req.r.Context(), req.route.meetingID, q.Get("next-token"), max)
	if err != nil {
		return 0, err
	}
	return req.reply(http.StatusOK, struct {
		Attendees []meeting.Attendee
		NextToken string `json:",omitempty"`
	}{as, next})
}

func getAttendee(h *Handler, req *request) (int, error) {
	if err := req.pathIDs(); err != nil {
		return 0, err
	}
	a, err := h.p.Meetings.GetAttendee(req.r.Context(), req.route.meetingID, req.route.attendeeID)
	if err != nil {
		return 0, err
	}
	return req.reply(http.StatusOK, struct{ Attendee meeting.Attendee }{a})
}

func deleteAttendee(h *Handler, req *request) (int, error) {
	if err := req.pathIDs(); err != nil {
		return 0, err
	}
	if err := h.p.Meetings.DeleteAttendee(req.r.Context(), req.route.meetingID, req.route.attendeeID); err != nil {
		return 0, err
	}
	return req.reply(http.StatusNoContent, nil)
}

func updateAttendeeCapabilities(h *Handler, req *request) (int, error) {
	if err := req.pathIDs(); err != nil {
		return 0, err
	}
	var in struct{ Capabilities *meeting.Capabilities }
	if err := req.decode(&in); err != nil {
		return 0, err
	}
	a, err := h.p.Meetings.UpdateAttendeeCapabilities(req.r.Context(), req.route.meetingID, req.route.attendeeID, in.Capabilities)
	if err != nil {
		return 0, err
	}
	return req.reply(http.StatusOK, struct{ Attendee meeting.Attendee }{a})
}

func batchUpdateAttendeeCapabilitiesExcept(h *Handler, req *request) (int, error) {
	if err := req.pathIDs(); err != nil {
		return 0, err
	}
	var in struct {
		ExcludedAttendeeIds []struct{ AttendeeId string }
		Capabilities        *meeting.Capabilities
	}
	if err := req.decode(&in); err != nil {
		return 0, err
	}
	ids := make([]string, len(in.ExcludedAttendeeIds))
	for i, e := range in.ExcludedAttendeeIds {
		ids[i] = e.AttendeeId
	}
	if err := h.p.Meetings.BatchUpdateAttendeeCapabilitiesExcept(req.r.Context(), req.route.meetingID, ids, in.Capabilities); err != nil {
		return 0, err
	}
	return req.reply(http.StatusOK, nil)
}

func startMeetingTranscription(h *Handler, req *request) (int, error) {
	if err := req.pathIDs(); err != nil {
		return 0, err
	}
	var in struct{ TranscriptionConfiguration map[string]any }
	if err := req.decode(&in); err != nil {
		return 0, err
	}
	err := h.p.Meetings.StartMeetingTranscription(req.r.Context(), req.route.meetingID, in.TranscriptionConfiguration != nil)
	//lint:ignore SA4023 today's meeting service never transcribes; the API contract allows success
	if err != nil {
		return 0, err
	}
	return req.reply(http.StatusOK, nil)
}

func stopMeetingTranscription(h *Handler, req *request) (int, error) {
	if err := req.pathIDs(); err != nil {
		return 0, err
	}
	//lint:ignore SA4023 today's meeting service never transcribes; the API contract allows success
	if err := h.p.Meetings.StopMeetingTranscription(req.r.Context(), req.route.meetingID); err != nil {
		return 0, err
	}
	return req.reply(http.StatusOK, nil)
}

func listTagsForResource(h *Handler, req *request) (int, error) {
	tags, err := h.p.Meetings.ListTagsForResource(req.r.Context(), req.r.URL.Query().Get("arn"))
	if err != nil {
		return 0, err
	}
	return req.reply(http.StatusOK, struct{ Tags []meeting.Tag }{tags})
}

func tagResource(h *Handler, req *request) (int, error) {
	var in struct {
		ResourceARN string
		Tags        []meeting.Tag
	}
	if err := req.decode(&in); err != nil {
		return 0, err
	}
	if err := h.p.Meetings.TagResource(req.r.Context(), in.ResourceARN, in.Tags); err != nil {
		return 0, err
	}
	return req.reply(http.StatusNoContent, nil)
}

func untagResource(h *Handler, req *request) (int, error) {
	var in struct {
		ResourceARN string
		TagKeys     []string
	}
	if err := req.decode(&in); err != nil {
		return 0, err
	}
	if err := h.p.Meetings.UntagResource(req.r.Context(), in.ResourceARN, in.TagKeys); err != nil {
		return 0, err
	}
	return req.reply(http.StatusNoContent, nil)
}
