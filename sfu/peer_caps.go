package sfu

import (
	"sync"

	"github.com/confab-media/confab/signaling/protocol"
)

// peerCaps is a peer's capability state. Its mutex orders a capability
// change (the events bus) against the session's negotiation and mute
// frames (the session's reader): lock order peerCaps.mu, then
// videoRoom.mu, Peer.downsMu, downTrack.mu.
type peerCaps struct {
	mu          sync.Mutex // guards the fields below
	caps        mediaCaps
	clientMuted bool // the client's own mute (AUDIO_CONTROL, SUBSCRIBE)
	// The camera (or share) the last SUBSCRIBE described, republished when
	// a capability allows it again without a renegotiation.
	lastDescs   []*protocol.SdkStreamDescriptor
	lastSending bool
}

// capsNow returns p's current permissions.
func (p *Peer) capsNow() mediaCaps {
	p.cp.mu.Lock()
	defer p.cp.mu.Unlock()
	return p.cp.caps
}

// setClientMuted records the client's mute; a leg whose attendee may not
// send audio stays muted regardless.
func (p *Peer) setClientMuted(m bool) {
	p.cp.mu.Lock()
	defer p.cp.mu.Unlock()
	p.cp.clientMuted = m
	p.leg.SetMuted(m || !p.cp.caps.sendAudio)
}

// setCaps applies new permissions: audio in and out of the mix at once,
// the camera unpublished or republished, forwarded videos it may no longer
// receive unbound. It reports the publish change and whether what p may
// receive changed (p then needs a fresh INDEX).
func (p *Peer) setCaps(c mediaCaps) (res publishResult, recvChanged bool) {
	p.cp.mu.Lock()
	defer p.cp.mu.Unlock()
	old := p.cp.caps
	p.cp.caps = c
	p.leg.SetMuted(p.cp.clientMuted || !c.sendAudio)
	p.out.off.Store(!c.recvAudio)
	switch {
	case !c.sendVideo:
		if p.room.video.unpublish(p) {
			res = publishStopped
		}
	case p.pub.Load() == nil && p.cp.lastSending && len(p.cp.lastDescs) > 0:
		_, res = p.room.video.publish(p, p.cp.lastDescs, true)
		if res == publishRefused {
			res = publishUnchanged
		}
	}
	recvChanged = old.recvVideo != c.recvVideo || old.recvContent != c.recvContent
	if recvChanged {
		p.unbindForbiddenLocked(c)
	}
	return res, recvChanged
}

// unbindForbiddenLocked stops forwarding every video p may no longer
// receive. Called with p.cp.mu held.
func (p *Peer) unbindForbiddenLocked(c mediaCaps) {
	for _, d := range p.downTracks() {
		d.mu.Lock()
		src := d.src
		d.mu.Unlock()
		if src != nil && !c.mayReceive(src.content) {
			p.room.video.unbind(d)
		}
	}
}
