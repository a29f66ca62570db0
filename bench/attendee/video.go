package attendee

import (
	"context"
	"errors"
	"fmt"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/confab-media/confab/signaling/protocol"
)

// VideoConfig describes what the attendee's camera sends (or, in a
// content-share session, its shared screen).
type VideoConfig struct {
	// Layers is what Dial starts once connected: 0 no video (StartVideo
	// can start it later), 1 a single stream, 3 RID simulcast low/mid/hi
	// for a camera, 2 low/hi with Content.
	Layers int
	// FPS is the frame rate of every layer; 0 means 15.
	FPS int
	// Content sends content-share layers (rids low/hi, larger frames)
	// instead of camera ones, for a "<token>#content" session.
	Content bool
	// Kbps overrides each layer's target bitrate in rid order (also sent
	// as its max_bitrate_kbps); nil keeps the defaults (camera 150/600/1200
	// or 1200 single; content 300/1500 or 1500 single).
	Kbps []uint32
	// KeyframeInterval is the time between periodic keyframes of a layer;
	// 0 means 3 s, a negative value sends keyframes only first and on PLI.
	KeyframeInterval time.Duration
	// Codec is the video codec, sent and received: "VP8" (CodecVP8, also
	// "") or "H264" (CodecH264: constrained baseline, packetization mode
	// 1), in any case. It is the only video codec the attendee offers.
	Codec string
	// PayloadType, if not 0, is the codec's RTP payload type instead of
	// Chrome's (96 for VP8, 102 for H.264): Firefox offers VP8 as 120 and
	// H.264 as 126, and a server must send each receiver what it
	// negotiated.
	PayloadType uint8
}

// Defaults of VideoConfig.
const (
	DefaultFPS              = 15
	DefaultKeyframeInterval = 3 * time.Second
)

// Send stream constants as the SDK describes them (fact sheet §6).
const (
	audioTrackLabel = "AmazonChimeExpressAudio"
	videoTrackLabel = "AmazonChimeExpressVideo"
	// Placeholders of a single stream before the server allocated ids.
	videoPlaceholderStream = 2
	videoPlaceholderGroup  = 2
)

// layerProfile is one encoding: its rid ("" for a single stream), frame
// size and target bitrate.
type layerProfile struct {
	rid           string
	width, height int
	kbps          uint32
}

// Default encodings, by layer count, as the SDK's uplink policies send
// them (scale 4/2/1 of 720p for the camera).
var (
	cameraProfiles = map[int][]layerProfile{
		1: {{"", 1280, 720, 1200}},
		3: {{"low", 320, 180, 150}, {"mid", 640, 360, 600}, {"hi", 1280, 720, 1200}},
	}
	contentProfiles = map[int][]layerProfile{
		1: {{"", 1920, 1080, 1500}},
		2: {{"low", 960, 540, 300}, {"hi", 1920, 1080, 1500}},
	}
)

// profiles returns the encodings of layers layers under cfg.
func (cfg VideoConfig) profiles(layers int) ([]layerProfile, error) {
	table, kind, simulcast := cameraProfiles, "camera", 3
	if cfg.Content {
		table, kind, simulcast = contentProfiles, "content share", 2
	}
	base, ok := table[layers]
	if !ok {
		return nil, fmt.Errorf("attendee: a %s sends 1 or %d layers, not %d", kind, simulcast, layers)
	}
	if cfg.Kbps != nil && len(cfg.Kbps) != layers {
		return nil, fmt.Errorf("attendee: %d Kbps values for %d layers", len(cfg.Kbps), layers)
	}
	out := append([]layerProfile(nil), base...)
	for i := range out {
		if cfg.Kbps != nil {
			out[i].kbps = cfg.Kbps[i]
		}
	}
	return out, nil
}

func (cfg VideoConfig) fps() int {
	if cfg.FPS <= 0 {
		return DefaultFPS
	}
	return cfg.FPS
}

func (cfg VideoConfig) keyframeInterval() time.Duration {
	if cfg.KeyframeInterval == 0 {
		return DefaultKeyframeInterval
	}
	return cfg.KeyframeInterval
}

// videoDescriptors returns the SUBSCRIBE send streams of the layers after
// the audio one: one VIDEO descriptor per layer in rid order, with the
// stream and group ids the server allocated (allocs, if it allocated this
// many) or the SDK's placeholders.
func videoDescriptors(profs []layerProfile, fps int, allocs []*protocol.SdkStreamAllocation) []*protocol.SdkStreamDescriptor {
	out := make([]*protocol.SdkStreamDescriptor, 0, len(profs))
	for i, p := range profs {
		d := &protocol.SdkStreamDescriptor{
			TrackLabel:     proto.String(videoTrackLabel),
			MediaType:      protocol.SdkStreamMediaType_VIDEO.Enum(),
			MaxBitrateKbps: proto.Uint32(p.kbps),
			Framerate:      proto.Uint32(uint32(fps)),
		}
		switch {
		case len(allocs) == len(profs):
			d.StreamId, d.GroupId = proto.Uint32(allocs[i].GetStreamId()), proto.Uint32(allocs[i].GetGroupId())
		case len(profs) == 1:
			d.StreamId, d.GroupId = proto.Uint32(videoPlaceholderStream), proto.Uint32(videoPlaceholderGroup)
		}
		out = append(out, d)
	}
	return out
}

// StartVideo starts the camera as the SDK does: the camera m-line (m-line
// 1) turns from inactive to sendrecv with one encoding per layer, of
// Config.Video.Codec (VP8 by default), RID simulcast for several
// (a=simulcast:send low;mid;hi and a=rid lines), and a re-SUBSCRIBE describes them in send_streams after the audio one.
// Frames flow once the answer is applied. The server's stream ids come
// back in SUBSCRIBE_ACK allocations (see Allocations); a server at its
// video cap allocates none and forwards nothing, which is not an error:
// a later Resubscribe asks again. Config.Video sets the frame rate,
// bitrates and content layout.
func (a *Attendee) StartVideo(ctx context.Context, layers int) error {
	a.negMu.Lock()
	defer a.negMu.Unlock()
	a.vidMu.Lock()
	started := a.cam != nil
	a.vidMu.Unlock()
	if started {
		return errors.New("attendee: video already started")
	}
	cam, err := newCamera(a.api, a.pc, a.camTr, a.cfg.Video, layers, a.stop)
	if err != nil {
		return err
	}
	a.vidMu.Lock()
	a.cam, a.allocs = cam, nil
	a.vidMu.Unlock()
	_, err = a.subscribeLocked(ctx)
	if err == nil {
		err = cam.start(a.camTr.Mid(), a.goroutine)
	}
	if err != nil {
		// The server may have taken the offer: a later Resubscribe or
		// StopVideo tells it the camera is off.
		a.vidMu.Lock()
		a.cam, a.allocs = nil, nil
		a.vidMu.Unlock()
		return errors.Join(err, cam.stop(a.pc))
	}
	return nil
}

// StopVideo stops the camera as the SDK does: sending stops, the camera
// m-line goes back to inactive and a re-SUBSCRIBE carries no video send
// streams. It does nothing if the camera is off.
func (a *Attendee) StopVideo(ctx context.Context) error {
	a.negMu.Lock()
	defer a.negMu.Unlock()
	a.vidMu.Lock()
	cam := a.cam
	a.cam, a.allocs = nil, nil
	a.vidMu.Unlock()
	if cam == nil {
		return nil
	}
	if err := cam.stop(a.pc); err != nil {
		return err
	}
	_, err := a.subscribeLocked(ctx)
	return err
}

// Allocations returns the camera's SUBSCRIBE_ACK allocations (stream and
// group id per layer, in rid order) from the last SUBSCRIBE; none while
// the camera is off or refused.
func (a *Attendee) Allocations() []*protocol.SdkStreamAllocation {
	a.vidMu.Lock()
	defer a.vidMu.Unlock()
	out := make([]*protocol.SdkStreamAllocation, 0, len(a.allocs))
	for _, al := range a.allocs {
		out = append(out, proto.Clone(al).(*protocol.SdkStreamAllocation))
	}
	return out
}

// AllocatedStreams returns the stream ids of Allocations, in rid order.
func (a *Attendee) AllocatedStreams() []uint32 {
	a.vidMu.Lock()
	defer a.vidMu.Unlock()
	out := make([]uint32, 0, len(a.allocs))
	for _, al := range a.allocs {
		out = append(out, al.GetStreamId())
	}
	return out
}

// VideoSent returns the counters of the layers the camera sends, in rid
// order; nil while it is off.
func (a *Attendee) VideoSent() []LayerStats {
	a.vidMu.Lock()
	cam := a.cam
	a.vidMu.Unlock()
	if cam == nil {
		return nil
	}
	return cam.stats()
}

// profiles returns the camera's encodings in rid order.
func (c *camera) profiles() []layerProfile {
	out := make([]layerProfile, 0, len(c.layers))
	for _, l := range c.layers {
		out = append(out, l.prof)
	}
	return out
}
