package sfu

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/pion/webrtc/v4"

	"github.com/confab-media/confab/mixer"
	"github.com/confab-media/confab/signaling/session"
)

// Peer is one signaling session's WebRTC side: its PeerConnection, its
// mixer leg, and the local track carrying its mix-minus. Negotiate calls
// come from the session's reader goroutine, one at a time (session.Media
// contract); close comes after the last of them.
type Peer struct {
	sessionID  uint64
	attendeeID string
	room       *Room
	pc         *webrtc.PeerConnection
	leg        *mixer.Leg
	out        *mixSender
	log        *slog.Logger

	rxPackets atomic.Uint64 // RTP packets received, for signal strength

	mu     sync.Mutex // guards closed and readers.Add against close
	closed bool
	// readers counts the track reader goroutines (pion runs each OnTrack
	// handler on its own goroutine).
	readers sync.WaitGroup

	added bool // the local track is attached; used by negotiate only
}

func legID(sessionID uint64) mixer.LegID { return mixer.LegID(strconv.FormatUint(sessionID, 10)) }

// newPeer creates the PeerConnection and the mixer leg of s in rm.
func newPeer(api *webrtc.API, rm *Room, s *session.Session, log *slog.Logger) (*Peer, error) {
	out, err := newMixSender()
	if err != nil {
		return nil, err
	}
	pc, err := api.NewPeerConnection(webrtc.Configuration{
		BundlePolicy:  webrtc.BundlePolicyMaxBundle,
		RTCPMuxPolicy: webrtc.RTCPMuxPolicyRequire,
	})
	if err != nil {
		return nil, fmt.Errorf("sfu: new peer connection: %w", err)
	}
	p := &Peer{
		sessionID: s.ID(), attendeeID: s.Identity().AttendeeID, room: rm, pc: pc, out: out,
		log: log.With("session", s.ID(), "attendee", s.Identity().AttendeeID),
	}
	leg, err := rm.mix.AddLeg(legID(p.sessionID), out.sink)
	if err != nil {
		_ = pc.Close()
		return nil, fmt.Errorf("sfu: add mixer leg: %w", err)
	}
	p.leg = leg
	pc.OnTrack(p.onTrack)
	pc.OnConnectionStateChange(func(st webrtc.PeerConnectionState) {
		p.log.Debug("sfu: peer connection state", "state", st.String())
	})
	return p, nil
}

// onTrack runs on a goroutine of its own per remote track: for audio it
// becomes the track's reader; video is not forwarded yet.
func (p *Peer) onTrack(t *webrtc.TrackRemote, r *webrtc.RTPReceiver) {
	if t.Kind() != webrtc.RTPCodecTypeAudio {
		return // pion discards what nobody reads
	}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	p.readers.Add(1)
	p.mu.Unlock()
	defer p.readers.Done()
	p.readAudio(t, r)
}

// negotiate applies a full offer to the PeerConnection and returns the full
// local answer once ICE gathering is complete (no trickle).
func (p *Peer) negotiate(ctx context.Context, offer string) (string, error) {
	err := p.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offer})
	if err != nil {
		return "", fmt.Errorf("%w: offer: %v", session.ErrBadRequest, err)
	}
	if !p.added {
		if err := p.attachTrack(); err != nil {
			return "", err
		}
	}
	answer, err := p.pc.CreateAnswer(nil)
	if err != nil {
		return "", fmt.Errorf("%w: answer: %v", session.ErrBadRequest, err)
	}
	gathered := webrtc.GatheringCompletePromise(p.pc)
	if err := p.pc.SetLocalDescription(answer); err != nil {
		return "", fmt.Errorf("sfu: set local description: %w", err)
	}
	select {
	case <-gathered:
	case <-ctx.Done():
		return "", fmt.Errorf("%w: ICE gathering: %v", session.ErrMediaUnavailable, ctx.Err())
	}
	return p.pc.LocalDescription().SDP, nil
}

// attachTrack adds the mixed audio track. After SetRemoteDescription the
// offer's audio m-line 0 has a recvonly transceiver; AddTrack reuses it and
// makes it sendrecv.
func (p *Peer) attachTrack() error {
	hasAudio := false
	for _, t := range p.pc.GetTransceivers() {
		if t.Kind() == webrtc.RTPCodecTypeAudio {
			hasAudio = true
			break
		}
	}
	if !hasAudio {
		return fmt.Errorf("%w: offer has no audio m-line", session.ErrBadRequest)
	}
	sender, err := p.pc.AddTrack(p.out.track)
	if err != nil {
		return fmt.Errorf("sfu: add audio track: %w", err)
	}
	p.added = true
	// Read incoming RTCP so the interceptors (reports) see it.
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.readers.Add(1)
	p.mu.Unlock()
	go func() {
		defer p.readers.Done()
		buf := make([]byte, readBufSize)
		for {
			if _, _, err := sender.Read(buf); err != nil {
				return
			}
		}
	}()
	return nil
}

// close removes the leg (its sink is not called after that), closes the
// PeerConnection and waits for the track readers.
func (p *Peer) close() {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	p.room.mix.RemoveLeg(legID(p.sessionID))
	if err := p.pc.Close(); err != nil && !errors.Is(err, webrtc.ErrConnectionClosed) {
		p.log.Debug("sfu: close peer connection", "err", err)
	}
	p.readers.Wait()
}
