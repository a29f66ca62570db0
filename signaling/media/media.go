// Package media is the contract between client signaling (package
// signaling/session, the Chime WebSocket) and a media server (package sfu,
// WebRTC): the media server is handed a small [Session] — ids and a way to
// send frames — never the signaling session itself, and returns errors
// that carry their own SUBSCRIBE_ACK status ([Status]), which signaling
// maps to frames at its edge.
package media

import (
	"context"
	"errors"

	"github.com/confab-media/confab/signaling/meeting"
	"github.com/confab-media/confab/signaling/protocol"
)

// Session is one joined signaling session as a media server sees it.
type Session interface {
	// ID is unique among the process's sessions and grows with each new
	// session (a higher id replaced a lower one of the same attendee).
	ID() uint64
	// Identity is what the session's join token verified as.
	Identity() meeting.Identity
	// Send queues a frame to the client (INDEX, BITRATES, PAUSE, …); it
	// never blocks and fails once the session is closing.
	Send(f *protocol.SdkSignalFrame) error
}

// Server is what the media server implements. Calls for one session come
// from that session's reader goroutine, in frame order; different sessions
// call concurrently.
type Server interface {
	// Subscribe answers a SUBSCRIBE (the first one and every
	// renegotiation). sub is never nil and carries an SDP offer;
	// SUBSCRIBEs are rate-limited per attendee before this. ctx ends when
	// the session closes. An error with a [Status] chooses the error
	// status (else 500).
	Subscribe(ctx context.Context, s Session, sub *protocol.SdkSubscribeFrame) (*protocol.SdkSubscribeAckFrame, error)
	// Control receives the control frames of a joined session:
	// AUDIO_CONTROL (mute), PAUSE, RESUME, REMOTE_VIDEO_UPDATE and BITRATES,
	// each with its payload present (AUDIO_CONTROL with muted set; PAUSE and
	// RESUME in the pause field; at most 1,024 stream ids or subscription
	// entries). AUDIO_CONTROL comes only when the mute state changes.
	Control(s Session, f *protocol.SdkSignalFrame)
	// Leave is called once when a joined session has ended (for any
	// reason, including replacement by a newer session of the same
	// attendee), after its last Subscribe or Control call has returned.
	Leave(s Session)
}

// Indexer is implemented by a Server that forwards video: the INDEX a
// session gets right after JOIN_ACK lists its video sources (fact sheet
// §6). Later INDEX frames come from the Server itself, through Send.
type Indexer interface {
	Index(s Session) *protocol.SdkIndexFrame
}

// SUBSCRIBE_ACK error statuses a media server's errors may carry.
const (
	StatusBadRequest  uint32 = 400
	StatusUnavailable uint32 = 503
	StatusInternal    uint32 = 500
)

// Status returns the SUBSCRIBE_ACK status err carries: the Status() of the
// first error in its chain that has one, else StatusInternal.
func Status(err error) uint32 {
	var s interface{ Status() uint32 }
	if errors.As(err, &s) {
		return s.Status()
	}
	return StatusInternal
}
