package session

import (
	"errors"
	"net/http"
	"strings"
	"sync"

	"github.com/coder/websocket"

	"github.com/confab-media/confab/conference"
	"github.com/confab-media/confab/internal/guard"
	"github.com/confab-media/confab/signaling/events"
	"github.com/confab-media/confab/signaling/meeting"
	"github.com/confab-media/confab/signaling/protocol"
)

// Subprotocol is the WebSocket subprotocol the SDK offers next to its join
// token; the server must select it or the browser fails the connection.
const Subprotocol = "_aws_wt_session"

// Handler serves the signaling WebSocket. Mount it on GET
// /control/{meetingID} and register it with the meeting service
// (meeting.Lifecycle) so it learns of DeleteAttendee and meeting ends:
//
//	mux.Handle("GET /control/{meetingID}", h)
//	svc.Observe(h)
//
// Close closes every session and waits for all of their goroutines.
type Handler struct {
	cfg    Config
	p      Params
	accept websocket.AcceptOptions
	done   chan struct{} // closed by Close

	// mu guards rooms, closed, nextID, limits (and each entry's refs) and
	// limitsSweepAt. Lock order: h.mu, then room.mu; h.mu, then
	// attendeeLimits.mu.
	mu            sync.Mutex
	rooms         map[string]*room
	closed        bool
	nextID        uint64
	limits        map[string]*attendeeLimits // by lower-case attendee ID (limits.go)
	limitsSweepAt int

	wg sync.WaitGroup // one per running ServeHTTP
}

var _ http.Handler = (*Handler)(nil)

// New returns a Handler.
func New(cfg Config, p Params) (*Handler, error) {
	p, err := p.validate()
	if err != nil {
		return nil, err
	}
	h := &Handler{
		cfg:   cfg.withDefaults(),
		p:     p,
		done:  make(chan struct{}),
		rooms: map[string]*room{},

		limits:        map[string]*attendeeLimits{},
		limitsSweepAt: minLimitsSweep,
	}
	h.accept = websocket.AcceptOptions{
		Subprotocols:       []string{Subprotocol},
		OriginPatterns:     cfg.OriginPatterns,
		InsecureSkipVerify: len(cfg.OriginPatterns) == 0,
		CompressionMode:    websocket.CompressionDisabled,
	}
	return h, nil
}

// ServeHTTP upgrades the request and runs the session until it ends. A
// panic in it (or in the Media calls it makes) is contained: the session
// is closed with CloseInternalError, logged and counted in Params.Panics.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		http.Error(w, "shutting down", http.StatusServiceUnavailable)
		return
	}
	h.wg.Add(1)
	h.mu.Unlock()
	defer h.wg.Done()
	var c *websocket.Conn
	var s *Session
	defer guard.Recover(h.p.Log, h.p.Panics, "signaling session", func(any) {
		if s != nil {
			s.terminate(internalError(true), nil)
		}
		if c != nil {
			_ = c.CloseNow()
		}
	})

	meetingID := pathMeetingID(r)
	id, token, code, reason := h.authenticate(r, meetingID)
	c, err := websocket.Accept(w, r, &h.accept)
	if err != nil {
		h.p.Log.Debug("websocket upgrade failed", "err", err)
		return // Accept wrote the HTTP error
	}
	c.SetReadLimit(protocol.MaxFrameSize)
	if code != 0 {
		h.p.Log.Info("signaling connection refused", "meeting", meetingID, "code", int(code), "reason", reason)
		h.reject(c, code, reason)
		return
	}
	lim := h.acquireLimits(id.AttendeeID)
	defer h.releaseLimits(lim)
	if !lim.take(&lim.connect, h.p.Clock.Now()) {
		h.p.Log.Debug("signaling connection refused: attendee reconnects too often",
			"meeting", meetingID, "attendee", id.AttendeeID, "code", int(CloseRateLimited))
		h.reject(c, CloseRateLimited, "too many connections")
		return
	}
	s = newSession(h, c, id, token, lim)
	if err := h.attach(s); err != nil {
		code, reason := CloseServerShutdown, "server shutting down"
		if !errors.Is(err, ErrClosed) {
			code, reason = CloseMeetingEnded, "meeting ended"
		}
		h.reject(c, code, reason)
		return
	}
	// The meeting may have ended between Verify and attach, before this
	// session could be evicted: check again now that it can be.
	if _, err := h.p.Auth.Verify(s.token); err != nil {
		code, reason := verifyCloseCode(err)
		s.terminate(closeReq{kind: departLeft, code: code, reason: reason}, nil)
	}
	s.run()
}

// authenticate returns the caller's identity, or a close code and reason.
func (h *Handler) authenticate(r *http.Request, meetingID string) (id meeting.Identity, token string, code websocket.StatusCode, reason string) {
	token, ok := joinToken(r.Header)
	if !ok {
		return id, "", CloseAuthRejected, "missing join token"
	}
	id, err := h.p.Auth.Verify(token)
	if err != nil {
		code, reason := verifyCloseCode(err)
		return id, "", code, reason
	}
	if !strings.EqualFold(id.MeetingID, meetingID) {
		return id, "", CloseForbidden, "join token is for another meeting"
	}
	id.MeetingID = strings.ToLower(id.MeetingID)
	return id, token, 0, ""
}

func verifyCloseCode(err error) (websocket.StatusCode, string) {
	switch {
	case errors.Is(err, meeting.ErrMeetingEnded):
		return CloseMeetingEnded, "meeting ended"
	case errors.Is(err, meeting.ErrTokenRevoked):
		return CloseAuthRejected, "join token revoked"
	default:
		return CloseAuthRejected, "invalid join token"
	}
}

// joinToken finds the token offered next to Subprotocol in
// Sec-WebSocket-Protocol.
func joinToken(hdr http.Header) (string, bool) {
	var token string
	var hasProto bool
	for _, v := range hdr.Values("Sec-WebSocket-Protocol") {
		for _, p := range strings.Split(v, ",") {
			p = strings.TrimSpace(p)
			switch {
			case p == Subprotocol:
				hasProto = true
			case p != "" && token == "":
				token = p
			}
		}
	}
	return token, hasProto && token != ""
}

// pathMeetingID is the {meetingID} path value, or the last path segment
// when the handler is mounted without a pattern.
func pathMeetingID(r *http.Request) string {
	if v := r.PathValue("meetingID"); v != "" {
		return v
	}
	p := strings.TrimSuffix(r.URL.Path, "/")
	return p[strings.LastIndexByte(p, '/')+1:]
}

// attach registers s with its meeting's room.
func (h *Handler) attach(s *Session) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return ErrClosed
	}
	h.nextID++
	s.id = h.nextID
	rm := h.rooms[s.ident.MeetingID]
	if rm == nil {
		rm = newRoom(h, s.ident.MeetingID)
		h.rooms[rm.id] = rm
	}
	rm.mu.Lock()
	defer rm.mu.Unlock()
	if rm.ended {
		return meeting.ErrMeetingEnded
	}
	rm.all[s] = struct{}{}
	s.room = rm
	return nil
}

// detach unregisters s and forgets an idle room.
func (h *Handler) detach(s *Session) {
	h.mu.Lock()
	defer h.mu.Unlock()
	rm := s.room
	rm.mu.Lock()
	defer rm.mu.Unlock()
	delete(rm.all, s)
	if len(rm.all) == 0 && rm.phones == 0 && !rm.data.keepsLocked(h.p.Clock.Now()) && h.rooms[rm.id] == rm {
		delete(h.rooms, rm.id)
	}
}

func (h *Handler) room(meetingID string) *room {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.rooms[strings.ToLower(meetingID)]
}

// AttendeeDeleted closes that attendee's sessions (and its content share)
// with AUDIO_STATUS 411 (meeting.Lifecycle). It does not block.
func (h *Handler) AttendeeDeleted(meetingID, attendeeID string) {
	rm := h.room(meetingID)
	if rm == nil {
		return
	}
	att := strings.ToLower(attendeeID)
	rm.evict(func(s *Session) bool {
		a := strings.ToLower(s.ident.AttendeeID)
		return a == att || a == att+meeting.ContentSuffix
	}, closeReq{kind: departLeft, code: CloseAuthRejected, reason: "attendee removed"}, audioStatusAttendeeRemoved)
}

// MeetingEnded closes every session of the meeting with AUDIO_STATUS 410
// and close code 4410 (meeting.Lifecycle); no session joins it any more.
func (h *Handler) MeetingEnded(meetingID string) {
	h.mu.Lock()
	id := strings.ToLower(meetingID)
	rm := h.rooms[id]
	delete(h.rooms, id)
	h.mu.Unlock()
	if rm == nil {
		return
	}
	rm.end()
	rm.evict(func(*Session) bool { return true },
		closeReq{kind: departLeft, code: CloseMeetingEnded, reason: "meeting ended"}, audioStatusMeetingEnded)
}

// CapabilitiesUpdated changes nothing in signaling: the media server and
// the conference Room apply capabilities (meeting.Lifecycle).
func (h *Handler) CapabilitiesUpdated(string, string, meeting.Capabilities) {}

var _ meeting.Lifecycle = (*Handler)(nil)

// Volumes sends one AUDIO_METADATA frame with the given levels to every
// joined session of the meeting (conference.Listener: the meeting's Room
// reports every ~200 ms). Attendees not joined are skipped; attendees not
// listed read as silent.
func (h *Handler) Volumes(meetingID string, vols []conference.Volume) {
	if rm := h.room(meetingID); rm != nil {
		rm.broadcastVolumes(vols)
	}
}

// PhoneJoined implements conference.Listener with JoinPhone.
func (h *Handler) PhoneJoined(id meeting.Identity) (leave func(dropped bool), err error) {
	return h.JoinPhone(id)
}

var _ conference.Listener = (*Handler)(nil)

// Close closes every session (close code 4503, so SDK clients reconnect)
// and waits for all of their goroutines. Later upgrades get HTTP 503.
func (h *Handler) Close() {
	h.mu.Lock()
	if !h.closed {
		h.closed = true
		close(h.done)
	}
	rooms := make([]*room, 0, len(h.rooms))
	for _, rm := range h.rooms {
		rooms = append(rooms, rm)
	}
	h.mu.Unlock()
	for _, rm := range rooms {
		rm.evict(func(*Session) bool { return true },
			closeReq{kind: departDropped, code: CloseServerShutdown, reason: "server shutting down"}, 0)
	}
	h.wg.Wait()
}

// event builds an attendee event about id.
func (h *Handler) event(t events.Type, id meeting.Identity) events.Event {
	e := events.New(t, h.p.Clock.Now(), h.cfg.AccountID, id.MediaRegion)
	e.Detail.MeetingID = id.MeetingID
	e.Detail.ExternalMeetingID = id.ExternalMeetingID
	e.Detail.AttendeeID = id.AttendeeID
	e.Detail.ExternalUserID = id.ExternalUserID
	if t != events.AttendeeAuthorized {
		e.Detail.NetworkType = "Voip"
	}
	return e
}
