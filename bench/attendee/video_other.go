package attendee

import (
	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"
)

// The camera and the video receiver, for PeerConnections this package does
// not own: bench/janus publishes and subscribes to Janus's VideoRoom with
// the same frames and the same accounting as an Attendee, so that one
// video scenario means the same against both servers.

// Camera is a published video on a PeerConnection of the caller's: one
// encoding per layer (RID simulcast for several) of VideoConfig.Codec, as
// an Attendee's camera.
type Camera struct {
	c    *camera
	tr   *webrtc.RTPTransceiver
	stop chan struct{}
}

// NewCamera adds a video transceiver to pc that sends layers layers under
// cfg (cfg.Layers is ignored) once Start is called after negotiation. api
// must be pc's, with cfg.Codec's registration ([VideoCodec]) and, for more
// than one layer, the simulcast header extensions
// (webrtc.ConfigureSimulcastExtensionHeaders).
func NewCamera(api *webrtc.API, pc *webrtc.PeerConnection, cfg VideoConfig, layers int) (*Camera, error) {
	tr, err := pc.AddTransceiverFromKind(webrtc.RTPCodecTypeVideo, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly})
	if err != nil {
		return nil, err
	}
	stop := make(chan struct{})
	c, err := newCamera(api, pc, tr, cfg, layers, stop)
	if err != nil {
		return nil, err
	}
	return &Camera{c: c, tr: tr, stop: stop}, nil
}

// Start starts sending once the transceiver is negotiated (its mid set):
// one sending goroutine and an RTCP reader per layer, which Stop waits for.
func (c *Camera) Start() error {
	return c.c.start(c.tr.Mid(), func(f func()) bool { go f(); return true })
}

// Stop stops sending, removes the sender from pc and waits for the
// camera's goroutines.
func (c *Camera) Stop(pc *webrtc.PeerConnection) error {
	close(c.stop)
	return c.c.stop(pc)
}

// Sent returns the counters of the layers sent, in rid order.
func (c *Camera) Sent() []LayerStats { return c.c.stats() }

// VideoReceiver records one received video track of a PeerConnection of
// the caller's, as an Attendee does its own (see VideoStats).
type VideoReceiver struct{ rx videoRx }

// Receive reads t until it ends (run it on the track's goroutine, as
// pion's OnTrack does), asking for a keyframe through writeRTCP until the
// first one arrives. mid names the track in its stats.
func (v *VideoReceiver) Receive(t *webrtc.TrackRemote, mid string, writeRTCP func([]rtcp.Packet) error) {
	v.rx.receive(t, mid, writeRTCP)
}

// Stats returns the track's stats so far.
func (v *VideoReceiver) Stats() VideoStats { return v.rx.snapshot() }
