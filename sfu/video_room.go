package sfu

import (
	"sort"
	"strings"
	"sync"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/confab-media/confab/sfu/rtpfwd"
	"github.com/confab-media/confab/signaling/protocol"
)

// Track label of every video send stream the SDK describes.
const audioTrackLabel = "AmazonChimeExpressAudio"

// videoRoom is a meeting's video state: the published sources, their
// layers by stream id, and who is bound to what. Lock order: videoRoom.mu,
// then a downTrack's mu.
type videoRoom struct {
	maxVideos  int
	maxContent int
	kfInterval time.Duration

	mu         sync.Mutex
	nextStream uint32
	nextGroup  uint32
	sources    map[uint64]*source // by publishing session
	layers     map[uint32]*layer  // by stream id
}

func newVideoRoom(cfg Config) *videoRoom {
	return &videoRoom{
		maxVideos: cfg.MaxVideos, maxContent: cfg.MaxContentShares, kfInterval: cfg.KeyframeInterval,
		nextStream: 100, nextGroup: 100,
		sources: map[uint64]*source{}, layers: map[uint32]*layer{},
	}
}

// videoDescriptors returns the video send streams of a SUBSCRIBE: every
// descriptor but the audio one (fact sheet §6: send_streams[0] is audio).
func videoDescriptors(sub *protocol.SdkSubscribeFrame) []*protocol.SdkStreamDescriptor {
	var out []*protocol.SdkStreamDescriptor
	for _, d := range sub.GetSendStreams() {
		if d.GetTrackLabel() == audioTrackLabel ||
			(d.MediaType != nil && d.GetMediaType() == protocol.SdkStreamMediaType_AUDIO) {
			continue
		}
		out = append(out, d)
	}
	return out
}

// publishResult says what publish did.
type publishResult int

const (
	publishUnchanged publishResult = iota
	publishStarted
	publishStopped
	publishRefused // over the cap
)

// publish makes p's published video match descs (sending says whether the
// camera m-line sends at all). A source whose layer layout is unchanged
// keeps its stream ids; a new layout is a new source (new group_id). Past
// the cap for its kind, a new source is refused.
func (v *videoRoom) publish(p *Peer, descs []*protocol.SdkStreamDescriptor, sending bool) ([]*protocol.SdkStreamAllocation, publishResult) {
	v.mu.Lock()
	defer v.mu.Unlock()
	old := v.sources[p.sessionID]
	if !sending || len(descs) == 0 {
		if old == nil {
			return nil, publishUnchanged
		}
		v.removeLocked(old)
		return nil, publishStopped
	}
	if old != nil && len(old.layers) == len(descs) {
		for i, d := range descs {
			old.layers[i].maxKbps = d.GetMaxBitrateKbps()
			if d.GetFramerate() > 0 {
				old.layers[i].framerate = d.GetFramerate()
			}
		}
		return allocations(old), publishUnchanged
	}
	if old != nil {
		v.removeLocked(old)
	} else if v.countLocked(p.content) >= v.capFor(p.content) {
		return nil, publishRefused
	}
	v.nextGroup++
	src := &source{
		group: v.nextGroup, pub: p, attendeeID: p.attendeeID, externalID: p.externalID,
		content: p.content, kf: rtpfwd.NewKeyframeRequester(v.kfInterval),
	}
	rids := ridsFor(len(descs))
	for i, d := range descs {
		v.nextStream++
		l := &layer{src: src, streamID: v.nextStream, rid: rids[i], label: d.GetTrackLabel(),
			maxKbps: d.GetMaxBitrateKbps(), framerate: d.GetFramerate()}
		src.layers = append(src.layers, l)
		v.layers[l.streamID] = l
	}
	v.sources[p.sessionID] = src
	p.pub.Store(src)
	return allocations(src), publishStarted
}

func (v *videoRoom) capFor(content bool) int {
	if content {
		return v.maxContent
	}
	return v.maxVideos
}

func (v *videoRoom) countLocked(content bool) int {
	n := 0
	for _, s := range v.sources {
		if s.content == content {
			n++
		}
	}
	return n
}

// unpublish removes p's source, if any; it reports whether there was one.
func (v *videoRoom) unpublish(p *Peer) bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	src := v.sources[p.sessionID]
	if src == nil {
		return false
	}
	v.removeLocked(src)
	return true
}

// removeLocked drops a source and unbinds its subscribers.
func (v *videoRoom) removeLocked(src *source) {
	delete(v.sources, src.pub.sessionID)
	for _, l := range src.layers {
		delete(v.layers, l.streamID)
	}
	src.pub.pub.CompareAndSwap(src, nil)
	for _, d := range src.subscribers() {
		d.mu.Lock()
		d.src, d.want, d.fit = nil, nil, nil
		d.fwd.SetTarget(0)
		d.mu.Unlock()
	}
	src.subs.Store(nil)
}

func allocations(src *source) []*protocol.SdkStreamAllocation {
	out := make([]*protocol.SdkStreamAllocation, 0, len(src.layers))
	for _, l := range src.layers {
		out = append(out, &protocol.SdkStreamAllocation{
			TrackLabel: proto.String(l.label), StreamId: proto.Uint32(l.streamID), GroupId: proto.Uint32(src.group),
		})
	}
	return out
}

// bind points d at the layer with streamID (nil, false if no such
// stream). A layer of d's current source is a layer switch; another
// source is a rebinding. Either way the track and SSRC stay.
func (v *videoRoom) bind(d *downTrack, streamID uint32, now time.Time) bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	l := v.layers[streamID]
	if l == nil {
		v.unbindLocked(d)
		return false
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.src != l.src {
		if d.src != nil {
			d.src.removeSub(d)
		}
		d.src = l.src
		l.src.addSub(d)
	}
	d.want, d.fit = l, l
	d.retargetLocked(now)
	return true
}

// unbind stops forwarding to d.
func (v *videoRoom) unbind(d *downTrack) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.unbindLocked(d)
}

func (v *videoRoom) unbindLocked(d *downTrack) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.src != nil {
		d.src.removeSub(d)
	}
	d.src, d.want, d.fit = nil, nil, nil
	d.fwd.SetTarget(0)
}

// index builds the INDEX for the subscriber of session sessionID with
// attendee self and permissions caps: every active layer of every source
// it may receive but its own camera and its own content share, in a
// stable order (fact sheet §6).
func (v *videoRoom) index(sessionID uint64, self string, caps mediaCaps) *protocol.SdkIndexFrame {
	v.mu.Lock()
	defer v.mu.Unlock()
	srcs := make([]*source, 0, len(v.sources))
	for sid, s := range v.sources {
		if sid == sessionID || s.attendeeID == self || s.attendeeID == self+contentSuffix || !caps.mayReceive(s.content) {
			continue
		}
		srcs = append(srcs, s)
	}
	sort.Slice(srcs, func(i, j int) bool { return srcs[i].group < srcs[j].group })
	idx := &protocol.SdkIndexFrame{}
	_, publishing := v.sources[sessionID]
	idx.AtCapacity = proto.Bool(!publishing && !strings.HasSuffix(self, contentSuffix) && v.countLocked(false) >= v.maxVideos)
	for _, s := range srcs {
		for _, l := range s.layers {
			if !l.active.Load() {
				continue
			}
			idx.Sources = append(idx.Sources, describe(l))
		}
	}
	return idx
}

func describe(l *layer) *protocol.SdkStreamDescriptor {
	d := &protocol.SdkStreamDescriptor{
		StreamId:       proto.Uint32(l.streamID),
		GroupId:        proto.Uint32(l.src.group),
		AttendeeId:     proto.String(l.src.attendeeID),
		ExternalUserId: proto.String(l.src.externalID),
		MediaType:      protocol.SdkStreamMediaType_VIDEO.Enum(),
		MaxBitrateKbps: proto.Uint32(l.maxKbps),
		AvgBitrateBps:  proto.Uint32(l.avgBps.Load()),
		TrackLabel:     proto.String(l.label),
	}
	if l.framerate > 0 {
		d.Framerate = proto.Uint32(l.framerate)
	}
	if w, h := l.width.Load(), l.height.Load(); w > 0 && h > 0 {
		d.Width, d.Height = proto.Uint32(w), proto.Uint32(h)
	}
	return d
}

// measure folds the byte counters of every layer into avg bitrates over
// elapsed, and reports whether INDEX must be re-sent: the set of active
// layers, or a layer's frame size (learned from a later keyframe, or a
// camera changing resolution), changed.
func (v *videoRoom) measure(elapsed time.Duration) (changed bool) {
	v.mu.Lock()
	defer v.mu.Unlock()
	secs := elapsed.Seconds()
	if secs <= 0 {
		return false
	}
	for _, l := range v.layers {
		b := l.bytes.Load()
		delta := b - l.lastBytes
		l.lastBytes = b
		l.avgBps.Store(uint32(float64(delta*8) / secs))
		if active := delta > 0; active != l.active.Load() {
			l.active.Store(active)
			changed = true
		}
		if size := l.width.Load()<<16 | l.height.Load(); size != l.listedSize {
			l.listedSize = size
			changed = true
		}
	}
	return changed
}

// bitrates returns the BITRATES entries of every active layer.
func (v *videoRoom) bitrates() []*protocol.SdkBitrate {
	v.mu.Lock()
	defer v.mu.Unlock()
	out := make([]*protocol.SdkBitrate, 0, len(v.layers))
	for id, l := range v.layers {
		if l.active.Load() {
			out = append(out, &protocol.SdkBitrate{SourceStreamId: proto.Uint32(id), AvgBitrateBps: proto.Uint32(l.avgBps.Load())})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].GetSourceStreamId() < out[j].GetSourceStreamId() })
	return out
}

// lookup returns the codec of the stream's layer and whether its source
// is a content share, if the stream exists.
func (v *videoRoom) lookup(streamID uint32) (mime string, content, ok bool) {
	v.mu.Lock()
	defer v.mu.Unlock()
	l := v.layers[streamID]
	if l == nil {
		return "", false, false
	}
	return l.codecOf(), l.src.content, true
}

// askSizes asks for a keyframe of every flowing VP8 layer whose frame size
// is still unknown (its first keyframe was missed, e.g. during simulcast
// probing), so INDEX can carry width and height. Rate-limited per layer.
func (v *videoRoom) askSizes(now time.Time) {
	v.mu.Lock()
	var ask []*layer
	for _, l := range v.layers {
		if l.active.Load() && l.width.Load() == 0 && strings.EqualFold(l.codecOf(), "video/VP8") {
			ask = append(ask, l)
		}
	}
	v.mu.Unlock()
	for _, l := range ask {
		l.src.requestKeyframe(l.ssrc.Load(), now)
	}
}
