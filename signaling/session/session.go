package session

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"github.com/confab-media/confab/internal/guard"
	"github.com/confab-media/confab/signaling/events"
	"github.com/confab-media/confab/signaling/meeting"
	"github.com/confab-media/confab/signaling/protocol"
)

// Content-share variants of the attendee events (not in package events).
const (
	AttendeeContentJoined  events.Type = "chime:AttendeeContentJoined"
	AttendeeContentLeft    events.Type = "chime:AttendeeContentLeft"
	AttendeeContentDropped events.Type = "chime:AttendeeContentDropped"
)

// departure is how a session ended, which decides the event it emits.
type departure int

const (
	departLeft    departure = iota + 1 // LEAVE, client close, removed, meeting ended
	departDropped                      // timeout, network error, slow client, protocol error, shutdown
)

// closeReq is how the writer ends the connection.
type closeReq struct {
	kind   departure
	code   websocket.StatusCode
	reason string
	now    bool // no close handshake (the peer is gone or too slow)
}

// Session is one signaling WebSocket: one attendee (or content share)
// connection. It has a reader goroutine, which handles frames in order, and
// a writer goroutine fed by a bounded queue; ServeHTTP's goroutine
// supervises both.
type Session struct {
	h     *Handler
	conn  *websocket.Conn
	ident meeting.Identity
	token string
	id    uint64 // set by attach
	room  *room  // set by attach

	ctx    context.Context // ends when the session starts closing
	cancel context.CancelFunc

	out        chan []byte   // encoded frames, in order
	queued     atomic.Int64  // bytes in out (Config.SendQueueBytes)
	skipped    atomic.Int64  // best-effort frames not queued (offer)
	closing    chan struct{} // closed once by terminate
	closeOnce  sync.Once
	req        closeReq      // written before closing is closed
	writerDone chan struct{} // closed when the writer has closed the conn

	joined   atomic.Bool   // set under room.mu by join
	streamID atomic.Uint32 // audio_stream_id, set by join

	lim           *attendeeLimits // the attendee's rate limits (limits.go)
	pendingUnmute bool            // an unmute held by UnmuteRate; reader only

	// Guarded by room.mu.
	muted     bool
	announced bool // muted as last announced to the room (presence.go)
	departed  bool
}

func newSession(h *Handler, c *websocket.Conn, id meeting.Identity, token string, lim *attendeeLimits) *Session {
	ctx, cancel := context.WithCancel(context.Background())
	return &Session{
		h: h, conn: c, ident: id, token: token, lim: lim,
		ctx: ctx, cancel: cancel,
		out:        make(chan []byte, h.cfg.SendQueue),
		closing:    make(chan struct{}),
		writerDone: make(chan struct{}),
	}
}

// ID is unique per Handler: it tells apart an attendee's successive sessions.
func (s *Session) ID() uint64 { return s.id }

// Identity is who the session's join token speaks for. Content-share
// sessions have AttendeeID "<attendee>#content" and Content set.
func (s *Session) Identity() meeting.Identity { return s.ident }

// AudioStreamID is the session's audio_stream_id in presence and
// AUDIO_METADATA (0 before JOIN).
func (s *Session) AudioStreamID() uint32 { return s.streamID.Load() }

// Send queues a frame to the client. It never blocks: a client whose queue
// is full (Config.SendQueue frames or SendQueueBytes bytes) is dropped
// (ErrSlowClient); after the session began closing it returns ErrClosed.
func (s *Session) Send(f *protocol.SdkSignalFrame) error {
	b, err := protocol.Encode(f)
	if err != nil {
		return err
	}
	return s.enqueue(b)
}

func (s *Session) isClosing() bool {
	select {
	case <-s.closing:
		return true
	default:
		return false
	}
}

// offer queues b, a best-effort frame (a relayed data message, a volume
// report), unless the session's queue already holds half its byte cap: a
// listener that has fallen that far behind skips it instead of being closed
// for another attendee's burst. A client that stops reading is still closed:
// its writes time out (Config.WriteTimeout) and its other frames overflow.
func (s *Session) offer(b []byte) {
	if s.queued.Load()+int64(len(b)) > int64(s.h.cfg.SendQueueBytes/2) {
		s.skipped.Add(1)
		return
	}
	_ = s.enqueue(b)
}

func (s *Session) enqueue(b []byte) error {
	select {
	case <-s.closing:
		return ErrClosed
	default:
	}
	n := int64(len(b))
	if s.queued.Add(n) <= int64(s.h.cfg.SendQueueBytes) {
		select {
		case s.out <- b:
			return nil
		default:
		}
	}
	s.queued.Add(-n)
	s.terminate(closeReq{kind: departDropped, reason: "slow client", now: true}, nil)
	return ErrSlowClient
}

// terminate starts closing the session, once: final (if any) is the last
// frame written before the close. It never blocks.
func (s *Session) terminate(req closeReq, final []byte) {
	s.closeOnce.Do(func() {
		if final != nil {
			select {
			case s.out <- final:
			default:
				req.now = true
			}
		}
		s.req = req
		close(s.closing)
		s.cancel()
	})
}

// errPanicked is the reader's result when a panic ended it.
var errPanicked = errors.New("session: reader panicked")

// internalError ends a session whose goroutine panicked: after a reader
// panic the writer still sends what is queued and a close frame with
// CloseInternalError (the SDK reconnects); a panicked writer or supervisor
// closes at once (now).
func internalError(now bool) closeReq {
	return closeReq{kind: departDropped, code: CloseInternalError, reason: "internal error", now: now}
}

// run drives the session until it has ended and its goroutines are done.
// A panic in the reader or the writer ends this session alone
// (CloseInternalError), logged and counted once.
func (s *Session) run() {
	go s.writeLoop()
	readerDone := make(chan error, 1)
	go func() {
		err := errPanicked
		defer func() { readerDone <- err }()
		defer guard.Recover(s.h.p.Log, s.h.p.Panics, "signaling session reader", func(any) {
			s.terminate(internalError(false), nil)
		})
		err = s.readLoop()
	}()
	joinTimer := time.AfterFunc(s.h.cfg.JoinTimeout, func() {
		if !s.joined.Load() {
			s.terminate(closeReq{kind: departDropped, code: CloseTimeout, reason: "no JOIN"}, nil)
		}
	})

	readerExited := false
	select {
	case err := <-readerDone:
		readerExited = true
		s.terminate(readerCloseReq(err), nil)
	case <-s.closing:
	}
	joinTimer.Stop()
	wasJoined := s.depart()
	<-s.writerDone
	if !readerExited {
		<-readerDone
	}
	// After the reader: no Subscribe or Control call for s is in flight.
	if m := s.h.p.Media; m != nil && wasJoined {
		m.Leave(s)
	}
}

// readerCloseReq classifies how reading ended when the server did not end
// the session first: a close frame from the client is a clean departure;
// anything else (timeout, EOF, reset) a drop.
func readerCloseReq(err error) closeReq {
	if err != nil && websocket.CloseStatus(err) != -1 {
		return closeReq{kind: departLeft, code: CloseNormal}
	}
	return closeReq{kind: departDropped, now: true}
}

// readLoop reads and handles frames until an error or a frame that ends
// the session.
func (s *Session) readLoop() error {
	for {
		ctx, cancel := context.WithTimeout(context.Background(), s.h.cfg.IdleTimeout)
		typ, b, err := s.conn.Read(ctx)
		cancel()
		if err != nil {
			return err
		}
		if stop := s.handleMessage(typ, b); stop {
			return nil
		}
	}
}

// writeLoop writes queued frames; once the session is closing it writes
// what is still queued, then closes the connection.
func (s *Session) writeLoop() {
	defer close(s.writerDone)
	defer guard.Recover(s.h.p.Log, s.h.p.Panics, "signaling session writer", func(any) {
		s.terminate(internalError(true), nil)
		_ = s.conn.CloseNow()
	})
	for {
		select {
		case b := <-s.out:
			err := s.write(b)
			s.queued.Add(-int64(len(b)))
			if err != nil {
				// The reader sees the connection end and decides how the
				// session ended: a close frame from the client may be what
				// made this write fail.
				_ = s.conn.CloseNow()
				<-s.closing
				return
			}
		case <-s.closing:
			req := s.req
		drain:
			for !req.now {
				select {
				case b := <-s.out:
					if s.write(b) != nil {
						req.now = true
					}
				default:
					break drain
				}
			}
			if req.now {
				_ = s.conn.CloseNow()
			} else {
				_ = s.conn.Close(req.code, req.reason)
			}
			return
		}
	}
}

func (s *Session) write(b []byte) error {
	ctx, cancel := context.WithTimeout(context.Background(), s.h.cfg.WriteTimeout)
	defer cancel()
	return s.conn.Write(ctx, websocket.MessageBinary, b)
}

// depart takes the session out of its room and reports the departure:
// AttendeeLeft or AttendeeDropped (content variants for content shares) if
// it was the attendee's current session; nothing if a newer session of the
// same attendee had replaced it.
func (s *Session) depart() (wasJoined bool) {
	wasJoined, _ = s.room.leave(s, s.req.kind == departDropped)
	s.room.flushEvents()
	s.h.detach(s)
	s.h.p.Log.Debug("signaling session ended", "meeting", s.ident.MeetingID, "attendee", s.ident.AttendeeID,
		"session", s.id, "code", int(s.req.code), "reason", s.req.reason, "skipped_frames", s.skipped.Load())
	return wasJoined
}

func (s *Session) departEvent() events.Type {
	switch {
	case s.req.kind == departDropped && s.ident.Content:
		return AttendeeContentDropped
	case s.req.kind == departDropped:
		return events.AttendeeDropped
	case s.ident.Content:
		return AttendeeContentLeft
	default:
		return events.AttendeeLeft
	}
}

func (s *Session) joinEvent(replaced bool) events.Type {
	switch {
	case replaced:
		return events.AttendeeAuthorized
	case s.ident.Content:
		return AttendeeContentJoined
	default:
		return events.AttendeeJoined
	}
}

// frame returns a new frame of type t stamped with the clock.
func (s *Session) frame(t protocol.SdkSignalFrame_Type) *protocol.SdkSignalFrame {
	return protocol.NewFrame(t, s.h.p.Clock.Now())
}
