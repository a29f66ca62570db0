package sfu

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/confab-media/confab/bench/attendee"
	"github.com/confab-media/confab/signaling/meeting"
	"github.com/confab-media/confab/signaling/protocol"
	"github.com/confab-media/confab/signaling/store"
)

// setCaps calls UpdateAttendeeCapabilities, as the API does.
func (f *fixture) setCaps(meetingID, attendeeID, audio, video, content string) {
	f.t.Helper()
	_, err := f.svc.UpdateAttendeeCapabilities(context.Background(), meetingID, attendeeID,
		&meeting.Capabilities{Audio: audio, Video: video, Content: content})
	if err != nil {
		f.t.Fatal(err)
	}
}

// toneDB is the level of hz in the last 400 ms a received.
func toneDB(a *attendee.Attendee, hz float64) float64 { return a.ToneDB(400*time.Millisecond, hz) }

// within1s waits at most 1 s (the promise: a change takes effect within
// 1 s on a live session) for cond, polling.
func within1s(t *testing.T, what string, cond func() bool) time.Duration {
	t.Helper()
	return withinD(t, time.Second, what, cond)
}

// withinD waits up to d for cond, polling.
func withinD(t *testing.T, d time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > d {
			t.Fatalf("not within %s: %s", d, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return time.Since(start)
}

// TestCapabilitiesAudio: Audio Receive takes an attendee out of the mix
// (the others stop hearing its tone, it still hears them); Audio Send
// sends an attendee silence instead of the mix (packets keep flowing);
// both within 1 s of UpdateAttendeeCapabilities, and SendReceive restores
// both. Before enforcement the tones never left.
func TestCapabilitiesAudio(t *testing.T) {
	checkNoLeaks(t)
	f := newFixture(t)
	mid := f.meeting()
	alice, bob, carol := f.join(mid, "alice", 400), f.join(mid, "bob", 700), f.join(mid, "carol", 1100)
	eventually(t, "bob to hear alice and carol", func() bool {
		return toneDB(bob.Attendee, 400)-toneDB(bob.Attendee, 700) > 20 && toneDB(bob.Attendee, 1100)-toneDB(bob.Attendee, 700) > 20
	})
	heard := toneDB(bob.Attendee, 400)

	f.setCaps(mid, alice.id, "Receive", "SendReceive", "SendReceive")
	d := within1s(t, "bob stops hearing alice (Audio Receive)", func() bool {
		return toneDB(bob.Attendee, 400) < heard-30
	})
	t.Logf("alice left bob's mix %v after UpdateAttendeeCapabilities (%.1f dB → %.1f dB)", d, heard, toneDB(bob.Attendee, 400))
	// Carol's measuring window may still hold audio from before the change.
	within1s(t, "carol stops hearing alice (Audio Receive)", func() bool { return toneDB(carol.Attendee, 400) < heard-30 })
	if a, b := toneDB(alice.Attendee, 700), toneDB(alice.Attendee, 400); a-b < 20 {
		t.Errorf("alice (Receive) should still hear bob: 700 Hz %.1f dB, own 400 Hz %.1f dB", a, b)
	}

	f.setCaps(mid, bob.id, "Send", "SendReceive", "SendReceive")
	within1s(t, "bob gets no mix (Audio Send)", func() bool {
		return toneDB(bob.Attendee, 1100) < heard-30
	})
	if n := bob.RecentPackets(500 * time.Millisecond); n < 15 {
		t.Errorf("bob (Audio Send) got %d packets in 500 ms: the stream should go on, silent", n)
	}
	if st := bob.Stats(); st.DecodeErrors != 0 {
		t.Errorf("bob: %d undecodable packets", st.DecodeErrors)
	}
	within1s(t, "carol still hears bob (Send)", func() bool { return toneDB(carol.Attendee, 700) > heard-10 })

	f.setCaps(mid, alice.id, "SendReceive", "SendReceive", "SendReceive")
	f.setCaps(mid, bob.id, "SendReceive", "SendReceive", "SendReceive")
	within1s(t, "bob hears alice again", func() bool {
		return toneDB(bob.Attendee, 400) > heard-10 && toneDB(bob.Attendee, 1100) > heard-10
	})

	// A mute by the client does not lift a capability, nor an unmute.
	f.setCaps(mid, alice.id, "None", "SendReceive", "SendReceive")
	if err := alice.SetMuted(within(t), false); err != nil {
		t.Fatal(err)
	}
	barrierPing(t, alice.Attendee)
	if p := f.sv.peerOf(alice.id); !p.leg.Muted() {
		t.Error("alice (Audio None) unmuted herself into the mix")
	}
}

// barrierPing waits until the server handled a's frames sent so far.
func barrierPing(t *testing.T, a *attendee.Attendee) {
	t.Helper()
	barrier(t, &member{Attendee: a})
}

// TestCapabilitiesVideo: Video Receive unpublishes a live camera (the
// subscriber's forwarding stops, INDEX drops it, AttendeeVideoStopped) and
// a later SUBSCRIBE gets no allocation; SendReceive republishes it
// without a renegotiation. Video Send gives the subscriber an empty INDEX
// and unbinds what it received.
func TestCapabilitiesVideo(t *testing.T) {
	checkNoLeaks(t)
	f, evs := newVideoFixture(t, Config{})
	alice, bob, ids, mid := simulcastSetup(t, f)
	m := f.sv.peerOf(alice.id).room.meetingID
	receiving(t, bob, mid, attendee.VideoStats{}, 30)

	f.setCaps(m, alice.id, "SendReceive", "Receive", "Receive")
	within1s(t, "alice's camera to leave bob's INDEX", func() bool { return len(sourcesOf(bob.Index(), alice.id)) == 0 })
	quiet(t, bob, mid, 300*time.Millisecond)
	if got := evs.of("chime:AttendeeVideoStopped", alice.id); len(got) != 1 {
		t.Errorf("AttendeeVideoStopped events: %d, want 1", len(got))
	}
	ack, err := alice.Resubscribe(within(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(ack.GetAllocations()) != 0 {
		t.Errorf("SUBSCRIBE of a Video Receive attendee got allocations %v", ack.GetAllocations())
	}

	f.setCaps(m, alice.id, "SendReceive", "SendReceive", "SendReceive")
	// The camera is republished at once, but its layers are listed as the
	// room's stats loop (Config.StatsInterval, 1 s) sees each of them flow
	// again: allow one loop period more.
	withinD(t, 2*time.Second, "alice's camera back in bob's INDEX", func() bool { return len(sourcesOf(bob.Index(), alice.id)) == 3 })
	fresh := slices.Max(streamIDs(sourcesOf(bob.Index(), alice.id))) // the hi layer: allocated last
	if slices.Contains(ids, fresh) {
		t.Logf("republished with the old stream ids")
	}
	if _, err := bob.Subscribe(within(t), fresh); err != nil {
		t.Fatal(err)
	}
	before, _ := bob.VideoTrack(bob.Subscriptions()[0].Mid)
	flowing(t, bob, bob.Subscriptions()[0].Mid, before, 20)

	// bob: Video Send. His INDEX empties, forwarding stops, and a
	// SUBSCRIBE for alice's stream gets no track.
	f.setCaps(m, bob.id, "SendReceive", "Send", "None")
	within1s(t, "bob's INDEX to empty", func() bool { return len(bob.Index().GetSources()) == 0 })
	quiet(t, bob, bob.Subscriptions()[0].Mid, 300*time.Millisecond)
	ack, err = bob.Subscribe(within(t), fresh)
	if err != nil {
		t.Fatal(err)
	}
	if len(ack.GetTracks()) != 0 {
		t.Errorf("SUBSCRIBE of a Video Send attendee got tracks %v", ack.GetTracks())
	}
	if len(sourcesOf(alice.Index(), bob.id)) == 0 {
		t.Error("bob (Video Send) no longer publishes")
	}
}

// streamIDs returns the stream ids of ds.
func streamIDs(ds []*protocol.SdkStreamDescriptor) []uint32 {
	out := make([]uint32, 0, len(ds))
	for _, d := range ds {
		out = append(out, d.GetStreamId())
	}
	return out
}

// TestCapabilitiesContentNone: a content share of an attendee with
// Content None is refused with a typed SUBSCRIBE_ACK error (400); a live
// share stops when Content becomes None.
func TestCapabilitiesContentNone(t *testing.T) {
	checkNoLeaks(t)
	f, _ := newVideoFixture(t, Config{})
	m := f.meeting()
	viewer := f.joinVideo(m, "viewer", attendee.VideoConfig{})
	owner := f.attendee(m, "presenter")
	c := f.joinContent(m, owner, contentCfg())
	indexed(t, viewer, c.id, c.AllocatedStreams())

	f.setCaps(m, owner.AttendeeId, "SendReceive", "SendReceive", "None")
	within1s(t, "the share to leave the viewer's INDEX", func() bool { return len(sourcesOf(viewer.Index(), c.id)) == 0 })

	_, err := attendee.Dial(within(t), attendee.Config{
		SignalingURL: f.signalingURL(m), JoinToken: owner.JoinToken + meeting.ContentSuffix, Name: "again",
		Loopback: true, Video: contentCfg(), Log: testLog(),
	})
	if err == nil || !strings.Contains(err.Error(), "400") {
		t.Fatalf("content share with Content None: %v, want a SUBSCRIBE_ACK 400", err)
	}
}

// TestMaxResolutionNone: in a meeting created with Video.MaxResolution
// None a camera gets no allocation and is listed nowhere.
func TestMaxResolutionNone(t *testing.T) {
	checkNoLeaks(t)
	f, _ := newVideoFixture(t, Config{})
	mt, err := f.svc.CreateMeeting(context.Background(), &meeting.CreateMeetingInput{
		ClientRequestToken: t.Name(), MediaRegion: "us-east-1", ExternalMeetingId: "ext-" + t.Name(),
		MeetingFeatures: &meeting.MeetingFeatures{Video: &store.VideoFeatures{MaxResolution: "None"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	alice := f.joinVideo(mt.MeetingId, "alice", videoCfg(1))
	bob := f.joinVideo(mt.MeetingId, "bob", attendee.VideoConfig{})
	if a := alice.Allocations(); len(a) != 0 {
		t.Errorf("camera in a Video.MaxResolution None meeting got allocations %v", a)
	}
	neverIndexed(t, bob, alice.id, time.Second)
}
