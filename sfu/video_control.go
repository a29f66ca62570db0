package sfu

import (
	"slices"

	"github.com/confab-media/confab/signaling/protocol"
)

// remoteVideoUpdate applies a REMOTE_VIDEO_UPDATE (fact sheet §6): each
// updated subscription moves its mid's down track onto the named stream —
// another layer of the same group is a layer switch on the same track and
// SSRC, with no renegotiation; removed mids stop forwarding.
func (p *Peer) remoteVideoUpdate(u *protocol.SdkRemoteVideoUpdateFrame) {
	now := p.clock.Now()
	for _, c := range u.GetAddedOrUpdatedVideoSubscriptions() {
		p.downsMu.Lock()
		d := p.downs[c.GetMid()]
		p.downsMu.Unlock()
		if d == nil || c.GetStreamId() == 0 {
			continue // a new mid needs a SUBSCRIBE first
		}
		p.room.video.bind(d, c.GetStreamId(), now)
	}
	for _, mid := range u.GetRemovedVideoSubscriptionMids() {
		p.downsMu.Lock()
		d := p.downs[mid]
		p.downsMu.Unlock()
		if d != nil {
			p.room.video.unbind(d)
		}
	}
}

// pauseStreams pauses or resumes the forwarded streams whose subscribed
// stream id is in ids (PAUSE/RESUME from the client).
func (p *Peer) pauseStreams(ids []uint32, pause bool) {
	now := p.clock.Now()
	for _, d := range p.downTracks() {
		d.mu.Lock()
		if d.want != nil && slices.Contains(ids, d.want.streamID) && d.paused != pause {
			d.paused = pause
			d.retargetLocked(now)
		}
		d.mu.Unlock()
	}
}
