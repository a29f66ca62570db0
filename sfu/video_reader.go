package sfu

import (
	"errors"
	"io"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/confab-media/confab/sfu/rtpfwd"
)

// fanOut writes one video packet to every subscriber, the sends batched
// into one sendmmsg.
func (p *Peer) fanOut(subs []*downTrack, pkt *rtp.Packet, isKey bool) {
	out := p.room.out
	out.Begin()
	defer out.End()
	now := p.clock.Now()
	for _, d := range subs {
		d.write(&pkt.Header, pkt.Payload, isKey, now)
	}
}

// readVideo is the one goroutine of a remote video track (one simulcast
// layer): it reads RTP into a reused buffer and hands each packet to the
// down tracks bound to the layer's source. The layer is looked up per
// packet from the peer's current source, so a camera restarted on the
// same transceiver, or published after the cap freed, is picked up.
// Nothing here allocates per packet.
func (p *Peer) readVideo(t *webrtc.TrackRemote) {
	rid := t.RID()
	mime := t.Codec().MimeType
	buf := make([]byte, readBufSize)
	var pkt rtp.Packet
	var cur *layer
	p.log.Info("sfu: video layer received", "rid", rid, "ssrc", uint32(t.SSRC()), "codec", mime)
	for {
		n, _, err := t.Read(buf)
		if err != nil {
			if p.isClosed() {
				return
			}
			// The camera stopped (a renegotiation replaced the receiver)
			// or the transport failed.
			if errors.Is(err, io.EOF) {
				err = nil
			}
			p.log.Info("sfu: video layer ended", "rid", rid, "ssrc", uint32(t.SSRC()), "err", err)
			return
		}
		p.stats.videoInPkts.Add(1)
		p.stats.videoInBytes.Add(uint64(n))
		src := p.pub.Load()
		if src == nil {
			continue // not publishing (stopped, or refused by the cap)
		}
		if cur == nil || cur.src != src {
			if cur = src.layerByRID(rid); cur == nil {
				continue
			}
			cur.mime.Store(&mime)
		}
		if pkt.Unmarshal(buf[:n]) != nil || len(pkt.Payload) == 0 {
			continue
		}
		cur.ssrc.Store(pkt.SSRC)
		cur.bytes.Add(uint64(len(pkt.Payload)))
		isKey := rtpfwd.IsKeyframe(mime, pkt.Payload)
		if isKey {
			if w, h, ok := vp8Size(mime, pkt.Payload); ok {
				cur.width.Store(w)
				cur.height.Store(h)
			}
		}
		subs := src.subscribers()
		if len(subs) == 0 {
			continue
		}
		p.fanOut(subs, &pkt, isKey)
	}
}
