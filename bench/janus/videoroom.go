package janus

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/confab-media/confab/bench/attendee"
)

// The VideoRoom side (https://janus.conf.meetecho.com/docs/videoroom.html):
// a publisher sends the attendee's synthetic simulcast camera (VP8 or H.264)
// ("joinandconfigure" with the offer; the rids in low-to-high order), a
// subscriber takes every publisher's video on one PeerConnection
// (multistream "join" as subscriber: Janus offers, the subscriber answers
// with "start") and records each track as an attendee does.

const videoRoomPlugin = "janus.plugin.videoroom"

// errNoSuchFeed is VideoRoom's error code for an unknown publisher.
const errNoSuchFeed = 428

// CreateVideoRoom creates VideoRoom room id for up to publishers
// publishers of video codec (VP8 if "", or "H264": constrained baseline
// 42e01f, as the attendee sends it; no recording, no bitrate cap) through
// a session of its own, and returns a function destroying it.
func CreateVideoRoom(ctx context.Context, url string, id uint64, publishers int, codec string) (destroy func(), err error) {
	req := map[string]any{"request": "create", "room": id, "publishers": publishers, "videocodec": "vp8",
		"bitrate": 0, "record": false, "notify_joining": false}
	switch c, err := attendee.VideoCodec(codec); {
	case err != nil:
		return nil, err
	case c.MimeType == webrtc.MimeTypeH264:
		req["videocodec"], req["h264_profile"] = "h264", "42e01f"
	}
	s, err := Open(ctx, url, videoRoomPlugin)
	if err != nil {
		return nil, err
	}
	if err := s.Request(ctx, req, nil); err != nil {
		_ = s.Close()
		return nil, err
	}
	return func() {
		dctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = s.Request(dctx, map[string]any{"request": "destroy", "room": id}, nil)
		_ = s.Close()
	}, nil
}

// Publisher is one camera published in a VideoRoom.
type Publisher struct {
	sess *Session
	pc   *webrtc.PeerConnection
	cam  *attendee.Camera

	closeOnce sync.Once
}

// PublisherConfig describes a publisher.
type PublisherConfig struct {
	URL     string // Janus's HTTP API root
	Room    uint64
	Feed    uint64 // the publisher's id in the room, chosen by the caller
	Display string
	Video   attendee.VideoConfig // frame rate, bitrates, keyframes, codec (the room's)
	Layers  int                  // 1, or 3 for RID simulcast low/mid/hi
	LocalIP string               // as Config's
}

// Publish joins cfg.Room as publisher cfg.Feed and sends the camera once
// ICE connects. ctx bounds the set-up.
func Publish(ctx context.Context, cfg PublisherConfig) (*Publisher, error) {
	p := &Publisher{}
	var err error
	if p.sess, err = Open(ctx, cfg.URL, videoRoomPlugin); err != nil {
		return nil, err
	}
	if err := p.connect(ctx, cfg); err != nil {
		_ = p.Close()
		return nil, err
	}
	return p, nil
}

func (p *Publisher) connect(ctx context.Context, cfg PublisherConfig) error {
	api, err := newAPI(cfg.LocalIP, cfg.Video.Codec)
	if err != nil {
		return err
	}
	if p.pc, err = api.NewPeerConnection(webrtc.Configuration{}); err != nil {
		return err
	}
	cam, err := attendee.NewCamera(api, p.pc, cfg.Video, cfg.Layers)
	if err != nil {
		return err
	}
	connected := onConnected(p.pc)
	offer, err := p.pc.CreateOffer(nil)
	if err != nil {
		return err
	}
	if err := setLocal(ctx, p.pc, offer); err != nil {
		return err
	}
	answer, err := p.sess.Negotiate(ctx, map[string]any{"request": "joinandconfigure", "room": cfg.Room, "ptype": "publisher",
		"id": cfg.Feed, "display": cfg.Display, "audio": false, "video": true},
		JSEP{Type: "offer", SDP: p.pc.LocalDescription().SDP, RIDOrder: "lmh"})
	if err != nil {
		return fmt.Errorf("janus: publish in room %d: %w", cfg.Room, err)
	}
	if err := p.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: answer.SDP}); err != nil {
		return fmt.Errorf("janus: publisher answer: %w", err)
	}
	if err := waitConnected(ctx, connected); err != nil {
		return err
	}
	if err := cam.Start(); err != nil {
		return err
	}
	p.cam = cam
	return nil
}

// Sent returns what the camera sent, per layer.
func (p *Publisher) Sent() []attendee.LayerStats {
	if p.cam == nil {
		return nil
	}
	return p.cam.Sent()
}

// Close stops the camera, closes the PeerConnection and the session. It
// is idempotent.
func (p *Publisher) Close() error {
	var err error
	p.closeOnce.Do(func() {
		if p.cam != nil {
			err = p.cam.Stop(p.pc)
		}
		err = errors.Join(err, hangUp(p.pc, nil, p.sess))
	})
	return err
}

// Subscriber receives several publishers' video on one PeerConnection.
type Subscriber struct {
	sess *Session
	pc   *webrtc.PeerConnection
	// Started is when Janus accepted the answer ("start"): the streams'
	// frame rates and bitrates count from it.
	Started time.Time

	mu     sync.Mutex // guards rxs and closed
	rxs    map[string]*attendee.VideoReceiver
	closed bool
	wg     sync.WaitGroup // track readers

	closeOnce sync.Once
}

// SubscriberConfig describes a subscriber.
type SubscriberConfig struct {
	URL   string
	Room  uint64
	Feeds []uint64 // the publishers to receive
	// Substream is the simulcast layer asked of every feed: 0 low, 1 mid,
	// 2 high; -1 leaves Janus's default.
	Substream int
	LocalIP   string
	Codec     string // the room's video codec, the only one answered: VP8 if "", or H264
}

// Subscribe joins cfg.Room as a subscriber of cfg.Feeds' video. ctx
// bounds the set-up.
func Subscribe(ctx context.Context, cfg SubscriberConfig) (*Subscriber, error) {
	s := &Subscriber{rxs: map[string]*attendee.VideoReceiver{}}
	var err error
	if s.sess, err = Open(ctx, cfg.URL, videoRoomPlugin); err != nil {
		return nil, err
	}
	if err := s.connect(ctx, cfg); err != nil {
		_ = s.Close()
		return nil, err
	}
	return s, nil
}

func (s *Subscriber) connect(ctx context.Context, cfg SubscriberConfig) error {
	streams := make([]map[string]any, 0, len(cfg.Feeds))
	for _, f := range cfg.Feeds {
		st := map[string]any{"feed": f}
		if cfg.Substream >= 0 {
			st["substream"] = cfg.Substream
		}
		streams = append(streams, st)
	}
	// A feed exists for subscribers once its PeerConnection is up on
	// Janus's side, which may be a moment after the publisher's: "No such
	// feed" (428) is retried for a few seconds.
	var offer *JSEP
	for retry := time.Now().Add(5 * time.Second); ; {
		err := s.sess.Message(ctx, map[string]any{"request": "join", "room": cfg.Room, "ptype": "subscriber", "streams": streams}, nil)
		if err != nil {
			return err
		}
		_, offer, err = s.sess.Await(ctx, func(_ json.RawMessage, jsep *JSEP) bool { return jsep != nil && jsep.Type == "offer" })
		var pe *pluginError
		if errors.As(err, &pe) && pe.Code == errNoSuchFeed && time.Now().Before(retry) {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(200 * time.Millisecond):
			}
			continue
		}
		if err != nil {
			return fmt.Errorf("janus: subscribe in room %d: %w", cfg.Room, err)
		}
		break
	}
	api, err := newAPI(cfg.LocalIP, cfg.Codec)
	if err != nil {
		return err
	}
	if s.pc, err = api.NewPeerConnection(webrtc.Configuration{}); err != nil {
		return err
	}
	connected := onConnected(s.pc)
	s.pc.OnTrack(s.onTrack)
	if err := s.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offer.SDP}); err != nil {
		return fmt.Errorf("janus: subscriber offer: %w", err)
	}
	answer, err := s.pc.CreateAnswer(nil)
	if err != nil {
		return err
	}
	if err := setLocal(ctx, s.pc, answer); err != nil {
		return err
	}
	if err := s.sess.Message(ctx, map[string]any{"request": "start"},
		&JSEP{Type: "answer", SDP: s.pc.LocalDescription().SDP}); err != nil {
		return err
	}
	if _, _, err := s.sess.Await(ctx, func(data json.RawMessage, _ *JSEP) bool {
		var d struct {
			Started string `json:"started"`
		}
		return json.Unmarshal(data, &d) == nil && d.Started == "ok"
	}); err != nil {
		return fmt.Errorf("janus: start: %w", err)
	}
	s.Started = time.Now()
	return waitConnected(ctx, connected)
}

// onTrack runs a reader for each video track Janus forwards.
func (s *Subscriber) onTrack(t *webrtc.TrackRemote, r *webrtc.RTPReceiver) {
	if t.Kind() != webrtc.RTPCodecTypeVideo {
		return
	}
	mid := ""
	for _, tr := range s.pc.GetTransceivers() {
		if tr.Receiver() == r {
			mid = tr.Mid()
		}
	}
	s.mu.Lock() // pion runs this on a goroutine of its own: Close waits for it
	if s.closed {
		s.mu.Unlock()
		return
	}
	rx := &attendee.VideoReceiver{}
	s.rxs[mid] = rx
	s.wg.Add(1)
	s.mu.Unlock()
	defer s.wg.Done()
	rx.Receive(t, mid, s.pc.WriteRTCP)
}

// Tracks returns the stats of every video track received, by mid.
func (s *Subscriber) Tracks() []attendee.VideoStats {
	s.mu.Lock()
	out := make([]attendee.VideoStats, 0, len(s.rxs))
	for _, rx := range s.rxs {
		out = append(out, rx.Stats())
	}
	s.mu.Unlock()
	slices.SortFunc(out, func(x, y attendee.VideoStats) int { return cmp.Compare(x.Mid, y.Mid) })
	return out
}

// Close closes the PeerConnection and the session and waits for the track
// readers. It is idempotent.
func (s *Subscriber) Close() error {
	var err error
	s.closeOnce.Do(func() {
		s.mu.Lock()
		s.closed = true
		s.mu.Unlock()
		err = hangUp(s.pc, &s.wg, s.sess)
	})
	return err
}
