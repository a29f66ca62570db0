package meeting

import (
	"context"
	"encoding/base64"
	"errors"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/confab-media/confab/signaling/events"
	"github.com/confab-media/confab/signaling/store"
)

// attendeeCapLocked is the most attendees m may have.
func (s *Service) attendeeCapLocked(m *liveMeeting) int {
	if m.features.maxCount > 0 {
		return m.features.maxCount
	}
	return s.cfg.AttendeesPerMeeting
}

// addAttendeeLocked validates one input and adds the attendee to m in memory,
// returning the store op that makes it durable. An ExternalUserId that is
// already present returns that attendee (created=false), so a retried
// CreateAttendee never makes two attendees for one user.
func (s *Service) addAttendeeLocked(m *liveMeeting, in *CreateAttendeeInput, now time.Time) (a *store.AttendeeRecord, created bool, err error) {
	if err := validateAttendeeInput(in, m.features); err != nil {
		return nil, false, err
	}
	if a := m.byExtUser[in.ExternalUserId]; a != nil {
		return a, false, nil
	}
	if cap := s.attendeeCapLocked(m); len(m.attendees) >= cap {
		return nil, false, errorf(ErrLimitExceeded, "Meeting %s has reached its limit of %d attendees", m.rec.MeetingID, cap)
	}
	caps := defaultCapabilities(m.features)
	if in.Capabilities != nil {
		caps = *in.Capabilities
	}
	m.lastSeq++
	a = &store.AttendeeRecord{
		MeetingID:      m.rec.MeetingID,
		AttendeeID:     newGUID(),
		ExternalUserID: in.ExternalUserId,
		Seq:            m.lastSeq,
		Capabilities:   caps,
		TokenNonce:     newNonce(),
		CreatedAt:      now,
	}
	m.attendees[a.AttendeeID] = a
	m.byExtUser[a.ExternalUserID] = a
	return a, true, nil
}

// removeAttendeeLocked undoes addAttendeeLocked after a failed commit.
func removeAttendeeLocked(m *liveMeeting, a *store.AttendeeRecord) {
	if m.attendees[a.AttendeeID] == a {
		delete(m.attendees, a.AttendeeID)
		delete(m.byExtUser, a.ExternalUserID)
	}
}

// CreateAttendee adds an attendee to a meeting and returns it with its join token.
func (s *Service) CreateAttendee(ctx context.Context, meetingID string, in *CreateAttendeeInput) (Attendee, error) {
	m, err := s.lockLive(meetingID)
	if err != nil {
		return Attendee{}, err
	}
	a, created, err := s.addAttendeeLocked(m, in, s.p.Clock.Now())
	if err != nil || !created {
		var v Attendee
		if a != nil {
			v = s.attendeeView(a)
		}
		m.mu.Unlock()
		return v, err
	}
	ch := s.p.Store.Submit(store.PutAttendee(*a))
	ev := s.eventLocked(events.AttendeeAdded, m, a)
	m.mu.Unlock()

	if err := commit(ch); err != nil {
		m.mu.Lock()
		removeAttendeeLocked(m, a)
		m.mu.Unlock()
		return Attendee{}, err
	}
	s.publish(ctx, ev)
	return s.attendeeView(a), nil
}

// BatchCreateAttendee adds up to 100 attendees; invalid items are reported in
// the error list and do not fail the others.
func (s *Service) BatchCreateAttendee(ctx context.Context, meetingID string, ins []CreateAttendeeInput) ([]Attendee, []CreateAttendeeError, error) {
	if len(ins) < 1 || len(ins) > 100 {
		return nil, nil, invalid("Attendees", "must have 1 to 100 items, got %d", len(ins))
	}
	m, err := s.lookup(meetingID)
	if err != nil {
		return nil, nil, err
	}
	return s.batchCreate(ctx, m, ins)
}

func (s *Service) batchCreate(ctx context.Context, m *liveMeeting, ins []CreateAttendeeInput) ([]Attendee, []CreateAttendeeError, error) {
	m.mu.Lock()
	if m.ended {
		m.mu.Unlock()
		return nil, nil, meetingNotFound(m.rec.MeetingID)
	}
	now := s.p.Clock.Now()
	var (
		records []*store.AttendeeRecord
		added   []*store.AttendeeRecord
		ops     []store.Op
		evs     []events.Event
		errs    = []CreateAttendeeError{}
	)
	for i := range ins {
		a, created, err := s.addAttendeeLocked(m, &ins[i], now)
		if err != nil {
			errs = append(errs, CreateAttendeeError{ExternalUserId: ins[i].ExternalUserId, ErrorCode: errorCode(err), ErrorMessage: err.Error()})
			continue
		}
		records = append(records, a)
		if created {
			added = append(added, a)
			ops = append(ops, store.PutAttendee(*a))
			evs = append(evs, s.eventLocked(events.AttendeeAdded, m, a))
		}
	}
	var ch <-chan error
	if len(ops) > 0 {
		ch = s.p.Store.Submit(ops...)
	}
	m.mu.Unlock()

	if ch != nil {
		if err := commit(ch); err != nil {
			m.mu.Lock()
			for _, a := range added {
				removeAttendeeLocked(m, a)
			}
			m.mu.Unlock()
			return nil, nil, err
		}
	}
	s.publish(ctx, evs...)
	out := make([]Attendee, len(records))
	for i, a := range records {
		out[i] = s.attendeeView(a)
	}
	return out, errs, nil
}

// errorCode names a batch item's failure.
func errorCode(err error) string {
	switch {
	case errors.Is(err, ErrLimitExceeded):
		return "LimitExceeded"
	case errors.Is(err, ErrInvalid):
		return "BadRequest"
	default:
		return "ServiceFailure"
	}
}

// GetAttendee returns one attendee with its join token.
func (s *Service) GetAttendee(_ context.Context, meetingID, attendeeID string) (Attendee, error) {
	m, err := s.lockLive(meetingID)
	if err != nil {
		return Attendee{}, err
	}
	defer m.mu.Unlock()
	a := m.attendees[normID(attendeeID)]
	if a == nil {
		return Attendee{}, attendeeNotFound(attendeeID)
	}
	return s.attendeeView(a), nil
}

// ListAttendees pages through a meeting's attendees in creation order.
// nextToken is opaque to callers: it encodes the position of the last item
// returned, so deletions between pages skip nobody.
func (s *Service) ListAttendees(_ context.Context, meetingID, nextToken string, maxResults int) ([]Attendee, string, error) {
	if maxResults == 0 {
		maxResults = 10
	}
	if maxResults < 1 || maxResults > 100 {
		return nil, "", invalid("MaxResults", "must be 1 to 100, got %d", maxResults)
	}
	var after uint64
	if nextToken != "" {
		var ok bool
		if after, ok = parseCursor(nextToken); !ok {
			return nil, "", invalid("NextToken", "is not a token this service returned")
		}
	}
	m, err := s.lookup(meetingID)
	if err != nil {
		return nil, "", err
	}
	m.mu.Lock()
	page := make([]*store.AttendeeRecord, 0, len(m.attendees))
	for _, a := range m.attendees {
		if a.Seq > after {
			page = append(page, a)
		}
	}
	m.mu.Unlock()
	sort.Slice(page, func(i, j int) bool { return page[i].Seq < page[j].Seq })
	next := ""
	if len(page) > maxResults {
		page = page[:maxResults]
		next = formatCursor(page[maxResults-1].Seq)
	}
	out := make([]Attendee, len(page))
	for i, a := range page {
		out[i] = s.attendeeView(a)
	}
	return out, next, nil
}

// cursorPrefix versions the NextToken format.
const cursorPrefix = "a1."

func formatCursor(seq uint64) string {
	return base64.RawURLEncoding.EncodeToString([]byte(cursorPrefix + strconv.FormatUint(seq, 10)))
}

func parseCursor(s string) (uint64, bool) {
	b, err := base64.RawURLEncoding.Strict().DecodeString(s)
	if err != nil {
		return 0, false
	}
	digits, ok := strings.CutPrefix(string(b), cursorPrefix)
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseUint(digits, 10, 64)
	return n, err == nil
}

// DeleteAttendee removes an attendee; its join token stops verifying at once.
func (s *Service) DeleteAttendee(ctx context.Context, meetingID, attendeeID string) error {
	m, err := s.lockLive(meetingID)
	if err != nil {
		return err
	}
	a := m.attendees[normID(attendeeID)]
	if a == nil {
		m.mu.Unlock()
		return attendeeNotFound(attendeeID)
	}
	removeAttendeeLocked(m, a)
	ch := s.p.Store.Submit(store.DeleteAttendee(a.MeetingID, a.AttendeeID))
	ev := s.eventLocked(events.AttendeeDeleted, m, a)
	m.mu.Unlock()

	if err := commit(ch); err != nil {
		return err // revoked in memory; the record returns only after a restart
	}
	s.publish(ctx, ev)
	return nil
}

// UpdateAttendeeCapabilities replaces one attendee's capabilities.
func (s *Service) UpdateAttendeeCapabilities(ctx context.Context, meetingID, attendeeID string, caps *Capabilities) (Attendee, error) {
	if caps == nil {
		return Attendee{}, invalid("Capabilities", "a value is required")
	}
	m, err := s.lockLive(meetingID)
	if err != nil {
		return Attendee{}, err
	}
	if err := validateCapabilities(caps, m.features); err != nil {
		m.mu.Unlock()
		return Attendee{}, err
	}
	a := m.attendees[normID(attendeeID)]
	if a == nil {
		m.mu.Unlock()
		return Attendee{}, attendeeNotFound(attendeeID)
	}
	updated := *a
	updated.Capabilities = *caps
	m.attendees[a.AttendeeID] = &updated
	m.byExtUser[a.ExternalUserID] = &updated
	ch := s.p.Store.Submit(store.PutAttendee(updated))
	ev := s.capabilitiesEventLocked(m, &updated)
	m.mu.Unlock()

	if err := commit(ch); err != nil {
		return Attendee{}, err
	}
	s.publish(ctx, ev)
	return s.attendeeView(&updated), nil
}

// BatchUpdateAttendeeCapabilitiesExcept sets caps on every attendee of the
// meeting except the excluded ones.
func (s *Service) BatchUpdateAttendeeCapabilitiesExcept(ctx context.Context, meetingID string, excluded []string, caps *Capabilities) error {
	if caps == nil {
		return invalid("Capabilities", "a value is required")
	}
	if len(excluded) < 1 || len(excluded) > 250 {
		return invalid("ExcludedAttendeeIds", "must have 1 to 250 items, got %d", len(excluded))
	}
	skip := make(map[string]bool, len(excluded))
	for _, id := range excluded {
		if !IsGUID(id) {
			return invalid("ExcludedAttendeeIds.AttendeeId", "%q is not an attendee ID", id)
		}
		skip[normID(id)] = true
	}
	m, err := s.lockLive(meetingID)
	if err != nil {
		return err
	}
	if err := validateCapabilities(caps, m.features); err != nil {
		m.mu.Unlock()
		return err
	}
	var ops []store.Op
	var evs []events.Event
	for id, a := range m.attendees {
		if skip[id] || a.Capabilities == *caps {
			continue
		}
		updated := *a
		updated.Capabilities = *caps
		m.attendees[id] = &updated
		m.byExtUser[a.ExternalUserID] = &updated
		ops = append(ops, store.PutAttendee(updated))
		evs = append(evs, s.capabilitiesEventLocked(m, &updated))
	}
	var ch <-chan error
	if len(ops) > 0 {
		ch = s.p.Store.Submit(ops...)
	}
	m.mu.Unlock()
	if ch != nil {
		if err := commit(ch); err != nil {
			return err
		}
	}
	s.publish(ctx, evs...)
	return nil
}

func (s *Service) capabilitiesEventLocked(m *liveMeeting, a *store.AttendeeRecord) events.Event {
	e := s.eventLocked(events.AttendeeCapabilitiesUpdated, m, a)
	e.Detail.Success = "1"
	e.Detail.AttendeeCapabilities = &events.Capabilities{
		Audio: a.Capabilities.Audio, Video: a.Capabilities.Video, Content: a.Capabilities.Content,
	}
	return e
}
