package sfu

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"

	"github.com/confab-media/confab/sfu/rtpfwd"
)

// source is one published video of a session: its camera, or the video of
// a content-share session. Its layers are the simulcast encodings in rid
// order (low … hi), or one layer without a rid. All layers share the
// source's group_id (fact sheet §6).
type source struct {
	group      uint32
	pub        *Peer
	attendeeID string
	externalID string
	content    bool
	layers     []*layer

	// subs is the copy-on-write list of down tracks bound to this source,
	// read per packet by the layer readers without a lock. Writers hold
	// the room's video lock.
	subs atomic.Pointer[[]*downTrack]

	kfMu sync.Mutex
	kf   *rtpfwd.KeyframeRequester
}

// layer is one encoding of a source.
type layer struct {
	src       *source
	streamID  uint32
	rid       string
	label     string // the track_label the publisher described it with
	maxKbps   uint32
	framerate uint32

	ssrc   atomic.Uint32 // 0 until the first packet
	mime   atomic.Pointer[string]
	bytes  atomic.Uint64 // payload bytes received, for the measured bitrate
	width  atomic.Uint32 // from VP8 keyframes
	height atomic.Uint32

	// Written by the room's stats loop only.
	lastBytes  uint64
	listedSize uint32 // width<<16 | height as the last measure saw it
	avgBps     atomic.Uint32
	active     atomic.Bool // packets arrived in the last stats interval
}

// ridsFor returns the rids of n simulcast encodings as the SDK sends them
// (fact sheet §6 and §8): 3 → low, mid, hi; 2 (content) → low, hi; 1 → none.
func ridsFor(n int) []string {
	switch n {
	case 3:
		return []string{"low", "mid", "hi"}
	case 2:
		return []string{"low", "hi"}
	}
	return make([]string, n)
}

// layerByRID returns the layer for a track's rid ("" without simulcast).
func (s *source) layerByRID(rid string) *layer {
	if len(s.layers) == 1 {
		return s.layers[0]
	}
	for _, l := range s.layers {
		if l.rid == rid {
			return l
		}
	}
	return nil
}

// subscribers returns the down tracks bound to s.
func (s *source) subscribers() []*downTrack {
	if p := s.subs.Load(); p != nil {
		return *p
	}
	return nil
}

// addSub and removeSub replace the subscriber list; the caller holds the
// room's video lock.
func (s *source) addSub(d *downTrack) {
	old := s.subscribers()
	n := make([]*downTrack, 0, len(old)+1)
	n = append(n, old...)
	n = append(n, d)
	s.subs.Store(&n)
}

func (s *source) removeSub(d *downTrack) {
	old := s.subscribers()
	n := make([]*downTrack, 0, len(old))
	for _, o := range old {
		if o != d {
			n = append(n, o)
		}
	}
	s.subs.Store(&n)
}

// requestKeyframe asks the publisher for a keyframe of the layer with
// ssrc by RTCP PLI (RFC 4585 §6.3.1), at most once per the requester's
// interval.
func (s *source) requestKeyframe(ssrc uint32, now time.Time) {
	if ssrc == 0 {
		return
	}
	s.kfMu.Lock()
	ok := s.kf.Allow(ssrc, now)
	s.kfMu.Unlock()
	if ok && s.pub.pc.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: ssrc}}) == nil {
		s.pub.stats.pliOut.Add(1)
	}
}

// codecOf returns the MIME type of the layer's packets, or VP8 before the
// first one.
func (l *layer) codecOf() string {
	if m := l.mime.Load(); m != nil {
		return *m
	}
	return webrtc.MimeTypeVP8
}
