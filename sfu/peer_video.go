package sfu

import (
	"fmt"
	"strings"

	"github.com/pion/webrtc/v4"
	"google.golang.org/protobuf/proto"

	"github.com/confab-media/confab/internal/guard"
	"github.com/confab-media/confab/signaling/protocol"
)

// subscribeVideo binds each recvonly video m-line of the offer to the
// stream receive_stream_ids names for it (entry k for the k-th video
// m-line; entry 0 is the camera), creating its down track on first use,
// and unbinds the lines no longer asked for. It returns SUBSCRIBE_ACK's
// tracks[]. Called between SetRemoteDescription and CreateAnswer, so a new
// track is in the answer (sendonly, msid v_<mid>).
func (p *Peer) subscribeVideo(lines []videoLine, ids []uint32, caps mediaCaps) ([]*protocol.SdkTrackMapping, error) {
	now := p.clock.Now()
	var tracks []*protocol.SdkTrackMapping
	wanted := make(map[string]bool, len(lines))
	for k, l := range lines {
		if k == 0 || k >= len(ids) || ids[k] == 0 || !l.receives() {
			continue
		}
		sid := ids[k]
		mime, content, ok := p.room.video.lookup(sid)
		if !ok {
			continue // the source left; the client will drop the line
		}
		if !caps.mayReceive(content) {
			continue // Video (or Content) Send or None: nothing forwarded
		}
		d, err := p.downFor(l.mid, mime)
		if err != nil {
			return nil, err
		}
		if d == nil || !p.room.video.bind(d, sid, now) {
			continue
		}
		wanted[l.mid] = true
		tracks = append(tracks, &protocol.SdkTrackMapping{
			StreamId: proto.Uint32(sid), Ssrc: proto.Uint32(d.ssrc), TrackLabel: proto.String(d.label),
		})
	}
	p.downsMu.Lock()
	defer p.downsMu.Unlock()
	for mid, d := range p.downs {
		if !wanted[mid] {
			p.room.video.unbind(d)
		}
	}
	return tracks, nil
}

// downFor returns the down track of mid, creating it (on the sender of the
// mid's transceiver) on first use, or switching its codec to mime.
// It returns nil if the offer has no such transceiver.
func (p *Peer) downFor(mid, mime string) (*downTrack, error) {
	p.downsMu.Lock()
	d := p.downs[mid]
	p.downsMu.Unlock()
	if d != nil {
		return d, d.setCodec(mime)
	}
	var tr *webrtc.RTPTransceiver
	for _, t := range p.pc.GetTransceivers() {
		if t.Mid() == mid && t.Kind() == webrtc.RTPCodecTypeVideo {
			tr = t
			break
		}
	}
	if tr == nil {
		return nil, nil
	}
	d, err := newDownTrack(p, mid, mime)
	if err != nil {
		return nil, fmt.Errorf("sfu: video track: %w", err)
	}
	// For a recvonly m-line of the offer pion made a sendonly transceiver
	// with a placeholder track: its sender is replaced before the answer,
	// so the answer's msid is v_<mid>.
	sender := tr.Sender()
	if sender != nil {
		err = sender.ReplaceTrack(d.track)
	} else if sender, err = p.api.NewRTPSender(d.track, p.pc.SCTP().Transport()); err == nil {
		if err = tr.SetSender(sender, d.track); err != nil {
			_ = sender.Stop()
		}
	}
	if err != nil {
		return nil, fmt.Errorf("sfu: video sender: %w", err)
	}
	d.sender = sender
	if enc := sender.GetParameters().Encodings; len(enc) > 0 {
		d.ssrc = uint32(enc[0].SSRC)
	}
	p.mu.Lock()
	if !p.closed {
		p.readers.Add(1)
		go func() {
			defer p.readers.Done()
			defer guard.Recover(p.log, p.panics, "sfu video rtcp reader", p.failed)
			d.readRTCP()
		}()
	}
	p.mu.Unlock()
	p.downsMu.Lock()
	p.downs[mid] = d
	p.downsMu.Unlock()
	return d, nil
}

// setCodec replaces the track with one of codec mime if it differs (a
// source of another codec was bound to this m-line). The sender, hence the
// SSRC, stays.
func (d *downTrack) setCodec(mime string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if strings.EqualFold(d.track.Codec().MimeType, mime) {
		return nil
	}
	t, err := webrtc.NewTrackLocalStaticRTP(videoCapability(mime), d.label, d.label)
	if err != nil {
		return err
	}
	if err := d.sender.ReplaceTrack(t); err != nil {
		return fmt.Errorf("sfu: switch video codec: %w", err)
	}
	d.track = t
	return nil
}

// downTracks returns a snapshot of the peer's down tracks.
func (p *Peer) downTracks() []*downTrack {
	p.downsMu.Lock()
	defer p.downsMu.Unlock()
	out := make([]*downTrack, 0, len(p.downs))
	for _, d := range p.downs {
		out = append(out, d)
	}
	return out
}
