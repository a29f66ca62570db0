package attendee

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
)

// Local camera track identifiers (msid of the camera m-line).
const (
	cameraTrackID  = "camera"
	cameraStreamID = "camera-stream"
)

// LayerStats describes one layer the attendee sends.
type LayerStats struct {
	RID           string // "" for a single stream
	SSRC          uint32
	Width, Height int
	Kbps          uint32 // target bitrate
	Frames        uint64
	Keyframes     uint64
	Packets       uint64
	Bytes         uint64 // RTP payload bytes
	PLIs          uint64 // keyframe requests (PLI or FIR) received for its SSRC
}

// camera is one published video: a sender on the camera transceiver with
// one encoding per layer, one goroutine sending every layer's frames and
// one goroutine per layer reading its RTCP.
type camera struct {
	cfg     VideoConfig
	sender  *webrtc.RTPSender
	layers  []*sendLayer
	done    chan struct{}   // closed by stop
	closing <-chan struct{} // closed when the attendee closes
	wg      sync.WaitGroup
}

// sendLayer is one encoding. Its packet, frame and keyframe time belong
// to the send goroutine; the counters are atomics read by VideoSent.
type sendLayer struct {
	prof   layerProfile
	track  *webrtc.TrackLocalStaticRTP
	frame  frameBuilder
	pkt    rtp.Packet
	tsBase uint32
	ssrc   atomic.Uint32
	keyReq atomic.Bool // a PLI or FIR asked for a keyframe
	keyAt  time.Time   // last keyframe sent

	frames, keyframes, packets, bytes, plis atomic.Uint64
}

// newCamera creates the layers' tracks and puts them, as one simulcast
// sender, on the camera transceiver tr (which becomes sendrecv). Nothing
// is sent before start; sending ends with stop or when closing closes.
func newCamera(api *webrtc.API, pc *webrtc.PeerConnection, tr *webrtc.RTPTransceiver, cfg VideoConfig, layers int,
	closing <-chan struct{}) (*camera, error) {
	profs, err := cfg.profiles(layers)
	if err != nil {
		return nil, err
	}
	codec, err := VideoCodec(cfg.Codec)
	if err != nil {
		return nil, err
	}
	c := &camera{cfg: cfg, done: make(chan struct{}), closing: closing}
	fps := cfg.fps()
	for _, p := range profs {
		var opts []func(*webrtc.TrackLocalStaticRTP)
		if p.rid != "" {
			opts = append(opts, webrtc.WithRTPStreamID(p.rid))
		}
		t, err := webrtc.NewTrackLocalStaticRTP(codec.RTPCodecCapability, cameraTrackID, cameraStreamID, opts...)
		if err != nil {
			return nil, fmt.Errorf("attendee: camera track: %w", err)
		}
		l := &sendLayer{
			prof: p, track: t, tsBase: rand.Uint32(),
			frame: newFrameBuilder(codec.RTPCodecCapability, p.width, p.height, int(p.kbps)*1000/8/fps),
		}
		l.pkt.Version = 2
		l.pkt.PayloadType = uint8(codec.PayloadType) // the track writes the negotiated one
		l.pkt.SequenceNumber = uint16(rand.Uint32())
		c.layers = append(c.layers, l)
	}
	sender, err := api.NewRTPSender(c.layers[0].track, pc.SCTP().Transport())
	if err != nil {
		return nil, fmt.Errorf("attendee: camera sender: %w", err)
	}
	if err := tr.SetSender(sender, c.layers[0].track); err != nil {
		_ = sender.Stop()
		return nil, fmt.Errorf("attendee: camera sender: %w", err)
	}
	for _, l := range c.layers[1:] {
		if err := sender.AddEncoding(l.track); err != nil {
			_ = pc.RemoveTrack(sender)
			return nil, fmt.Errorf("attendee: simulcast encoding %s: %w", l.prof.rid, err)
		}
	}
	c.sender = sender
	return c, nil
}

// start runs the sender and the RTCP readers once the camera m-line is
// negotiated: every packet carries the negotiated mid and rid header
// extensions (RFC 8843, RFC 8852), as Chrome sends them, which is how the
// server tells the simulcast layers apart. spawn runs a goroutine the
// attendee's Close waits for.
func (c *camera) start(mid string, spawn func(func()) bool) error {
	params := c.sender.GetParameters()
	var midID, ridID uint8
	for _, h := range params.HeaderExtensions {
		switch h.URI {
		case sdp.SDESMidURI:
			midID = uint8(h.ID)
		case sdp.SDESRTPStreamIDURI:
			ridID = uint8(h.ID)
		}
	}
	if len(c.layers) > 1 && (midID == 0 || ridID == 0) {
		return errors.New("attendee: simulcast without the mid and rid header extensions negotiated")
	}
	if len(params.Encodings) != len(c.layers) {
		return fmt.Errorf("attendee: %d encodings for %d layers", len(params.Encodings), len(c.layers))
	}
	for i, l := range c.layers {
		l.ssrc.Store(uint32(params.Encodings[i].SSRC))
		if midID != 0 {
			_ = l.pkt.SetExtension(midID, []byte(mid))
		}
		if ridID != 0 && l.prof.rid != "" {
			_ = l.pkt.SetExtension(ridID, []byte(l.prof.rid))
		}
	}
	c.run(spawn, c.send)
	for _, l := range c.layers {
		c.run(spawn, func() { c.readRTCP(l) })
	}
	return nil
}

// run starts f on a goroutine that both the attendee and stop wait for.
func (c *camera) run(spawn func(func()) bool, f func()) {
	c.wg.Add(1)
	if !spawn(func() {
		defer c.wg.Done()
		f()
	}) {
		c.wg.Done()
	}
}

// stop stops sending, removes the sender from pc (the camera m-line goes
// back to recvonly, which the next offer turns into inactive) and waits
// for the camera's goroutines.
func (c *camera) stop(pc *webrtc.PeerConnection) error {
	close(c.done)
	err := pc.RemoveTrack(c.sender)
	if errors.Is(err, webrtc.ErrConnectionClosed) {
		err = nil
	}
	c.wg.Wait()
	return err
}

// send is the camera's one sending goroutine: every 1/FPS it sends a frame
// of every layer, a keyframe first, on request and every
// KeyframeInterval. A late tick is skipped, as a browser drops frames.
// Timestamps follow the wall clock at 90 kHz. Nothing here allocates.
func (c *camera) send() {
	tick := time.NewTicker(time.Second / time.Duration(c.cfg.fps()))
	defer tick.Stop()
	interval := c.cfg.keyframeInterval()
	start := time.Now()
	for {
		var now time.Time
		select {
		case <-c.done:
			return
		case <-c.closing:
			return
		case now = <-tick.C:
		}
		ts := uint32(now.Sub(start) / time.Microsecond * 9 / 100) // 90 kHz
		for _, l := range c.layers {
			key := l.frames.Load() == 0 || l.keyReq.Swap(false) || (interval > 0 && now.Sub(l.keyAt) >= interval)
			l.sendFrame(key, ts, now)
		}
	}
}

// sendFrame sends one frame of the layer: its packets in order, the
// marker bit on the last one.
func (l *sendLayer) sendFrame(key bool, ts uint32, now time.Time) {
	n := l.frame.begin(key)
	l.pkt.Timestamp = l.tsBase + ts
	var bytes uint64
	for i := range n {
		l.pkt.Payload = l.frame.packet(i)
		l.pkt.Marker = i == n-1
		_ = l.track.WriteRTP(&l.pkt) // fails only before binding or once closed
		bytes += uint64(len(l.pkt.Payload))
		l.pkt.SequenceNumber++
	}
	l.pkt.Payload = nil
	if key {
		l.keyAt = now
		l.keyframes.Add(1)
	}
	l.frames.Add(1)
	l.packets.Add(uint64(n))
	l.bytes.Add(bytes)
}

// RTCP payload-specific feedback (RFC 4585 §6.1, RFC 5104 §4.3.1).
const (
	rtcpTypePSFB = 206
	rtcpFmtPLI   = 1
	rtcpFmtFIR   = 4
)

// readRTCP is a layer's RTCP reader: a PLI or FIR for its SSRC asks the
// sender for a keyframe. It parses the compound packet in place (no
// allocation) and returns when the sender stops.
func (c *camera) readRTCP(l *sendLayer) {
	buf := make([]byte, 1500)
	for {
		var n int
		var err error
		if l.prof.rid == "" {
			n, _, err = c.sender.Read(buf)
		} else {
			n, _, err = c.sender.ReadSimulcast(buf, l.prof.rid)
		}
		if err != nil {
			return
		}
		if wantsKeyframe(buf[:n], l.ssrc.Load()) {
			l.plis.Add(1)
			l.keyReq.Store(true)
		}
	}
}

// wantsKeyframe reports whether a compound RTCP packet holds a PLI or a
// FIR for ssrc.
func wantsKeyframe(b []byte, ssrc uint32) bool {
	for len(b) >= 4 {
		size := (int(binary.BigEndian.Uint16(b[2:4])) + 1) * 4
		if size > len(b) {
			return false
		}
		p := b[:size]
		b = b[size:]
		if p[1] != rtcpTypePSFB || len(p) < 12 {
			continue
		}
		switch p[0] & 0x1f {
		case rtcpFmtPLI:
			if binary.BigEndian.Uint32(p[8:12]) == ssrc {
				return true
			}
		case rtcpFmtFIR: // FCI entries: SSRC, seq nr, 3 reserved bytes
			for fci := p[12:]; len(fci) >= 8; fci = fci[8:] {
				if binary.BigEndian.Uint32(fci[:4]) == ssrc {
					return true
				}
			}
		}
	}
	return false
}

// stats returns the layers' counters.
func (c *camera) stats() []LayerStats {
	out := make([]LayerStats, 0, len(c.layers))
	for _, l := range c.layers {
		out = append(out, LayerStats{
			RID: l.prof.rid, SSRC: l.ssrc.Load(), Width: l.prof.width, Height: l.prof.height, Kbps: l.prof.kbps,
			Frames: l.frames.Load(), Keyframes: l.keyframes.Load(), Packets: l.packets.Load(),
			Bytes: l.bytes.Load(), PLIs: l.plis.Load(),
		})
	}
	return out
}
