package sfu

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
	"google.golang.org/protobuf/proto"

	"github.com/confab-media/confab/bench/attendee"
	"github.com/confab-media/confab/internal/testkit"
	"github.com/confab-media/confab/signaling/events"
	"github.com/confab-media/confab/signaling/meeting"
	"github.com/confab-media/confab/signaling/protocol"
)

// eventLog keeps every event published.
type eventLog struct{ testkit.Events }

// of returns the events of type typ about attendee, in order.
func (l *eventLog) of(typ events.Type, attendee string) []events.Event { return l.Of(typ, attendee) }

// videoTypes lists the video and content event types, for logs.
var videoTypes = []events.Type{
	events.AttendeeVideoStarted, events.AttendeeVideoStopped,
	events.AttendeeContentJoined, events.AttendeeContentLeft, events.AttendeeContentDropped,
	events.AttendeeContentVideoStarted, events.AttendeeContentVideoStopped,
}

// video returns the video and content events, as "type attendee" lines.
func (l *eventLog) video() []string {
	var out []string
	for _, e := range l.All() {
		if slices.Contains(videoTypes, e.Detail.EventType) {
			out = append(out, string(e.Detail.EventType)+" "+e.Detail.AttendeeID)
		}
	}
	return out
}

// newVideoFixture is newFixture with the Server built from cfg and its
// Params.Events on the fixture's bus (newFixture leaves them out), whose
// every event the returned log keeps.
func newVideoFixture(t *testing.T, cfg Config) (*fixture, *eventLog) {
	t.Helper()
	evs := &eventLog{}
	return buildFixture(t, cfg, evs), evs
}

// videoCfg is the camera the tests publish: keyframes only first and on
// request, so every keyframe a subscriber sees after the first was asked
// for by the SFU.
func videoCfg(layers int) attendee.VideoConfig {
	return attendee.VideoConfig{Layers: layers, KeyframeInterval: -1}
}

// contentCfg is a content share's video: simulcast low/hi.
func contentCfg() attendee.VideoConfig {
	return attendee.VideoConfig{Layers: 2, Content: true, KeyframeInterval: -1}
}

// member is one test attendee dialed in with video options.
type member struct {
	*attendee.Attendee
	f    *fixture
	id   string // attendee id, "<id>#content" for a content share
	user string // external user id, likewise
}

// joinVideo creates an attendee and dials it in with video (Layers 0:
// none yet); closed when the test ends, which it fails on a background
// error.
func (f *fixture) joinVideo(meetingID, user string, video attendee.VideoConfig) *member {
	f.t.Helper()
	a := f.attendee(meetingID, user)
	return f.dialVideo(meetingID, a.JoinToken, a.AttendeeId, user, video)
}

// joinContent dials the content share of owner ("<token>#content", as
// the SDK's content-share session) with video.
func (f *fixture) joinContent(meetingID string, owner meeting.Attendee, video attendee.VideoConfig) *member {
	f.t.Helper()
	return f.dialVideo(meetingID, owner.JoinToken+meeting.ContentSuffix, owner.AttendeeId+meeting.ContentSuffix,
		owner.ExternalUserId+meeting.ContentSuffix, video)
}

func (f *fixture) dialVideo(meetingID, token, id, user string, video attendee.VideoConfig) *member {
	f.t.Helper()
	at, err := attendee.Dial(within(f.t), attendee.Config{
		SignalingURL: f.signalingURL(meetingID), JoinToken: token, Name: user,
		Loopback: true, History: -1, Video: video, Log: testLog(),
	})
	if err != nil {
		f.t.Fatalf("%s: %v", user, err)
	}
	f.t.Cleanup(func() {
		if err := at.Err(); err != nil {
			f.t.Errorf("%s: %v", user, err)
		}
	})
	f.t.Cleanup(func() { _ = at.Close() }) // runs first
	return &member{Attendee: at, f: f, id: id, user: user}
}

// sourcesOf returns the INDEX descriptors of attendee, in INDEX order.
func sourcesOf(idx *protocol.SdkIndexFrame, who string) []*protocol.SdkStreamDescriptor {
	var out []*protocol.SdkStreamDescriptor
	for _, s := range idx.GetSources() {
		if s.GetAttendeeId() == who {
			out = append(out, s)
		}
	}
	return out
}

// indexed waits until m's INDEX lists exactly the stream ids of who,
// each with its frame size known, and returns them by stream id.
func indexed(t *testing.T, m *member, who string, ids []uint32) map[uint32]*protocol.SdkStreamDescriptor {
	t.Helper()
	return listed(t, m, who, ids, true)
}

// listed waits until m's INDEX lists exactly the stream ids of who (with
// their frame sizes if sized), and returns them by stream id.
func listed(t *testing.T, m *member, who string, ids []uint32, sized bool) map[uint32]*protocol.SdkStreamDescriptor {
	t.Helper()
	what := m.user + "'s INDEX to list " + who + "'s layers"
	if sized {
		what += " with their sizes"
	}
	for deadline := time.Now().Add(wait); ; time.Sleep(10 * time.Millisecond) {
		got := map[uint32]*protocol.SdkStreamDescriptor{}
		ok := true
		for _, s := range sourcesOf(m.Index(), who) {
			ok = ok && (!sized || (s.GetWidth() != 0 && s.GetHeight() != 0))
			got[s.GetStreamId()] = s
		}
		ok = ok && len(got) == len(ids)
		for _, id := range ids {
			ok = ok && got[id] != nil
		}
		if ok {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s %v: it lists %v\nserver: %s", what, ids, sourcesOf(m.Index(), who), m.f.sv.videoState())
		}
	}
}

// videoState describes the Server's video layers, for failure messages.
func (sv *Server) videoState() string {
	sv.mu.Lock()
	rooms := make([]*Room, 0, len(sv.rooms))
	for _, rm := range sv.rooms {
		rooms = append(rooms, rm)
	}
	sv.mu.Unlock()
	var b strings.Builder
	for _, rm := range rooms {
		rm.video.mu.Lock()
		ids := slices.Sorted(maps.Keys(rm.video.layers))
		for _, id := range ids {
			l := rm.video.layers[id]
			fmt.Fprintf(&b, "[stream %d of %s rid %q ssrc %x mime %s %dx%d active %v bytes %d] ", id, l.src.attendeeID, l.rid,
				l.ssrc.Load(), l.codecOf(), l.width.Load(), l.height.Load(), l.active.Load(), l.bytes.Load())
		}
		rm.video.mu.Unlock()
		for _, p := range rm.peerList() {
			for _, d := range p.downTracks() {
				d.mu.Lock()
				target, waiting := d.fwd.WantsKeyframe()
				var want, fit uint32
				if d.want != nil {
					want = d.want.streamID
				}
				if d.fit != nil {
					fit = d.fit.streamID
				}
				fmt.Fprintf(&b, "[%s mid %s: want %d fit %d target %x current %x waiting %v paused %v/%v] ", p.attendeeID, d.mid,
					want, fit, target, d.fwd.Current(), waiting, d.paused, d.serverPaused)
				d.mu.Unlock()
			}
		}
	}
	return b.String()
}

// receiving waits until m receives at least n more packets and a keyframe
// on mid after the stats before, and returns the stats then.
func receiving(t *testing.T, m *member, mid string, before attendee.VideoStats, n uint64) attendee.VideoStats {
	t.Helper()
	for deadline := time.Now().Add(wait); ; time.Sleep(10 * time.Millisecond) {
		st, _ := m.VideoTrack(mid)
		if st.Packets >= before.Packets+n && st.Keyframes > before.Keyframes {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s to receive video on mid %s: %+v\nserver: %s", m.user, mid, st, m.f.sv.videoState())
		}
	}
}

// flowing waits until m receives at least n more packets on mid after the
// stats before, and returns the stats then.
func flowing(t *testing.T, m *member, mid string, before attendee.VideoStats, n uint64) attendee.VideoStats {
	t.Helper()
	var st attendee.VideoStats
	eventually(t, m.user+" to keep receiving video on mid "+mid, func() bool {
		st, _ = m.VideoTrack(mid)
		return st.Packets >= before.Packets+n
	})
	return st
}

// keyframesAfter returns the keyframes of st whose first packet came
// after the packet count packets.
func keyframesAfter(st attendee.VideoStats, packets uint64) []attendee.Keyframe {
	var out []attendee.Keyframe
	for _, k := range st.KeyframeLog {
		if k.Packet > packets {
			out = append(out, k)
		}
	}
	return out
}

// checkContinuous fails if the stream on st's track is not one
// continuous RTP stream: one SSRC, no sequence number or timestamp going
// backwards, no gap beyond maxGap.
func checkContinuous(t *testing.T, what string, st attendee.VideoStats, maxGap uint16) {
	t.Helper()
	if len(st.SSRCs) != 1 {
		t.Errorf("%s: SSRCs %v, want one", what, st.SSRCs)
	}
	if st.SeqBackwards != 0 || st.SeqDuplicates != 0 || st.TSBackwards != 0 {
		t.Errorf("%s: %d sequence numbers backwards, %d repeated, %d timestamps backwards",
			what, st.SeqBackwards, st.SeqDuplicates, st.TSBackwards)
	}
	if st.MaxSeqGap > maxGap {
		t.Errorf("%s: sequence gap of %d (%d gaps, %d lost)", what, st.MaxSeqGap, st.SeqGaps, st.SeqLost)
	}
	t.Logf("%s: %d packets, %d frames, %d keyframes, %d gaps (%d lost, max %d)",
		what, st.Packets, st.Frames, st.Keyframes, st.SeqGaps, st.SeqLost, st.MaxSeqGap)
}

// quiet waits until m's track on mid received nothing for hold, and
// returns its stats then.
func quiet(t *testing.T, m *member, mid string, hold time.Duration) attendee.VideoStats {
	t.Helper()
	st, _ := m.VideoTrack(mid)
	since := time.Now()
	eventually(t, m.user+"'s video on mid "+mid+" to stop", func() bool {
		cur, _ := m.VideoTrack(mid)
		if cur.Packets != st.Packets {
			st, since = cur, time.Now()
		}
		return time.Since(since) >= hold
	})
	return st
}

// barrier returns once the server has handled every frame m sent before:
// a session handles its frames in order, and answers a PING with a PONG.
func barrier(t *testing.T, m *member) {
	t.Helper()
	id := uint32(time.Now().UnixNano()) | 1<<31 // not one of the pinger's
	ping := protocol.NewFrame(protocol.SdkSignalFrame_PING_PONG, time.Now())
	ping.PingPong = &protocol.SdkPingPongFrame{Type: protocol.SdkPingPongType_PING.Enum(), PingId: proto.Uint32(id)}
	send(t, m.Signaling(), ping)
	for nextOf(t, m.Signaling(), protocol.SdkSignalFrame_PING_PONG).GetPingPong().GetPingId() != id {
	}
}

// discardContext binds a local track to nothing: its writes are dropped
// after pion's TrackLocalStaticRTP has stamped them (for benchmarks).
type discardContext struct {
	id   string
	ssrc webrtc.SSRC
}

func (c discardContext) CodecParameters() []webrtc.RTPCodecParameters {
	return []webrtc.RTPCodecParameters{{RTPCodecCapability: videoCapability(webrtc.MimeTypeVP8), PayloadType: ptVP8}}
}
func (discardContext) HeaderExtensions() []webrtc.RTPHeaderExtensionParameter { return nil }
func (c discardContext) SSRC() webrtc.SSRC                                    { return c.ssrc }
func (discardContext) SSRCRetransmission() webrtc.SSRC                        { return 0 }
func (discardContext) SSRCForwardErrorCorrection() webrtc.SSRC                { return 0 }
func (discardContext) WriteStream() webrtc.TrackLocalWriter                   { return discardWriter{} }
func (c discardContext) ID() string                                           { return c.id }
func (discardContext) RTCPReader() interceptor.RTCPReader                     { return nil }

type discardWriter struct{}

func (discardWriter) WriteRTP(h *rtp.Header, payload []byte) (int, error) {
	return h.MarshalSize() + len(payload), nil
}
func (discardWriter) Write(b []byte) (int, error) { return len(b), nil }
