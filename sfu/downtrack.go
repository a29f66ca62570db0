package sfu

import (
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/confab-media/confab/sfu/rtpfwd"
)

// downTrack is one forwarded video of a subscriber: the local track on
// one of its recvonly video m-lines (mid), bound to a source. Its msid
// stream id and track id are both v_<mid>, the track_label the SDK maps
// to a stream id through SUBSCRIBE_ACK tracks[] (fact sheet §6).
//
// Switching layers (REMOTE_VIDEO_UPDATE, bandwidth) or even sources keeps
// the same track and SSRC: the Forwarder rewrites sequence numbers and
// timestamps so the receiver sees one continuous stream.
type downTrack struct {
	peer   *Peer
	mid    string
	label  string
	sender *webrtc.RTPSender
	ssrc   uint32 // the sender's SSRC, for tracks[]

	// lost is the fraction of packets lost (of 256) in the subscriber's
	// last receiver report for this track (RFC 3550 §6.4.2).
	lost atomic.Uint32

	mu           sync.Mutex // guards everything below; taken per packet
	track        *webrtc.TrackLocalStaticRTP
	fwd          *rtpfwd.Forwarder
	src          *source
	want         *layer // the layer asked for (client choice)
	fit          *layer // the layer forwarded (want, lowered to fit bandwidth)
	paused       bool   // paused by the client (PAUSE)
	serverPaused bool   // paused by the server: the lowest layer does not fit
	pkt          rtp.Packet
}

func trackLabel(mid string) string { return "v_" + mid }

// newDownTrack creates the local track for mid with the codec mime.
func newDownTrack(p *Peer, mid, mime string) (*downTrack, error) {
	label := trackLabel(mid)
	t, err := webrtc.NewTrackLocalStaticRTP(videoCapability(mime), label, label)
	if err != nil {
		return nil, err
	}
	d := &downTrack{peer: p, mid: mid, label: label, track: t,
		fwd: rtpfwd.NewForwarder(90000, uint16(rand.Uint32()), rand.Uint32())}
	d.pkt.Version = 2
	return d, nil
}

// videoCapability is the registered capability of a video codec.
func videoCapability(mime string) webrtc.RTPCodecCapability {
	if strings.EqualFold(mime, webrtc.MimeTypeH264) {
		return webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH264, ClockRate: 90000, SDPFmtpLine: h264Fmtp}
	}
	return webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}
}

// write forwards one packet of a layer of the bound source. It is called
// by that layer's reader goroutine; h is shared with the other
// subscribers and is copied, never modified.
func (d *downTrack) write(h *rtp.Header, payload []byte, isKey bool, now time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	hdr := *h
	// The publisher's extension IDs mean nothing on this connection.
	hdr.Extension = false
	hdr.Extensions = nil
	hdr.ExtensionProfile = 0
	before := d.fwd.Current()
	if !d.fwd.Forward(&hdr, isKey, now) {
		if ssrc, waiting := d.fwd.WantsKeyframe(); waiting && d.src != nil {
			d.src.requestKeyframe(ssrc, now)
		}
		return
	}
	st := d.peer.stats
	if before != 0 && d.fwd.Current() != before {
		st.layerSwitches.Add(1)
	}
	d.pkt.Header = hdr
	d.pkt.Payload = payload
	if d.track.WriteRTP(&d.pkt) == nil { // else no binding yet, or closing: dropped
		st.videoOutPkts.Add(1)
		st.videoOutBytes.Add(uint64(rtpHeaderLen + len(payload)))
	}
	d.pkt.Payload = nil
}

// retarget points the forwarder at the layer to forward now (nil or
// paused: nothing). The caller holds d.mu.
func (d *downTrack) retargetLocked(now time.Time) {
	var ssrc uint32
	if !d.paused && d.fit != nil {
		ssrc = d.fit.ssrc.Load()
	}
	if ssrc == 0 && !d.paused && d.fit != nil {
		// The layer has not sent yet: wait on it (its reader retargets
		// nothing; the next stats tick tries again).
		d.fwd.SetTarget(0)
		return
	}
	d.fwd.SetTarget(ssrc)
	if _, waiting := d.fwd.WantsKeyframe(); waiting && d.src != nil {
		d.src.requestKeyframe(ssrc, now)
	}
}

// readRTCP is the goroutine reading the subscriber's RTCP for this track:
// PLI and FIR ask the publisher for a keyframe; REMB updates the peer's
// bandwidth estimate. NACKs are answered by pion's NACK responder.
func (d *downTrack) readRTCP() {
	buf := make([]byte, readBufSize)
	for {
		n, _, err := d.sender.Read(buf)
		if err != nil {
			return
		}
		pkts, err := rtcp.Unmarshal(buf[:n])
		if err != nil {
			continue
		}
		for _, pk := range pkts {
			switch pk := pk.(type) {
			case *rtcp.TransportLayerNack:
				d.peer.stats.nackIn.Add(1)
			case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
				d.peer.stats.pliIn.Add(1)
				d.mu.Lock()
				src, cur := d.src, d.fwd.Current()
				d.mu.Unlock()
				if src != nil {
					src.requestKeyframe(cur, d.peer.clock.Now())
				}
			case *rtcp.ReceiverEstimatedMaximumBitrate:
				d.peer.remb.Store(uint64(pk.Bitrate))
			case *rtcp.ReceiverReport:
				for _, r := range pk.Reports {
					if r.SSRC == d.ssrc {
						d.lost.Store(uint32(r.FractionLost))
					}
				}
			}
		}
	}
}
