package sfu

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/confab-media/confab/bench/attendee"
	"github.com/confab-media/confab/sfu/rtpfwd"
	"github.com/confab-media/confab/signaling/events"
	"github.com/confab-media/confab/signaling/meeting"
	"github.com/confab-media/confab/signaling/protocol"
)

// Layer sizes the synthetic camera sends (bench/attendee defaults).
var layerSize = map[string][2]uint32{"low": {320, 180}, "mid": {640, 360}, "hi": {1280, 720}}

// simulcastSetup joins alice publishing 3-layer simulcast and bob
// publishing one stream, waits for bob's INDEX to list alice's layers and
// subscribes bob to alice's hi layer. It returns alice's stream ids
// (low, mid, hi) and the mid of bob's subscription.
func simulcastSetup(t *testing.T, f *fixture) (alice, bob *member, ids []uint32, mid string) {
	t.Helper()
	m := f.meeting()
	alice = f.joinVideo(m, "alice", videoCfg(3))
	bob = f.joinVideo(m, "bob", videoCfg(1))
	ids = alice.AllocatedStreams()
	if len(ids) != 3 {
		t.Fatalf("alice's allocations %v, want 3", alice.Allocations())
	}
	indexed(t, bob, alice.id, ids)
	ack, err := bob.Subscribe(within(t), ids[2])
	if err != nil {
		t.Fatal(err)
	}
	if len(ack.GetTracks()) != 1 || ack.GetTracks()[0].GetStreamId() != ids[2] {
		t.Fatalf("SUBSCRIBE_ACK tracks %v, want one for stream %d", ack.GetTracks(), ids[2])
	}
	subs := bob.Subscriptions()
	if len(subs) != 1 || subs[0].StreamID != ids[2] {
		t.Fatalf("subscriptions %+v", subs)
	}
	return alice, bob, ids, subs[0].Mid
}

// TestVideoPublishAndForward: a 3-layer simulcast camera gets one
// allocation per layer in one group; the others' INDEX lists its active
// layers with the publisher's identity and the frame sizes of its
// keyframes, never the receiver's own camera; a subscriber to its hi
// layer receives it on one track that SUBSCRIBE_ACK tracks[] binds to
// that stream, asking the publisher for a keyframe.
func TestVideoPublishAndForward(t *testing.T) {
	checkNoLeaks(t)
	f, _ := newVideoFixture(t, Config{})
	alice, bob, ids, mid := simulcastSetup(t, f)

	allocs := alice.Allocations()
	for i, a := range allocs {
		if a.GetGroupId() == 0 || a.GetGroupId() != allocs[0].GetGroupId() || a.GetStreamId() == 0 ||
			(i > 0 && a.GetStreamId() == allocs[i-1].GetStreamId()) {
			t.Errorf("allocations %v: want distinct stream ids in one group", allocs)
		}
	}
	if b := bob.Allocations(); len(b) != 1 || b[0].GetGroupId() == allocs[0].GetGroupId() {
		t.Errorf("bob's allocations %v: want one, in a group of its own", b)
	}

	// bob's INDEX: alice's three layers; never bob's own camera, which
	// alice's INDEX does list.
	srcs := indexed(t, bob, alice.id, ids)
	for i, rid := range []string{"low", "mid", "hi"} {
		s := srcs[ids[i]]
		if s.MediaType == nil || s.GetMediaType() != protocol.SdkStreamMediaType_VIDEO {
			t.Errorf("%s: media_type %v, want VIDEO set explicitly", rid, s.MediaType)
		}
		if s.GetGroupId() != allocs[0].GetGroupId() || s.GetExternalUserId() != "alice" {
			t.Errorf("%s: group %d, external user %q", rid, s.GetGroupId(), s.GetExternalUserId())
		}
		if sz := layerSize[rid]; s.GetWidth() != sz[0] || s.GetHeight() != sz[1] {
			t.Errorf("%s: %dx%d, want %dx%d", rid, s.GetWidth(), s.GetHeight(), sz[0], sz[1])
		}
	}
	indexed(t, alice, bob.id, bob.AllocatedStreams())
	if own := sourcesOf(bob.Index(), bob.id); len(own) != 0 {
		t.Errorf("bob's INDEX lists his own camera: %v", own)
	}
	if n := bob.Index().GetNumParticipants(); n != 2 {
		t.Errorf("num_participants %d, want 2", n)
	}

	// bob receives alice's hi layer on the track tracks[] names.
	st := receiving(t, bob, mid, attendee.VideoStats{}, 60)
	ack := bob.SubscribeAck()
	tr := ack.GetTracks()[0]
	if st.Label != tr.GetTrackLabel() || st.StreamID != ids[2] {
		t.Errorf("track label %q stream %d; tracks[] %v", st.Label, st.StreamID, tr)
	}
	if len(st.SSRCs) != 1 || st.SSRCs[0] != tr.GetSsrc() {
		t.Errorf("SSRCs %v, tracks[] ssrc %d", st.SSRCs, tr.GetSsrc())
	}
	if st.LastKeyWidth != 1280 || st.LastKeyHeight != 720 {
		t.Errorf("keyframe %dx%d, want 1280x720", st.LastKeyWidth, st.LastKeyHeight)
	}
	checkContinuous(t, "bob", st, 10)
	t.Logf("bob dropped %d early packets, sent %d keyframe requests", bob.DroppedEarly(), st.PLIsSent)
	if sent := alice.VideoSent(); sent[2].PLIs == 0 {
		t.Errorf("alice's hi layer got no keyframe request: %+v", sent[2])
	}

	// BITRATES tell every layer apart.
	eventually(t, "BITRATES for alice's layers", func() bool {
		br, _ := bob.Bitrates()
		rate := map[uint32]uint32{}
		for _, b := range br.GetBitrates() {
			rate[b.GetSourceStreamId()] = b.GetAvgBitrateBps()
		}
		return rate[ids[0]] > 0 && rate[ids[0]] < rate[ids[1]] && rate[ids[1]] < rate[ids[2]]
	})
}

// switchLayer sends REMOTE_VIDEO_UPDATE moving bob's mid onto stream id
// and checks the switch happened on the same track with no renegotiation:
// the next keyframe bob sees has the new layer's size, then frames of
// that layer's size flow, one SSRC and continuous sequence numbers and
// timestamps throughout.
func switchLayer(t *testing.T, bob *member, mid string, id uint32, rid string) {
	t.Helper()
	subs := bob.Signaling().Count(protocol.SdkSignalFrame_SUBSCRIBE_ACK)
	before, _ := bob.VideoTrack(mid)
	if err := bob.RemoteVideoUpdate(within(t), mid, id); err != nil {
		t.Fatal(err)
	}
	var key attendee.Keyframe
	eventually(t, "a keyframe after the switch to "+rid, func() bool {
		st, _ := bob.VideoTrack(mid)
		ks := keyframesAfter(st, before.Packets)
		if len(ks) == 0 {
			return false
		}
		key = ks[0]
		return true
	})
	if sz := layerSize[rid]; uint32(key.Width) != sz[0] || uint32(key.Height) != sz[1] {
		t.Fatalf("first keyframe after the switch to %s is %dx%d, want %dx%d", rid, key.Width, key.Height, sz[0], sz[1])
	}
	// Then 20 frames of that layer only.
	at, _ := bob.VideoTrack(mid)
	var st attendee.VideoStats
	eventually(t, "20 frames of "+rid, func() bool {
		st, _ = bob.VideoTrack(mid)
		return st.Frames >= at.Frames+20
	})
	perFrame := (st.Bytes - at.Bytes) / (st.Frames - at.Frames)
	sz := layerSize[rid]
	want := uint64(map[string]int{"low": 150, "mid": 600, "hi": 1200}[rid]) * 1000 / 8 / 15 // default 15 fps
	if perFrame < want*8/10 || perFrame > want*12/10 {
		t.Errorf("after the switch to %s (%dx%d): %d bytes per frame, want ≈%d", rid, sz[0], sz[1], perFrame, want)
	}
	for _, k := range keyframesAfter(st, before.Packets) {
		if uint32(k.Width) != sz[0] || uint32(k.Height) != sz[1] {
			t.Errorf("keyframe %dx%d after the switch to %s", k.Width, k.Height, rid)
		}
	}
	if st.StreamID != id {
		t.Errorf("track maps to stream %d, want %d", st.StreamID, id)
	}
	checkContinuous(t, "after the switch to "+rid, st, 10)
	if n := bob.Signaling().Count(protocol.SdkSignalFrame_SUBSCRIBE_ACK); n != subs {
		t.Errorf("%d SUBSCRIBE_ACKs during the switch: it renegotiated", n-subs)
	}
	if len(bob.VideoTracks()) != 1 {
		t.Errorf("tracks %+v, want the one", bob.VideoTracks())
	}
}

// TestVideoLayerSwitch: REMOTE_VIDEO_UPDATE moves a subscription to
// another layer of the same group on the same mid, SSRC and continuous
// sequence and timestamp space, starting at a keyframe of the new layer;
// down to low, then back up to hi.
func TestVideoLayerSwitch(t *testing.T) {
	checkNoLeaks(t)
	f, _ := newVideoFixture(t, Config{})
	_, bob, ids, mid := simulcastSetup(t, f)
	receiving(t, bob, mid, attendee.VideoStats{}, 30)
	switchLayer(t, bob, mid, ids[0], "low")
	switchLayer(t, bob, mid, ids[2], "hi")
	switchLayer(t, bob, mid, ids[1], "mid")
}

// TestVideoPauseResume: after PAUSE of the subscribed stream nothing more
// is forwarded on its track; after RESUME it comes back on the same SSRC
// and continuous sequence numbers, starting with a keyframe. A PAUSE of a
// stream the track does not carry changes nothing.
func TestVideoPauseResume(t *testing.T) {
	checkNoLeaks(t)
	f, _ := newVideoFixture(t, Config{})
	_, bob, ids, mid := simulcastSetup(t, f)
	st := receiving(t, bob, mid, attendee.VideoStats{}, 30)

	if err := bob.Pause(within(t), ids[0]); err != nil { // not the one forwarded
		t.Fatal(err)
	}
	barrier(t, bob)
	flowing(t, bob, mid, st, 30)
	if err := bob.Pause(within(t), ids[2]); err != nil {
		t.Fatal(err)
	}
	barrier(t, bob)
	pausedAt := time.Now()
	paused := quiet(t, bob, mid, time.Second)
	if late := paused.LastArrival.Sub(pausedAt); late > time.Second {
		t.Errorf("packets kept coming %v after the PAUSE was handled", late)
	}
	stillQuiet(t, bob, mid, paused, 1500*time.Millisecond)

	if err := bob.Resume(within(t), ids[2]); err != nil {
		t.Fatal(err)
	}
	st = receiving(t, bob, mid, paused, 30)
	ks := keyframesAfter(st, paused.Packets)
	if len(ks) == 0 || ks[0].Packet != paused.Packets+1 || ks[0].Width != 1280 {
		t.Errorf("keyframes after RESUME %+v: want the first packet (%d) to start a 1280x720 one", ks, paused.Packets+1)
	}
	checkContinuous(t, "after RESUME", st, 10)
}

// stillQuiet fails if, over d, m receives anything more on mid than st.
func stillQuiet(t *testing.T, m *member, mid string, st attendee.VideoStats, d time.Duration) {
	t.Helper()
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		if now, _ := m.VideoTrack(mid); now.Packets != st.Packets {
			t.Fatalf("%d packets arrived on mid %s while it should be quiet", now.Packets-st.Packets, mid)
		}
	}
}

// neverIndexed fails if, over d, m's INDEX lists who.
func neverIndexed(t *testing.T, m *member, who string, d time.Duration) {
	t.Helper()
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		if s := sourcesOf(m.Index(), who); len(s) != 0 {
			t.Fatalf("%s's INDEX lists %s: %v", m.user, who, s)
		}
	}
}

// TestVideoCap: with MaxVideos 2, a third camera gets no allocations, is
// listed nowhere although it sends, emits no AttendeeVideoStarted, and
// everyone not publishing reads at_capacity; once a camera stops,
// at_capacity clears, and the third camera's next SUBSCRIBE publishes it.
func TestVideoCap(t *testing.T) {
	checkNoLeaks(t)
	f, evs := newVideoFixture(t, Config{MaxVideos: 2})
	m := f.meeting()
	cam := attendee.VideoConfig{Layers: 1, Kbps: []uint32{300}, KeyframeInterval: -1}
	p1 := f.joinVideo(m, "p1", cam)
	p2 := f.joinVideo(m, "p2", cam)
	obs := f.joinVideo(m, "observer", attendee.VideoConfig{})
	indexed(t, obs, p1.id, p1.AllocatedStreams())
	indexed(t, obs, p2.id, p2.AllocatedStreams())
	if !obs.Index().GetAtCapacity() {
		t.Error("two cameras of two: the observer's INDEX is not at_capacity")
	}
	if p1.Index().GetAtCapacity() {
		t.Error("a publisher's INDEX says at_capacity")
	}

	p3 := f.joinVideo(m, "p3", cam)
	if a := p3.Allocations(); len(a) != 0 {
		t.Errorf("third camera allocated %v", a)
	}
	eventually(t, "p3 to send", func() bool { s := p3.VideoSent(); return len(s) == 1 && s[0].Frames >= 15 })
	neverIndexed(t, obs, p3.id, 2500*time.Millisecond) // over two stats intervals
	if !p3.Index().GetAtCapacity() || !obs.Index().GetAtCapacity() {
		t.Error("at_capacity cleared with the cap reached")
	}
	if e := evs.of(events.AttendeeVideoStarted, p3.id); len(e) != 0 {
		t.Errorf("refused camera emitted %v", e)
	}
	if p := f.sv.peerOf(p3.id); p == nil || p.pub.Load() != nil {
		t.Error("refused camera is a published source")
	}

	if err := p1.StopVideo(within(t)); err != nil {
		t.Fatal(err)
	}
	eventually(t, "at_capacity to clear and p1 to leave the INDEX", func() bool {
		idx := obs.Index()
		return !idx.GetAtCapacity() && len(sourcesOf(idx, p1.id)) == 0
	})
	if _, err := p3.Resubscribe(within(t)); err != nil {
		t.Fatal(err)
	}
	ids := p3.AllocatedStreams()
	if len(ids) != 1 {
		t.Fatalf("p3 after a camera stopped: allocations %v", p3.Allocations())
	}
	// Its size is not known yet: its one keyframe came while refused.
	listed(t, obs, p3.id, ids, false)
	eventually(t, "at_capacity again", func() bool { return obs.Index().GetAtCapacity() })
	if _, err := obs.Subscribe(within(t), ids[0]); err != nil {
		t.Fatal(err)
	}
	st := receiving(t, obs, obs.Subscriptions()[0].Mid, attendee.VideoStats{}, 10)
	if st.LastKeyWidth != 1280 || st.StreamID != ids[0] {
		t.Errorf("observer gets stream %d at %dx%d", st.StreamID, st.LastKeyWidth, st.LastKeyHeight)
	}
	for _, p := range []*member{p1, p2, p3} {
		if n := len(evs.of(events.AttendeeVideoStarted, p.id)); n != 1 {
			t.Errorf("%s: %d AttendeeVideoStarted, want 1 (%v)", p.user, n, evs.video())
		}
	}
}

// TestVideoContentShare: a content-share session ("<token>#content")
// publishing low/hi simulcast is listed in the others' INDEX under its own
// group as "<attendee>#content", not in its owner's, and does not count
// against the camera cap; a third content share beyond MaxContentShares is
// not forwarded until one of the others leaves.
func TestVideoContentShare(t *testing.T) {
	checkNoLeaks(t)
	f, _ := newVideoFixture(t, Config{})
	m := f.meeting()
	viewer := f.joinVideo(m, "viewer", attendee.VideoConfig{})
	var owners []meeting.Attendee
	for _, u := range []string{"presenter1", "presenter2", "presenter3"} {
		owners = append(owners, f.attendee(m, u))
	}
	owner := f.dialVideo(m, owners[0].JoinToken, owners[0].AttendeeId, "presenter1", attendee.VideoConfig{})
	c1 := f.joinContent(m, owners[0], contentCfg())
	c2 := f.joinContent(m, owners[1], contentCfg())
	a1, a2 := c1.Allocations(), c2.Allocations()
	if len(a1) != 2 || len(a2) != 2 || a1[0].GetGroupId() != a1[1].GetGroupId() || a1[0].GetGroupId() == a2[0].GetGroupId() {
		t.Fatalf("content allocations %v and %v: want two layers each, one group each", a1, a2)
	}
	ids := c1.AllocatedStreams()
	srcs := indexed(t, viewer, c1.id, ids)
	for i, sz := range [][2]uint32{{960, 540}, {1920, 1080}} {
		s := srcs[ids[i]]
		if s.GetAttendeeId() != owners[0].AttendeeId+"#content" || s.GetExternalUserId() != "presenter1#content" ||
			s.GetMediaType() != protocol.SdkStreamMediaType_VIDEO || s.GetGroupId() != a1[0].GetGroupId() ||
			s.GetWidth() != sz[0] || s.GetHeight() != sz[1] {
			t.Errorf("content layer %d: %v", i, s)
		}
	}
	indexed(t, viewer, c2.id, c2.AllocatedStreams())
	indexed(t, owner, c2.id, c2.AllocatedStreams())
	if s := sourcesOf(owner.Index(), c1.id); len(s) != 0 {
		t.Errorf("the presenter's INDEX lists its own content share: %v", s)
	}
	if viewer.Index().GetAtCapacity() || c1.Index().GetAtCapacity() {
		t.Error("content shares made the meeting at_capacity")
	}

	c3 := f.joinContent(m, owners[2], contentCfg())
	if a := c3.Allocations(); len(a) != 0 {
		t.Errorf("third content share allocated %v", a)
	}
	neverIndexed(t, viewer, c3.id, 2500*time.Millisecond)
	if p := f.sv.peerOf(c3.id); p == nil || p.pub.Load() != nil {
		t.Error("refused content share is a published source")
	}

	if _, err := viewer.Subscribe(within(t), ids[1]); err != nil {
		t.Fatal(err)
	}
	st := receiving(t, viewer, viewer.Subscriptions()[0].Mid, attendee.VideoStats{}, 30)
	if st.LastKeyWidth != 1920 || st.LastKeyHeight != 1080 {
		t.Errorf("content hi keyframe %dx%d", st.LastKeyWidth, st.LastKeyHeight)
	}
	checkContinuous(t, "content", st, 10)

	if err := c1.Leave(within(t)); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the first content share to leave the INDEX", func() bool { return len(sourcesOf(viewer.Index(), c1.id)) == 0 })
	if _, err := c3.Resubscribe(within(t)); err != nil {
		t.Fatal(err)
	}
	if len(c3.AllocatedStreams()) != 2 {
		t.Fatalf("third content share after one left: allocations %v", c3.Allocations())
	}
	listed(t, viewer, c3.id, c3.AllocatedStreams(), false) // its keyframe came while refused
}

// TestVideoEvents: the Server publishes chime:AttendeeVideoStarted and
// Stopped for a camera (on start, stop, restart and leave) and
// chime:AttendeeContentJoined, ContentVideoStarted, ContentVideoStopped
// and ContentLeft for a content share, about the right attendee.
func TestVideoEvents(t *testing.T) {
	checkNoLeaks(t)
	f, evs := newVideoFixture(t, Config{})
	m := f.meeting()
	owner := f.attendee(m, "alice")
	alice := f.dialVideo(m, owner.JoinToken, owner.AttendeeId, "alice", attendee.VideoConfig{KeyframeInterval: -1})
	cid := owner.AttendeeId + "#content"
	// want waits for the n-th event typ about id (n = 0: at least one)
	// and checks there are no more.
	want := func(typ events.Type, id string, n int) {
		t.Helper()
		eventually(t, fmt.Sprintf("%d %s for %s", n, typ, id), func() bool { return len(evs.of(typ, id)) >= max(n, 1) })
		got := evs.of(typ, id)
		if n > 0 && len(got) != n {
			t.Errorf("%d %s for %s, want %d", len(got), typ, id, n)
		}
		e := got[len(got)-1]
		user := "alice"
		if id == cid {
			user += "#content"
		}
		if e.Detail.MeetingID != m || e.Detail.ExternalUserID != user || e.Detail.ExternalMeetingID != "ext-"+t.Name() {
			t.Errorf("%s: %+v", typ, e.Detail)
		}
	}
	if e := evs.video(); len(e) != 0 {
		t.Errorf("video events before any video: %v", e)
	}
	if err := alice.StartVideo(within(t), 3); err != nil {
		t.Fatal(err)
	}
	want(events.AttendeeVideoStarted, owner.AttendeeId, 1)
	if err := alice.StopVideo(within(t)); err != nil {
		t.Fatal(err)
	}
	want(events.AttendeeVideoStopped, owner.AttendeeId, 1)
	if err := alice.StartVideo(within(t), 1); err != nil {
		t.Fatal(err)
	}
	want(events.AttendeeVideoStarted, owner.AttendeeId, 2)

	content := f.joinContent(m, owner, contentCfg())
	want(events.AttendeeContentJoined, cid, 0) // exactly one: TestVideoContentEventsOnce
	want(events.AttendeeContentVideoStarted, cid, 1)
	if err := content.StopVideo(within(t)); err != nil {
		t.Fatal(err)
	}
	want(events.AttendeeContentVideoStopped, cid, 1)
	if err := content.Leave(within(t)); err != nil {
		t.Fatal(err)
	}
	want(events.AttendeeContentLeft, cid, 0)
	if err := alice.Leave(within(t)); err != nil {
		t.Fatal(err)
	}
	want(events.AttendeeVideoStopped, owner.AttendeeId, 2)
	for _, typ := range []events.Type{events.AttendeeVideoStarted, events.AttendeeVideoStopped} {
		if e := evs.of(typ, cid); len(e) != 0 {
			t.Errorf("camera event %s for the content share", typ)
		}
	}
	for _, typ := range []events.Type{events.AttendeeContentVideoStarted, events.AttendeeContentJoined} {
		if e := evs.of(typ, owner.AttendeeId); len(e) != 0 {
			t.Errorf("content event %s for the owner", typ)
		}
	}
	t.Logf("events: %v", evs.video())
}

// TestVideoRestart: a camera stopped and started again on the same
// transceiver (the SDK toggling video) is a new source with new stream
// ids, listed and forwarded again.
func TestVideoRestart(t *testing.T) {
	checkNoLeaks(t)
	f, _ := newVideoFixture(t, Config{})
	alice, bob, old, _ := simulcastSetup(t, f)
	if err := alice.StopVideo(within(t)); err != nil {
		t.Fatal(err)
	}
	eventually(t, "alice to leave bob's INDEX", func() bool { return len(sourcesOf(bob.Index(), alice.id)) == 0 })
	if err := alice.StartVideo(within(t), 3); err != nil {
		t.Fatal(err)
	}
	ids := alice.AllocatedStreams()
	if len(ids) != 3 || slices.Contains(old, ids[0]) {
		t.Fatalf("restarted camera: allocations %v (before %v)", alice.Allocations(), old)
	}
	indexed(t, bob, alice.id, ids)
	if _, err := bob.Subscribe(within(t), ids[1]); err != nil {
		t.Fatal(err)
	}
	mid := bob.Subscriptions()[0].Mid
	before, _ := bob.VideoTrack(mid)
	st := receiving(t, bob, mid, before, 30)
	if ks := keyframesAfter(st, before.Packets); len(ks) == 0 || ks[0].Width != 640 {
		t.Errorf("keyframes after the restart %+v, want 640x360", ks)
	}
	checkContinuous(t, "after the restart", st, 10)
}

// TestVideoContentEventsOnce: a content share's join and leave are each
// one event on the meeting's bus (which both the signaling sessions and
// the Server publish to, as confab serve wires them).
func TestVideoContentEventsOnce(t *testing.T) {
	checkNoLeaks(t)
	f, evs := newVideoFixture(t, Config{})
	m := f.meeting()
	owner := f.attendee(m, "alice")
	content := f.joinContent(m, owner, contentCfg())
	cid := owner.AttendeeId + "#content"
	if err := content.Leave(within(t)); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the content share to leave", func() bool { return len(evs.of(events.AttendeeContentLeft, cid)) > 0 })
	eventually(t, "its peer to close", func() bool { return f.sv.peerOf(cid) == nil })
	for _, typ := range []events.Type{events.AttendeeContentJoined, events.AttendeeContentLeft} {
		if n := len(evs.of(typ, cid)); n != 1 {
			t.Errorf("%d %s events, want 1: %v", n, typ, evs.video())
		}
	}
}

// TestVideoIndexSizeLearnedLate: a layer whose first keyframe the Server
// did not see (here: sent while the camera was refused by the cap, as a
// browser's encoder sends one keyframe when it starts) is listed without
// a size; once a subscriber's keyframe request brings one, the INDEX must
// carry the size (fact sheet §6: width and height per layer).
func TestVideoIndexSizeLearnedLate(t *testing.T) {
	checkNoLeaks(t)
	f, _ := newVideoFixture(t, Config{MaxVideos: 1})
	m := f.meeting()
	cam := attendee.VideoConfig{Layers: 1, Kbps: []uint32{300}, KeyframeInterval: -1}
	p1 := f.joinVideo(m, "p1", cam)
	obs := f.joinVideo(m, "observer", attendee.VideoConfig{})
	p2 := f.joinVideo(m, "p2", cam)
	if len(p2.Allocations()) != 0 {
		t.Fatalf("second camera allocated %v with MaxVideos 1", p2.Allocations())
	}
	eventually(t, "p2 to send", func() bool { s := p2.VideoSent(); return len(s) == 1 && s[0].Frames >= 5 })
	if err := p1.StopVideo(within(t)); err != nil {
		t.Fatal(err)
	}
	barrier(t, p1)
	if _, err := p2.Resubscribe(within(t)); err != nil {
		t.Fatal(err)
	}
	ids := p2.AllocatedStreams()
	if len(ids) != 1 {
		t.Fatalf("p2 allocations %v after p1 stopped", p2.Allocations())
	}
	listed(t, obs, p2.id, ids, false)
	if _, err := obs.Subscribe(within(t), ids[0]); err != nil {
		t.Fatal(err)
	}
	st := receiving(t, obs, obs.Subscriptions()[0].Mid, attendee.VideoStats{}, 10)
	t.Logf("observer received a %dx%d keyframe; its INDEX lists %v", st.LastKeyWidth, st.LastKeyHeight, sourcesOf(obs.Index(), p2.id))
	indexed(t, obs, p2.id, ids)
}

// BenchmarkVideoForward measures the SFU's per-packet forwarding path for
// one publisher layer to n subscribers, as a layer's reader goroutine runs
// it (readVideo after the packet is parsed): the keyframe check, then
// downTrack.write for every subscriber bound to the source (lock, header
// copy, sequence/timestamp rewrite, WriteRTP). "unbound" tracks have no
// PeerConnection binding (WriteRTP finds no receiver); "bound" tracks are
// bound to a writer that drops the packet, so pion's per-binding stamping
// counts too, SRTP and the socket do not. Packets are 1200-byte VP8
// interframes, a keyframe every 300. ns/pkt/sub is the cost per packet
// per subscriber.
func BenchmarkVideoForward(b *testing.B) {
	for _, bound := range []bool{false, true} {
		for _, n := range []int{1, 4, 16} {
			name := fmt.Sprintf("unbound/subs=%d", n)
			if bound {
				name = fmt.Sprintf("bound/subs=%d", n)
			}
			b.Run(name, func(b *testing.B) { benchForward(b, n, bound) })
		}
	}
}

func benchForward(b *testing.B, n int, bound bool) {
	const ssrc = 0x1234
	src := &source{group: 1, kf: rtpfwd.NewKeyframeRequester(time.Second)}
	l := &layer{src: src, streamID: 1}
	l.ssrc.Store(ssrc)
	src.layers = []*layer{l}
	for i := range n {
		d, err := newDownTrack(nil, fmt.Sprint(i+2), webrtc.MimeTypeVP8)
		if err != nil {
			b.Fatal(err)
		}
		if bound {
			if _, err := d.track.Bind(discardContext{id: fmt.Sprint(i), ssrc: webrtc.SSRC(1000 + i)}); err != nil {
				b.Fatal(err)
			}
		}
		d.src, d.want, d.fit = src, l, l
		d.fwd.SetTarget(ssrc) // as retargetLocked, without asking a publisher for a keyframe
		src.addSub(d)
	}
	key := make([]byte, 1200)
	copy(key, []byte{0x90, 0x80, 0x80, 0x01, 0x50, 0x2a, 0x01, 0x9d, 0x01, 0x2a, 0x00, 0x05, 0xd0, 0x02})
	inter := make([]byte, 1200)
	copy(inter, []byte{0x90, 0x80, 0x80, 0x02, 0x51, 0x2a, 0x01})
	h := rtp.Header{Version: 2, PayloadType: ptVP8, SSRC: ssrc, Timestamp: 90000}
	now := time.Unix(1700000000, 0)
	mime := webrtc.MimeTypeVP8
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		payload := inter
		if i%300 == 0 {
			payload = key
		}
		isKey := rtpfwd.IsKeyframe(mime, payload)
		for _, d := range src.subscribers() {
			d.write(&h, payload, isKey, now)
		}
		h.SequenceNumber++
		if i%9 == 8 {
			h.Timestamp += 6000 // 15 fps, 9 packets a frame
			now = now.Add(time.Second / 15)
		}
		i++
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/pkt/sub")
	for _, d := range src.subscribers() {
		if d.fwd.Current() != ssrc {
			b.Fatalf("not forwarding: current %x", d.fwd.Current())
		}
	}
}

// TestVideoCameraAfterInactiveReoffer is the stock SDK's order when an
// attendee subscribes to others' video before starting its own camera: a
// re-offer still has the camera line inactive, and only a later one turns
// it sendrecv. pion stops a transceiver whose m-line a re-offer marks
// inactive, and its closed receiver then refused the camera's first
// packets (EOF in pion's simulcast probe): the camera was allocated and
// listed but never read. keepCamera prevents that; this test failed
// before it (bob got no packet of alice's camera).
func TestVideoCameraAfterInactiveReoffer(t *testing.T) {
	checkNoLeaks(t)
	f, _ := newVideoFixture(t, Config{})
	m := f.meeting()
	bob := f.joinVideo(m, "bob", videoCfg(1))
	alice := f.joinVideo(m, "alice", attendee.VideoConfig{}) // camera off
	bobIDs := bob.AllocatedStreams()
	indexed(t, alice, bob.id, bobIDs)
	// Alice subscribes to bob first: a re-offer with her camera inactive.
	if _, err := alice.Subscribe(within(t), bobIDs[0]); err != nil {
		t.Fatal(err)
	}
	if err := alice.StartVideo(within(t), 3); err != nil {
		t.Fatal(err)
	}
	ids := alice.AllocatedStreams()
	if len(ids) != 3 {
		t.Fatalf("alice's allocations %v, want 3", alice.Allocations())
	}
	indexed(t, bob, alice.id, ids)
	if _, err := bob.Subscribe(within(t), ids[0]); err != nil {
		t.Fatal(err)
	}
	mid := bob.Subscriptions()[0].Mid
	before, _ := bob.VideoTrack(mid)
	receiving(t, bob, mid, before, 30)

	// And again after the camera stops and starts (the line goes
	// inactive in between).
	if err := alice.StopVideo(within(t)); err != nil {
		t.Fatal(err)
	}
	eventually(t, "alice to leave bob's INDEX", func() bool { return len(sourcesOf(bob.Index(), alice.id)) == 0 })
	if err := alice.StartVideo(within(t), 3); err != nil {
		t.Fatal(err)
	}
	ids = alice.AllocatedStreams()
	indexed(t, bob, alice.id, ids)
	if _, err := bob.Subscribe(within(t), ids[0]); err != nil {
		t.Fatal(err)
	}
	mid = bob.Subscriptions()[0].Mid
	before, _ = bob.VideoTrack(mid)
	receiving(t, bob, mid, before, 30)
}

// TestVideoForeignPayloadType: a subscriber that negotiated VP8 as payload
// type 120, as Firefox offers it, receives a publisher's VP8 (sent as 96,
// as Chrome does) under its own number. The SFU used to send every
// subscriber its registered numbers, which such a browser cannot decode.
func TestVideoForeignPayloadType(t *testing.T) {
	checkNoLeaks(t)
	f, _ := newVideoFixture(t, Config{})
	m := f.meeting()
	alice := f.joinVideo(m, "alice", videoCfg(1))
	bob := f.joinVideo(m, "bob", attendee.VideoConfig{PayloadType: 120})
	ids := alice.AllocatedStreams()
	indexed(t, bob, alice.id, ids)
	if _, err := bob.Subscribe(within(t), ids[0]); err != nil {
		t.Fatal(err)
	}
	subs := bob.Subscriptions()
	if len(subs) != 1 {
		t.Fatalf("subscriptions %+v", subs)
	}
	st := receiving(t, bob, subs[0].Mid, attendee.VideoStats{}, 30)
	if st.Codec != webrtc.MimeTypeVP8 || st.PayloadType != 120 {
		t.Errorf("bob receives %s as payload type %d, want %s as 120", st.Codec, st.PayloadType, webrtc.MimeTypeVP8)
	}
	if st.LastKeyWidth != 1280 || st.LastKeyHeight != 720 {
		t.Errorf("keyframe %dx%d, want 1280x720", st.LastKeyWidth, st.LastKeyHeight)
	}
	checkContinuous(t, "bob", st, 10)
}
