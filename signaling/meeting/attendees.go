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

// addAttendeeLocked validates one input and adds the attendee to m in memory
// (pending until the caller's commit settles it). An ExternalUserId that is
// already present returns that attendee (created=false), so a retried
// CreateAttendee never makes two attendees for one user; if that attendee's
// own creation is still committing, wait is its pending write, which the
// caller must wait for (outside the lock) before answering.
func (s *Service) addAttendeeLocked(m *liveMeeting, in *CreateAttendeeInput, now time.Time) (a *store.AttendeeRecord, created bool, wait *pendingWrite, err error) {
	if err := validateAttendeeInput(in, m.features); err != nil {
		return nil, false, nil, err
	}
	if a := m.byExtUser[in.ExternalUserId]; a != nil {
		return a, false, m.pending[a.AttendeeID], nil
	}
	if cap := s.attendeeCapLocked(m); len(m.attendees) >= cap {
		return nil, false, nil, errorf(ErrLimitExceeded, "Meeting %s has reached its limit of %d attendees", m.rec.MeetingID, cap)
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
	m.pending[a.AttendeeID] = newPendingWrite()
	return a, true, nil, nil
}

// removeAttendeeLocked takes a out of the live model.
func removeAttendeeLocked(m *liveMeeting, a *store.AttendeeRecord) {
	if cur := m.attendees[a.AttendeeID]; cur != nil {
		delete(m.attendees, a.AttendeeID)
		if m.byExtUser[a.ExternalUserID] == cur {
			delete(m.byExtUser, a.ExternalUserID)
		}
	}
}

// settleAdded ends the pending state of attendees created together: on a
// failed commit they leave the live model. Either way their waiting twins
// are released with the outcome.
func settleAdded(m *liveMeeting, added []*store.AttendeeRecord, err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, a := range added {
		p := m.pending[a.AttendeeID]
		delete(m.pending, a.AttendeeID)
		if err != nil {
			removeAttendeeLocked(m, a)
		}
		if p != nil {
			p.err = err
			close(p.done)
		}
	}
}

// CreateAttendee adds an attendee to a meeting and returns it with its join
// token once it is durable. A twin request (same ExternalUserId) answers
// with the same attendee, after that attendee's commit.
func (s *Service) CreateAttendee(ctx context.Context, meetingID string, in *CreateAttendeeInput) (Attendee, error) {
	m, err := s.lockLive(meetingID)
	if err != nil {
		return Attendee{}, err
	}
	a, created, wait, err := s.addAttendeeLocked(m, in, s.p.Clock.Now())
	if err != nil || !created {
		var v Attendee
		if a != nil {
			v = s.attendeeView(a)
		}
		m.mu.Unlock()
		if err == nil && wait != nil && wait.wait() != nil {
			return Attendee{}, errStore()
		}
		return v, err
	}
	evs := []events.Event{s.eventLocked(events.AttendeeAdded, m, a)}
	ch := s.submitLocked([]store.Op{store.PutAttendee(*a)}, evs)
	m.mu.Unlock()

	err = commit(ch)
	settleAdded(m, []*store.AttendeeRecord{a}, err)
	if err != nil {
		return Attendee{}, err
	}
	s.publish(ctx, evs...)
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
		waits   []*pendingWrite
		ops     []store.Op
		evs     []events.Event
		errs    = []CreateAttendeeError{}
	)
	for i := range ins {
		a, created, wait, err := s.addAttendeeLocked(m, &ins[i], now)
		if err != nil {
			errs = append(errs, CreateAttendeeError{ExternalUserId: ins[i].ExternalUserId, ErrorCode: errorCode(err), ErrorMessage: err.Error()})
			continue
		}
		records = append(records, a)
		if wait != nil {
			waits = append(waits, wait)
		}
		if created {
			added = append(added, a)
			ops = append(ops, store.PutAttendee(*a))
			evs = append(evs, s.eventLocked(events.AttendeeAdded, m, a))
		}
	}
	var ch <-chan error
	if len(ops) > 0 {
		ch = s.submitLocked(ops, evs)
	}
	m.mu.Unlock()

	if ch != nil {
		err := commit(ch)
		settleAdded(m, added, err)
		if err != nil {
			return nil, nil, err
		}
	}
	for _, w := range waits { // twins of attendees other requests are committing
		if w.wait() != nil {
			return nil, nil, errStore()
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

// GetAttendee returns one attendee with its join token; an attendee whose
// creation is still committing is returned once it is durable.
func (s *Service) GetAttendee(_ context.Context, meetingID, attendeeID string) (Attendee, error) {
	m, err := s.lockLive(meetingID)
	if err != nil {
		return Attendee{}, err
	}
	a := m.attendees[normID(attendeeID)]
	if a == nil {
		m.mu.Unlock()
		return Attendee{}, attendeeNotFound(attendeeID)
	}
	wait := m.pending[a.AttendeeID]
	v := s.attendeeView(a)
	m.mu.Unlock()
	if wait != nil && wait.wait() != nil {
		return Attendee{}, attendeeNotFound(attendeeID)
	}
	return v, nil
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
		if a.Seq > after && m.pending[a.AttendeeID] == nil { // only durable ones
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
	evs := []events.Event{s.eventLocked(events.AttendeeDeleted, m, a)}
	ch := s.submitLocked([]store.Op{store.DeleteAttendee(a.MeetingID, a.AttendeeID)}, evs)
	m.mu.Unlock()

	if err := commit(ch); err != nil {
		return err // revoked in memory; the record returns only after a restart
	}
	s.publish(ctx, evs...)
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
	evs := []events.Event{s.capabilitiesEventLocked(m, &updated)}
	ch := s.submitLocked([]store.Op{store.PutAttendee(updated)}, evs)
	m.mu.Unlock()

	if err := commit(ch); err != nil {
		return Attendee{}, err
	}
	s.publish(ctx, evs...)
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
		ch = s.submitLocked(ops, evs)
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
