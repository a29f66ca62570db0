package session

import (
	"errors"

	"github.com/coder/websocket"
	"google.golang.org/protobuf/proto"

	"github.com/confab-media/confab/signaling/protocol"
)

// handleMessage handles one client message on the reader goroutine and
// reports whether reading should stop (the session is ending).
func (s *Session) handleMessage(typ websocket.MessageType, b []byte) (stop bool) {
	if typ != websocket.MessageBinary {
		return s.badRequest(nil, "text message")
	}
	f, err := protocol.Decode(b)
	switch {
	case errors.Is(err, protocol.ErrUnknownType):
		return false // a newer client's frame: skip it
	case err != nil:
		s.h.p.Log.Debug("bad signaling frame", "session", s.id, "err", err)
		return s.badRequest(nil, "malformed frame")
	}
	switch f.GetType() {
	case protocol.SdkSignalFrame_PING_PONG:
		s.pong(f.GetPingPong())
	case protocol.SdkSignalFrame_JOIN:
		return s.handleJoin()
	case protocol.SdkSignalFrame_SUBSCRIBE:
		return s.handleSubscribe(f.GetSub())
	case protocol.SdkSignalFrame_LEAVE:
		ack := s.frame(protocol.SdkSignalFrame_LEAVE_ACK)
		ack.LeaveAck = &protocol.SdkLeaveAckFrame{}
		s.terminate(closeReq{kind: departLeft, code: CloseNormal, reason: "left"}, mustEncode(ack))
		return true
	case protocol.SdkSignalFrame_AUDIO_CONTROL:
		if ac := f.GetAudioControl(); ac != nil && ac.Muted != nil {
			s.room.setMuted(s, ac.GetMuted())
			if m := s.h.p.Media; m != nil && s.joined.Load() {
				m.Control(s, f) // the mixer stops treating a muted leg as a talker
			}
		}
	case protocol.SdkSignalFrame_DATA_MESSAGE:
		if s.joined.Load() { // before JOIN there is nobody to relay to yet
			s.room.dataMessages(s, f.GetDataMessage().GetMessages())
		}
	case protocol.SdkSignalFrame_PAUSE, protocol.SdkSignalFrame_RESUME,
		protocol.SdkSignalFrame_REMOTE_VIDEO_UPDATE, protocol.SdkSignalFrame_BITRATES:
		if m := s.h.p.Media; m != nil && s.joined.Load() {
			m.Control(s, f)
		}
	default:
		// CLIENT_METRIC, MEETING_SESSION_TIMING and the rest: ignored.
	}
	return false
}

func (s *Session) pong(p *protocol.SdkPingPongFrame) {
	if p.GetType() != protocol.SdkPingPongType_PING {
		return
	}
	f := s.frame(protocol.SdkSignalFrame_PING_PONG)
	f.PingPong = &protocol.SdkPingPongFrame{Type: protocol.SdkPingPongType_PONG.Enum(), PingId: proto.Uint32(p.GetPingId())}
	s.enqueueFrame(f)
}

func (s *Session) handleJoin() (stop bool) {
	if s.joined.Load() {
		return false // a repeated JOIN on one connection: nothing new to say
	}
	err := s.room.join(s)
	s.room.flushEvents()
	if err != nil {
		if !errors.Is(err, ErrClosed) {
			s.terminate(closeReq{kind: departLeft, code: CloseMeetingEnded, reason: "meeting ended"}, nil)
		}
		return true
	}
	return false
}

func (s *Session) handleSubscribe(sub *protocol.SdkSubscribeFrame) (stop bool) {
	if !s.joined.Load() {
		return s.badRequest(s.errorFrame(protocol.SdkSignalFrame_SUBSCRIBE_ACK, statusBadRequest, "SUBSCRIBE before JOIN"),
			"SUBSCRIBE before JOIN")
	}
	if sub.AudioMuted != nil {
		s.room.setMuted(s, sub.GetAudioMuted())
	}
	m := s.h.p.Media
	if m == nil {
		s.enqueueFrame(s.errorFrame(protocol.SdkSignalFrame_SUBSCRIBE_ACK, statusUnavailable, "media not available"))
		return false
	}
	ack, err := m.Subscribe(s.ctx, s, sub)
	if err != nil {
		status := statusInternal
		switch {
		case errors.Is(err, ErrBadRequest):
			status = statusBadRequest
		case errors.Is(err, ErrMediaUnavailable):
			status = statusUnavailable
		}
		s.h.p.Log.Info("subscribe failed", "session", s.id, "attendee", s.ident.AttendeeID, "err", err)
		s.enqueueFrame(s.errorFrame(protocol.SdkSignalFrame_SUBSCRIBE_ACK, status, err.Error()))
		return false
	}
	f := s.frame(protocol.SdkSignalFrame_SUBSCRIBE_ACK)
	f.Suback = ack
	if err := s.Send(f); err != nil && !errors.Is(err, ErrClosed) && !errors.Is(err, ErrSlowClient) {
		s.h.p.Log.Error("subscribe ack not encodable", "session", s.id, "err", err)
		s.enqueueFrame(s.errorFrame(protocol.SdkSignalFrame_SUBSCRIBE_ACK, statusInternal, "internal error"))
	}
	return false
}

// badRequest closes the session with 4400 after final (if any).
func (s *Session) badRequest(final *protocol.SdkSignalFrame, reason string) (stop bool) {
	var b []byte
	if final != nil {
		b = mustEncode(final)
	}
	s.terminate(closeReq{kind: departDropped, code: CloseBadRequest, reason: reason}, b)
	return true
}

// errorFrame is a frame of type t carrying error {status, description} and
// an empty payload of its type, so the SDK's handlers for t find one.
func (s *Session) errorFrame(t protocol.SdkSignalFrame_Type, status uint32, desc string) *protocol.SdkSignalFrame {
	f := s.frame(t)
	f.Error = &protocol.SdkErrorFrame{Status: proto.Uint32(status), Description: proto.String(desc)}
	switch t {
	case protocol.SdkSignalFrame_SUBSCRIBE_ACK:
		f.Suback = &protocol.SdkSubscribeAckFrame{}
	case protocol.SdkSignalFrame_DATA_MESSAGE:
		f.DataMessage = &protocol.SdkDataMessageFrame{}
	}
	return f
}
