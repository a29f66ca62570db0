// Package meeting is Confab's control-plane domain: meetings, attendees, join
// tokens, idempotency, quotas, placement on media groups and the meeting
// lifecycle (end on delete, after the maximum duration, or when nobody has
// been connected for the idle timeout).
//
// The Service keeps the live model in memory and makes every change durable
// through store.Store before the call returns; it emits a Chime-shaped event
// for every state change. With a store that keeps the delivery outbox
// (store.HasOutbox), each event is committed in the same transaction as its
// change, and published on the bus only after that commit. A request that
// finds its own earlier twin still committing (a retried CreateAttendee with
// the same ExternalUserId, a CreateMeeting with the same ClientRequestToken)
// waits for that commit and answers only once it is durable. Each meeting has its own lock, so requests for
// different meetings never wait for each other; the store group-commits them.
package meeting

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/confab-media/confab/internal/clock"
	"github.com/confab-media/confab/signaling/events"
	"github.com/confab-media/confab/signaling/store"
)

// Config holds the tunables of the meeting service.
type Config struct {
	AccountID string   // 12 digits, used in MeetingArn
	Regions   []string // media regions served by this deployment
	// AttendeesPerMeeting is the default cap (Chime: 250); MeetingFeatures
	// .Attendee.MaxCount lowers it per meeting.
	AttendeesPerMeeting int
	// HighResolutionAttendees caps meetings with FHD video or UHD content (25).
	HighResolutionAttendees int
	MaxDuration             time.Duration // 24 h
	IdleTimeout             time.Duration // 5 min with nobody connected
	SweepInterval           time.Duration // how often the lifecycle is checked
}

// Publisher receives the events the service emits (an *events.Bus).
type Publisher interface {
	Publish(ctx context.Context, e events.Event)
}

// Params are the service's dependencies.
type Params struct {
	Store    store.Store
	Placer   Placer
	Events   Publisher
	Clock    clock.Clock
	Log      *slog.Logger
	TokenKey []byte // ≥ 32 random bytes, stable across restarts
	// Targets, if set, learns each meeting's NotificationsConfiguration
	// (event delivery, signaling/notify).
	Targets Targets
}

// Targets is where meetings' NotificationsConfiguration goes. Check
// refuses targets no configured endpoint serves (CreateMeeting answers
// BadRequestException); Set registers a new meeting's targets before its
// MeetingStarted event is submitted, and an empty configuration forgets them
// (after a failed commit).
type Targets interface {
	Check(n NotificationsConfiguration) error
	Set(meetingID string, n NotificationsConfiguration) error
}

// Service is the meeting control plane. Create it with New, then Start its
// lifecycle loop; Close stops it.
type Service struct {
	cfg     Config
	p       Params
	tokens  tokenCodec
	regions map[string]bool
	// outboxed: the store writes Event ops into the delivery outbox.
	outboxed bool

	createMu sync.Mutex // serialises meeting creation: idempotency is race-free

	// mu guards meetings and byRequestToken. Lock order: a liveMeeting's mu
	// may be held while taking this one, never the other way round.
	mu             sync.RWMutex
	meetings       map[string]*liveMeeting
	byRequestToken map[string]*liveMeeting

	observersMu sync.Mutex  // guards observers
	observers   []Lifecycle // see Observe

	stop chan struct{}
	wg   sync.WaitGroup // the lifecycle loop
}

// liveMeeting is a meeting in memory.
type liveMeeting struct {
	mu        sync.Mutex // guards everything below
	rec       store.MeetingRecord
	group     MediaGroup
	features  effectiveFeatures
	attendees map[string]*store.AttendeeRecord // by AttendeeId
	byExtUser map[string]*store.AttendeeRecord // by ExternalUserId
	lastSeq   uint64                           // highest AttendeeRecord.Seq given out
	// pending holds attendees (by AttendeeId) whose creation is submitted
	// but not yet durable; their twins wait on it before answering.
	pending map[string]*pendingWrite
	ended   bool
	// connected counts media connections by attendee; idleSince is when the
	// count last dropped to zero (or the meeting was created or loaded).
	connected map[string]int
	idleSince time.Time
}

// New builds the service and loads the stored state. Meetings loaded from the
// store get a fresh idle period, since their clients must reconnect anyway.
func New(ctx context.Context, cfg Config, p Params) (*Service, error) {
	if len(p.TokenKey) < 32 {
		return nil, errors.New("meeting: TokenKey must be at least 32 bytes")
	}
	s := &Service{
		cfg:            cfg,
		p:              p,
		tokens:         tokenCodec{key: p.TokenKey},
		regions:        map[string]bool{},
		meetings:       map[string]*liveMeeting{},
		byRequestToken: map[string]*liveMeeting{},
		stop:           make(chan struct{}),
		outboxed:       store.HasOutbox(p.Store),
	}
	for _, r := range cfg.Regions {
		s.regions[r] = true
	}
	ms, as, err := p.Store.Load(ctx)
	if err != nil {
		return nil, err
	}
	now := p.Clock.Now()
	for _, rec := range ms {
		g, err := p.Placer.Restore(rec.MeetingID, rec.MediaGroup)
		if err != nil {
			return nil, fmt.Errorf("meeting: restore %s: %w", rec.MeetingID, err)
		}
		m := newLiveMeeting(rec, g, now)
		s.meetings[rec.MeetingID] = m
		s.byRequestToken[rec.ClientRequestToken] = m
	}
	for i := range as {
		a := &as[i]
		if m := s.meetings[a.MeetingID]; m != nil {
			m.attendees[a.AttendeeID] = a
			m.byExtUser[a.ExternalUserID] = a
			m.lastSeq = max(m.lastSeq, a.Seq)
		}
	}
	p.Log.Info("meeting state loaded", "meetings", len(ms), "attendees", len(as))
	return s, nil
}

func newLiveMeeting(rec store.MeetingRecord, g MediaGroup, now time.Time) *liveMeeting {
	return &liveMeeting{
		rec:       rec,
		group:     g,
		features:  featuresOf(rec.Features),
		attendees: map[string]*store.AttendeeRecord{},
		byExtUser: map[string]*store.AttendeeRecord{},
		pending:   map[string]*pendingWrite{},
		connected: map[string]int{},
		idleSince: now,
	}
}

// lookup returns the live meeting or a NotFound error.
func (s *Service) lookup(meetingID string) (*liveMeeting, error) {
	s.mu.RLock()
	m := s.meetings[normID(meetingID)]
	s.mu.RUnlock()
	if m == nil {
		return nil, meetingNotFound(meetingID)
	}
	return m, nil
}

// lockLive returns the live meeting locked, or a NotFound error (unlocked).
func (s *Service) lockLive(meetingID string) (*liveMeeting, error) {
	m, err := s.lookup(meetingID)
	if err != nil {
		return nil, err
	}
	m.mu.Lock()
	if m.ended {
		m.mu.Unlock()
		return nil, meetingNotFound(meetingID)
	}
	return m, nil
}

// commit waits for a store submission and converts a failure.
func commit(ch <-chan error) error {
	if err := <-ch; err != nil {
		return errStore()
	}
	return nil
}

func errStore() error {
	return &Error{Kind: ErrStore, Msg: "The meeting service could not store the change; try again"}
}

// pendingWrite is a submitted change that is not durable yet. done closes
// once it is settled; err (set before) says how.
type pendingWrite struct {
	done chan struct{}
	err  error
}

func newPendingWrite() *pendingWrite { return &pendingWrite{done: make(chan struct{})} }

// wait blocks until the write is settled and returns its error.
func (p *pendingWrite) wait() error {
	<-p.done
	return p.err
}

// submitLocked queues ops together with the events they announce: with an
// outbox, the events ride in the same transaction and are marked Outboxed
// (the delivery sink then skips them on the bus). The caller holds the
// meeting's lock (per-meeting order) and publishes evs after the commit.
func (s *Service) submitLocked(ops []store.Op, evs []events.Event) <-chan error {
	if s.outboxed {
		ops = slices.Clip(ops)
		for i := range evs {
			evs[i].Outboxed = true
			ops = append(ops, store.Event(evs[i]))
		}
	}
	return s.p.Store.Submit(ops...)
}

func (s *Service) arn(region, meetingID string) string {
	return "arn:aws:chime:" + region + ":" + s.cfg.AccountID + ":meeting/" + meetingID
}

// viewLocked renders the API Meeting object. Caller holds m.mu (or m is new).
func (s *Service) viewLocked(m *liveMeeting) Meeting {
	r := &m.rec
	tenants := r.TenantIDs
	if tenants == nil {
		tenants = []string{}
	}
	return Meeting{
		MeetingId:         r.MeetingID,
		MeetingHostId:     r.MeetingHostID,
		ExternalMeetingId: r.ExternalMeetingID,
		MediaRegion:       r.MediaRegion,
		MediaPlacement:    m.group.placement(r.MeetingID),
		MeetingFeatures:   r.Features,
		PrimaryMeetingId:  r.PrimaryMeetingID,
		TenantIds:         tenants,
		MeetingArn:        s.arn(r.MediaRegion, r.MeetingID),
	}
}

func (s *Service) attendeeView(a *store.AttendeeRecord) Attendee {
	return Attendee{
		ExternalUserId: a.ExternalUserID,
		AttendeeId:     a.AttendeeID,
		JoinToken:      s.tokens.mint(a.MeetingID, a.AttendeeID, a.TokenNonce),
		Capabilities:   a.Capabilities,
	}
}

// event starts an event about m; the caller holds m.mu or owns m.
func (s *Service) eventLocked(t events.Type, m *liveMeeting, a *store.AttendeeRecord) events.Event {
	e := events.New(t, s.p.Clock.Now(), s.cfg.AccountID, m.rec.MediaRegion)
	e.Detail.MeetingID = m.rec.MeetingID
	e.Detail.ExternalMeetingID = m.rec.ExternalMeetingID
	if a != nil {
		e.Detail.AttendeeID = a.AttendeeID
		e.Detail.ExternalUserID = a.ExternalUserID
	}
	return e
}

func (s *Service) publish(ctx context.Context, evs ...events.Event) {
	for _, e := range evs {
		s.react(e)
		s.p.Events.Publish(context.WithoutCancel(ctx), e)
	}
}

// CreateMeeting creates a meeting, or returns the live meeting created
// earlier with the same ClientRequestToken.
func (s *Service) CreateMeeting(ctx context.Context, in *CreateMeetingInput) (Meeting, error) {
	m, err := s.createMeeting(ctx, in, false)
	if err != nil {
		return Meeting{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return s.viewLocked(m), nil
}

// CreateMeetingWithAttendees creates (or finds) the meeting and then its
// attendees; per-attendee failures are reported in the error list.
func (s *Service) CreateMeetingWithAttendees(ctx context.Context, in *CreateMeetingInput) (Meeting, []Attendee, []CreateAttendeeError, error) {
	m, err := s.createMeeting(ctx, in, true)
	if err != nil {
		return Meeting{}, nil, nil, err
	}
	as, errs, err := s.batchCreate(ctx, m, in.Attendees)
	if err != nil {
		return Meeting{}, nil, nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return s.viewLocked(m), as, errs, nil
}

func (s *Service) createMeeting(ctx context.Context, in *CreateMeetingInput, withAttendees bool) (*liveMeeting, error) {
	if err := validateCreateMeeting(in, withAttendees); err != nil {
		return nil, err
	}
	if err := validateFeatures(in.MeetingFeatures, s.cfg.AttendeesPerMeeting, s.cfg.HighResolutionAttendees); err != nil {
		return nil, err
	}
	if !s.regions[in.MediaRegion] {
		return nil, invalid("MediaRegion", "%q is not served by this deployment", in.MediaRegion)
	}
	if n := in.NotificationsConfiguration; n != nil && s.p.Targets != nil {
		if err := s.p.Targets.Check(*n); err != nil {
			return nil, invalid("NotificationsConfiguration", "%v", err)
		}
	}
	if in.PrimaryMeetingId != "" {
		if _, err := s.lookup(in.PrimaryMeetingId); err != nil {
			return nil, invalid("PrimaryMeetingId", "meeting %s does not exist", in.PrimaryMeetingId)
		}
	}

	s.createMu.Lock()
	defer s.createMu.Unlock()
	s.mu.RLock()
	existing := s.byRequestToken[in.ClientRequestToken]
	s.mu.RUnlock()
	if existing != nil {
		return existing, nil
	}

	id := newGUID()
	g, err := s.p.Placer.Place(ctx, id, in.MediaRegion)
	if err != nil {
		return nil, err
	}
	now := s.p.Clock.Now()
	rec := store.MeetingRecord{
		MeetingID:                 id,
		ExternalMeetingID:         in.ExternalMeetingId,
		MeetingHostID:             in.MeetingHostId,
		MediaRegion:               in.MediaRegion,
		MediaGroup:                g.ID,
		ClientRequestToken:        in.ClientRequestToken,
		PrimaryMeetingID:          normID(in.PrimaryMeetingId),
		TenantIDs:                 in.TenantIds,
		MediaPlacementNetworkType: in.MediaPlacementNetworkType,
		Features:                  in.MeetingFeatures,
		Notifications:             in.NotificationsConfiguration,
		Tags:                      in.Tags,
		CreatedAt:                 now,
	}
	m := newLiveMeeting(rec, g, now)
	// The targets are registered first: MeetingStarted is queued for them in
	// the meeting's own transaction. createMu, held across the commit, makes
	// a concurrent CreateMeeting with the same token wait for it.
	targets := rec.Notifications != nil && s.p.Targets != nil
	if targets {
		if err := s.p.Targets.Set(id, *rec.Notifications); err != nil {
			s.p.Log.Error("meeting notification targets not registered", "meeting", id, "err", err)
		}
	}
	evs := []events.Event{s.eventLocked(events.MeetingStarted, m, nil)}
	if err := commit(s.submitLocked([]store.Op{store.PutMeeting(rec)}, evs)); err != nil {
		s.p.Placer.Release(id)
		if targets {
			_ = s.p.Targets.Set(id, NotificationsConfiguration{}) // forget
		}
		return nil, err
	}
	s.mu.Lock()
	s.meetings[id] = m
	s.byRequestToken[rec.ClientRequestToken] = m
	s.mu.Unlock()
	s.p.Log.Info("meeting created", "meeting", id, "region", rec.MediaRegion, "group", g.ID)
	s.publish(ctx, evs...)
	return m, nil
}

// GetMeeting returns a live meeting.
func (s *Service) GetMeeting(_ context.Context, meetingID string) (Meeting, error) {
	m, err := s.lockLive(meetingID)
	if err != nil {
		return Meeting{}, err
	}
	defer m.mu.Unlock()
	return s.viewLocked(m), nil
}

// DeleteMeeting ends a meeting now.
func (s *Service) DeleteMeeting(ctx context.Context, meetingID string) error {
	m, err := s.lookup(meetingID)
	if err != nil {
		return err
	}
	return s.end(ctx, m, "deleted")
}

// end removes m from the live model and the store and emits MeetingEnded.
// Every join token of the meeting stops verifying at once.
func (s *Service) end(ctx context.Context, m *liveMeeting, reason string) error {
	m.mu.Lock()
	if m.ended {
		m.mu.Unlock()
		return meetingNotFound(m.rec.MeetingID)
	}
	m.ended = true
	id := m.rec.MeetingID
	s.mu.Lock()
	delete(s.meetings, id)
	if s.byRequestToken[m.rec.ClientRequestToken] == m {
		delete(s.byRequestToken, m.rec.ClientRequestToken)
	}
	s.mu.Unlock()
	evs := []events.Event{s.eventLocked(events.MeetingEnded, m, nil)}
	ch := s.submitLocked([]store.Op{store.DeleteMeeting(id)}, evs)
	m.mu.Unlock()

	s.p.Placer.Release(id)
	err := commit(ch)
	if err != nil {
		// The meeting is over for every client either way; a stale record is
		// swept again after the next restart.
		s.p.Log.Error("meeting end not stored", "meeting", id, "err", err)
		evs[0].Outboxed = false // not in the outbox: the delivery sink tries
	}
	s.p.Log.Info("meeting ended", "meeting", id, "reason", reason)
	s.publish(ctx, evs...)
	return nil
}

// Verify checks a join token (or "<token>#content") and returns whom it
// speaks for. It runs in constant time over the token's secret parts and
// fails with ErrTokenInvalid, ErrTokenRevoked or ErrMeetingEnded.
func (s *Service) Verify(token string) (Identity, error) {
	p, ok := s.tokens.parse(token)
	if !ok {
		return Identity{}, ErrTokenInvalid
	}
	s.mu.RLock()
	m := s.meetings[p.meetingID]
	s.mu.RUnlock()
	if m == nil {
		return Identity{}, ErrMeetingEnded
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.ended {
		return Identity{}, ErrMeetingEnded
	}
	a := m.attendees[p.attendeeID]
	if a == nil || subtle.ConstantTimeCompare(a.TokenNonce, p.nonce[:]) != 1 {
		return Identity{}, ErrTokenRevoked
	}
	id := Identity{
		MeetingID:         m.rec.MeetingID,
		AttendeeID:        a.AttendeeID,
		ExternalUserID:    a.ExternalUserID,
		Content:           p.content,
		Capabilities:      a.Capabilities,
		ExternalMeetingID: m.rec.ExternalMeetingID,
		MediaRegion:       m.rec.MediaRegion,
		MediaGroup:        m.rec.MediaGroup,
	}
	id.MaxResolution.Video, id.MaxResolution.Content = m.features.videoMax, m.features.contentMax
	if p.content {
		id.AttendeeID += ContentSuffix
		id.ExternalUserID += ContentSuffix
	}
	return id, nil
}

// newNonce returns a fresh join-token nonce.
func newNonce() []byte {
	b := make([]byte, tokenNonceLen)
	_, _ = rand.Read(b)
	return b
}
