package sfu

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"

	"github.com/pion/webrtc/v4"

	"github.com/confab-media/confab/conference"
	"github.com/confab-media/confab/internal/clock"
	"github.com/confab-media/confab/internal/guard"
	"github.com/confab-media/confab/signaling/media"
	"github.com/confab-media/confab/signaling/protocol"
)

// Peer is one signaling session's WebRTC side: its PeerConnection, its
// mixer leg, and the local track carrying its mix-minus. Negotiate calls
// come from the session's reader goroutine, one at a time (media.Server
// contract); close comes after the last of them.
type Peer struct {
	sessionID  uint64
	attendeeID string
	externalID string
	content    bool // a content-share session (<attendee>#content)
	maxRes     maxResolution
	sess       media.Session
	room       *Room
	api        *webrtc.API
	pc         *webrtc.PeerConnection
	leg        *conference.AudioLeg
	out        *mixSender
	clock      clock.Clock
	log        *slog.Logger

	pub  atomic.Pointer[source] // the video this peer publishes, if any
	remb atomic.Uint64          // the subscriber's last REMB estimate, bits/s (0: none)
	// recvCodecs is the set of forwardable codecs its offers accept
	// (a bit set over forwardable; 0 before the first offer).
	recvCodecs atomic.Uint32

	// downs are the forwarded videos by mid. Written by negotiate and
	// Control (the session's reader goroutine); read by the room's stats
	// loop, hence the lock.
	downsMu sync.Mutex
	downs   map[string]*downTrack

	mu     sync.Mutex // guards closed and readers.Add against close
	closed bool
	// readers counts the track reader goroutines (pion runs each OnTrack
	// handler on its own goroutine).
	readers sync.WaitGroup

	added bool // the local track is attached; used by negotiate only

	cp peerCaps // what the attendee may send and receive

	// panics counts a contained panic in one of its readers; fail then
	// ends the peer (asynchronously: it waits for the readers).
	panics guard.Counter
	fail   func()

	stats *counters // the Server's (metrics.go)
}

// newPeer creates the PeerConnection and the mixer leg of s in rm.
func newPeer(api *webrtc.API, cert webrtc.Certificate, rm *Room, s media.Session, caps mediaCaps, clk clock.Clock, log *slog.Logger) (*Peer, error) {
	out, err := newMixSender(rm.stats)
	if err != nil {
		return nil, err
	}
	pc, err := api.NewPeerConnection(webrtc.Configuration{
		BundlePolicy:  webrtc.BundlePolicyMaxBundle,
		RTCPMuxPolicy: webrtc.RTCPMuxPolicyRequire,
		Certificates:  []webrtc.Certificate{cert},
	})
	if err != nil {
		return nil, fmt.Errorf("sfu: new peer connection: %w", err)
	}
	id := s.Identity()
	p := &Peer{
		sessionID: s.ID(), attendeeID: id.AttendeeID, externalID: id.ExternalUserID, content: id.Content,
		maxRes: id.MaxResolution, sess: s, room: rm, api: api, pc: pc, out: out, clock: clk,
		log:   log.With("session", s.ID(), "attendee", id.AttendeeID),
		downs: map[string]*downTrack{}, stats: rm.stats,
	}
	leg, err := rm.conf.AddAudio(conference.Member{AttendeeID: id.AttendeeID, Order: p.sessionID, Content: id.Content}, out.sink)
	if err != nil {
		_ = pc.Close()
		return nil, fmt.Errorf("sfu: add mixer leg: %w", err)
	}
	p.leg = leg
	p.cp.caps = caps
	leg.SetMuted(!caps.sendAudio)
	out.off.Store(!caps.recvAudio)
	pc.OnTrack(p.onTrack)
	pc.OnConnectionStateChange(func(st webrtc.PeerConnectionState) {
		p.log.Debug("sfu: peer connection state", "state", st.String())
	})
	return p, nil
}

// onTrack runs on a goroutine of its own per remote track (per simulcast
// layer for video) and becomes the track's reader.
func (p *Peer) onTrack(t *webrtc.TrackRemote, r *webrtc.RTPReceiver) {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	p.readers.Add(1)
	p.mu.Unlock()
	defer p.readers.Done()
	defer guard.Recover(p.log, p.panics, "sfu track reader", p.failed)
	if t.Kind() == webrtc.RTPCodecTypeVideo {
		p.readVideo(t)
		return
	}
	p.readAudio(t, r)
}

// negotiation is what one SUBSCRIBE produced besides the answer.
type negotiation struct {
	answer      string
	allocations []*protocol.SdkStreamAllocation
	tracks      []*protocol.SdkTrackMapping
	published   publishResult
}

// negotiate applies a SUBSCRIBE's full offer to the PeerConnection: the
// camera m-line publishes (or stops publishing) the described layers, each
// recvonly video m-line is bound to the stream receive_stream_ids names
// for it, and the full local answer comes back once ICE gathering is
// complete (no trickle).
func (p *Peer) negotiate(ctx context.Context, sub *protocol.SdkSubscribeFrame) (negotiation, error) {
	var n negotiation
	offer := sub.GetSdpOffer()
	lines, err := videoLines(offer)
	if err != nil {
		return n, badRequest(fmt.Errorf("offer: %v", err))
	}
	err = p.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: keepCamera(offer, p.pc)})
	if err != nil {
		return n, badRequest(fmt.Errorf("offer: %v", err))
	}
	if !p.added {
		if err := p.attachTrack(); err != nil {
			return n, err
		}
	}
	p.recvCodecs.Store(uint32(receivableCodecs(lines)))
	sending := len(lines) > 0 && lines[0].sends()
	descs := videoDescriptors(sub)
	p.cp.mu.Lock()
	p.cp.lastDescs, p.cp.lastSending = descs, sending
	caps := p.cp.caps
	// Video Receive or None (or MaxResolution None): the camera gets no
	// allocation and is not forwarded.
	n.allocations, n.published = p.room.video.publish(p, descs, sending && caps.sendVideo)
	n.tracks, err = p.subscribeVideo(lines, sub.GetReceiveStreamIds(), caps)
	p.cp.mu.Unlock()
	if err != nil {
		return n, err
	}
	answer, err := p.pc.CreateAnswer(nil)
	if err != nil {
		return n, badRequest(fmt.Errorf("answer: %v", err))
	}
	gathered := webrtc.GatheringCompletePromise(p.pc)
	if err := p.pc.SetLocalDescription(answer); err != nil {
		return n, fmt.Errorf("sfu: set local description: %w", err)
	}
	select {
	case <-gathered:
	case <-ctx.Done():
		return n, unavailable(fmt.Errorf("ICE gathering: %v", ctx.Err()))
	}
	n.answer = p.pc.LocalDescription().SDP
	return n, nil
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
		return badRequest(errors.New("offer has no audio m-line"))
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
		defer guard.Recover(p.log, p.panics, "sfu rtcp reader", p.failed)
		buf := make([]byte, readBufSize)
		for {
			if _, _, err := sender.Read(buf); err != nil {
				return
			}
		}
	}()
	return nil
}

// isClosed reports whether close has begun.
func (p *Peer) isClosed() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.closed
}

// failed ends the peer after a contained panic in one of its goroutines.
func (p *Peer) failed(any) {
	if p.fail != nil {
		p.fail()
	}
}

// close removes the leg (its sink is not called after that), closes the
// PeerConnection and waits for the track readers.
func (p *Peer) close() {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	p.leg.Leave()
	p.room.video.unpublish(p)
	p.downsMu.Lock()
	for _, d := range p.downs {
		p.room.video.unbind(d)
	}
	p.downsMu.Unlock()
	if err := p.pc.Close(); err != nil && !errors.Is(err, webrtc.ErrConnectionClosed) {
		p.log.Debug("sfu: close peer connection", "err", err)
	}
	p.readers.Wait()
}
