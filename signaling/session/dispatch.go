package session

import (
	"errors"

	"github.com/coder/websocket"
	"google.golang.org/protobuf/proto"

	"github.com/confab-media/confab/signaling/media"
	"github.com/confab-media/confab/signaling/protocol"
)

// maxControlItems caps the stream ids of a PAUSE/RESUME and the entries of
// a REMOTE_VIDEO_UPDATE passed to Media: a client has at most a few dozen.
const maxControlItems = 1024

// handleMessage handles one client message on the reader goroutine and
// reports whether reading should stop (the session is ending).
//
// Every frame type whose handling needs its payload is checked for it here
// (see checkPayload), so Media never sees such a frame without it: a
// SUBSCRIBE without sub gets SUBSCRIBE_ACK error 400, a DATA_MESSAGE
// without data_message a DATA_MESSAGE error 400 (the session stays), any
// other frame missing what it is for closes the session with 4400.
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
	if reason := checkPayload(f); reason != "" {
		switch f.GetType() {
		case protocol.SdkSignalFrame_SUBSCRIBE:
			if !s.joined.Load() {
				break // answered below like any SUBSCRIBE before JOIN
			}
			s.enqueueFrame(s.errorFrame(protocol.SdkSignalFrame_SUBSCRIBE_ACK, statusBadRequest, reason))
			return false
		case protocol.SdkSignalFrame_DATA_MESSAGE:
			s.enqueueFrame(s.errorFrame(protocol.SdkSignalFrame_DATA_MESSAGE, statusBadRequest, reason))
			return false
		default:
			return s.badRequest(nil, reason)
		}
	}
	if s.pendingUnmute {
		s.requestMute(false) // applied once UnmuteRate allows
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
		s.requestMute(f.GetAudioControl().GetMuted())
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
		// CLIENT_METRIC, MEETING_SESSION_TIMING, PRIMARY_MEETING_* and the
		// server's own types: ignored, whatever they carry.
	}
	return false
}

// checkPayload returns why f lacks what its handling needs, or "". JOIN and
// LEAVE carry nothing the server reads; ignored types are not checked.
func checkPayload(f *protocol.SdkSignalFrame) string {
	switch f.GetType() {
	case protocol.SdkSignalFrame_PING_PONG:
		if f.PingPong == nil {
			return "PING_PONG without ping_pong"
		}
	case protocol.SdkSignalFrame_SUBSCRIBE:
		switch {
		case f.Sub == nil:
			return "SUBSCRIBE without sub"
		case f.Sub.GetSdpOffer() == "" && len(f.Sub.GetCompressedSdpOffer()) == 0:
			return "SUBSCRIBE without sdp_offer"
		}
	case protocol.SdkSignalFrame_AUDIO_CONTROL:
		if f.AudioControl == nil || f.AudioControl.Muted == nil {
			return "AUDIO_CONTROL without muted"
		}
	case protocol.SdkSignalFrame_DATA_MESSAGE:
		if f.DataMessage == nil {
			return "DATA_MESSAGE without data_message"
		}
	case protocol.SdkSignalFrame_PAUSE, protocol.SdkSignalFrame_RESUME:
		switch {
		case f.Pause == nil:
			return f.GetType().String() + " without pause"
		case len(f.Pause.GetStreamIds()) > maxControlItems:
			return f.GetType().String() + " with too many stream ids"
		}
	case protocol.SdkSignalFrame_REMOTE_VIDEO_UPDATE:
		switch u := f.RemoteVideoUpdate; {
		case u == nil:
			return "REMOTE_VIDEO_UPDATE without remote_video_update"
		case len(u.GetAddedOrUpdatedVideoSubscriptions())+len(u.GetRemovedVideoSubscriptionMids()) > maxControlItems:
			return "REMOTE_VIDEO_UPDATE with too many entries"
		}
	case protocol.SdkSignalFrame_BITRATES:
		if f.Bitrates == nil {
			return "BITRATES without bitrates"
		}
	}
	return ""
}

// requestMute applies a mute change from the client: to the room (which
// announces it, coalesced; presence.go) and, for a joined session, to
// Media. Muting always takes effect; an unmute over Config.UnmuteRate is
// held in pendingUnmute (the latest wish only) and retried with the next
// frame. Reader goroutine only.
func (s *Session) requestMute(muted bool) {
	s.pendingUnmute = false
	if !muted && !s.lim.take(&s.lim.unmute, s.h.p.Clock.Now()) {
		s.pendingUnmute = true
		return
	}
	if !s.room.setMuted(s, muted) {
		return
	}
	if m := s.h.p.Media; m != nil && s.joined.Load() {
		f := s.frame(protocol.SdkSignalFrame_AUDIO_CONTROL)
		f.AudioControl = &protocol.SdkAudioControlFrame{Muted: proto.Bool(muted)}
		m.Control(s, f) // the mixer stops treating a muted leg as a talker
	}
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
	if !s.lim.take(&s.lim.subscribe, s.h.p.Clock.Now()) {
		s.enqueueFrame(s.errorFrame(protocol.SdkSignalFrame_SUBSCRIBE_ACK, statusTooMany, "too many SUBSCRIBE frames"))
		return false
	}
	if sub.AudioMuted != nil {
		// SUBSCRIBE is rate-limited itself: its mute state applies at once
		// (Media applies it from the frame too) and supersedes a held unmute.
		s.pendingUnmute = false
		s.room.setMuted(s, sub.GetAudioMuted())
	}
	m := s.h.p.Media
	if m == nil {
		s.enqueueFrame(s.errorFrame(protocol.SdkSignalFrame_SUBSCRIBE_ACK, statusUnavailable, "media not available"))
		return false
	}
	ack, err := m.Subscribe(s.ctx, s, sub)
	if err != nil {
		status := media.Status(err) // the media server's own errors carry it
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
