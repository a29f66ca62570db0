package session

import (
	"context"
	"testing"

	"github.com/coder/websocket"

	"github.com/confab-media/confab/conference"
	"github.com/confab-media/confab/signaling/meeting"
	"github.com/confab-media/confab/signaling/protocol"
)

type joinedClient struct {
	*client
	att      meeting.Attendee
	streamID uint32
}

// joinAll connects and joins the attendees in order and checks every
// presence list includes the joiner itself and everyone before it.
func joinAll(t *testing.T, f *fixture, meetingID string, users ...string) []*joinedClient {
	t.Helper()
	var out []*joinedClient
	for i, u := range users {
		a := f.attendee(meetingID, u)
		cl := f.dial(meetingID, a.JoinToken)
		list := cl.join().GetStreams()
		if len(list) != i+1 {
			t.Fatalf("%s: presence list has %d entries, want %d", u, len(list), i+1)
		}
		jc := &joinedClient{client: cl, att: a}
		for j, e := range list {
			want := a
			if j < i {
				want = out[j].att
			}
			if e.GetAttendeeId() != want.AttendeeId || e.GetExternalUserId() != want.ExternalUserId || e.Muted == nil {
				t.Fatalf("%s: entry %d = %v, want %s", u, j, e, want.AttendeeId)
			}
			if j == i {
				jc.streamID = e.GetAudioStreamId()
			}
		}
		if i > 0 && jc.streamID <= out[i-1].streamID {
			t.Fatalf("audio stream ids not increasing: %d after %d", jc.streamID, out[i-1].streamID)
		}
		// Everyone already there hears about the newcomer.
		for _, o := range out {
			e := o.nextOf(protocol.SdkSignalFrame_AUDIO_STREAM_ID_INFO).GetAudioStreamIdInfo().GetStreams()
			if len(e) != 1 || e[0].GetAttendeeId() != a.AttendeeId || e[0].GetAudioStreamId() != jc.streamID {
				t.Fatalf("%s told of %s: %v", o.att.ExternalUserId, u, e)
			}
		}
		out = append(out, jc)
	}
	return out
}

// expectInfo returns the next AUDIO_STREAM_ID_INFO entries of cl.
func expectInfo(cl *client) []*protocol.SdkAudioStreamIdInfo {
	cl.t.Helper()
	return cl.nextOf(protocol.SdkSignalFrame_AUDIO_STREAM_ID_INFO).GetAudioStreamIdInfo().GetStreams()
}

func TestPresenceMuteLeaveDrop(t *testing.T) {
	f := newFixture(t, nil)
	m := f.meeting("m1")
	cs := joinAll(t, f, m.MeetingId, "user-a", "user-b", "user-c")
	a, b, c := cs[0], cs[1], cs[2]

	// Mute is broadcast to everyone, the muter included.
	mute := frameOf(protocol.SdkSignalFrame_AUDIO_CONTROL)
	muted := true
	mute.AudioControl = &protocol.SdkAudioControlFrame{Muted: &muted}
	b.send(mute)
	for _, cl := range cs {
		e := expectInfo(cl.client)
		if len(e) != 1 || e[0].GetAudioStreamId() != b.streamID || e[0].Muted == nil || !e[0].GetMuted() || e[0].AttendeeId != nil {
			t.Fatalf("mute entry = %v", e)
		}
	}
	b.send(mute) // unchanged: not broadcast again
	if extra := a.sync(); len(extra) != 0 {
		t.Fatalf("repeated mute broadcast: %v", extra)
	}

	// c leaves: a and b see it gone, not dropped.
	c.send(frameOf(protocol.SdkSignalFrame_LEAVE))
	c.nextOf(protocol.SdkSignalFrame_LEAVE_ACK)
	if code := c.closed(); code != websocket.StatusNormalClosure {
		t.Fatalf("close = %d", code)
	}
	for _, cl := range []*joinedClient{a, b} {
		e := expectInfo(cl.client)
		if len(e) != 1 || e[0].GetAudioStreamId() != c.streamID || e[0].AttendeeId != nil || e[0].Muted != nil || e[0].GetDropped() {
			t.Fatalf("leave entry = %v", e)
		}
	}

	// b vanishes without a close frame: dropped.
	_ = b.c.CloseNow()
	e := expectInfo(a.client)
	if len(e) != 1 || e[0].GetAudioStreamId() != b.streamID || !e[0].GetDropped() {
		t.Fatalf("drop entry = %v", e)
	}

	// A late joiner sees the muted state in its list.
	d := f.attendee(m.MeetingId, "user-d")
	dl := f.dial(m.MeetingId, d.JoinToken)
	list := dl.join().GetStreams()
	if len(list) != 2 || list[0].GetAttendeeId() != a.att.AttendeeId || list[1].GetAttendeeId() != d.AttendeeId {
		t.Fatalf("late list = %v", list)
	}

	f.ev.waitFor(t, c.att.AttendeeId, "chime:AttendeeAdded", "chime:AttendeeJoined", "chime:AttendeeLeft")
	f.ev.waitFor(t, b.att.AttendeeId, "chime:AttendeeAdded", "chime:AttendeeJoined", "chime:AttendeeDropped")
	f.ev.waitFor(t, a.att.AttendeeId, "chime:AttendeeAdded", "chime:AttendeeJoined")
	waitCount(t, f.pres, b.att.AttendeeId, 0)
	waitCount(t, f.pres, c.att.AttendeeId, 0)

	// A client that closes cleanly without LEAVE has left, not dropped.
	_ = a.c.Close(websocket.StatusGoingAway, "bye")
	e = expectInfo(dl)
	if len(e) != 1 || e[0].GetAudioStreamId() != a.streamID || e[0].GetDropped() {
		t.Fatalf("clean close entry = %v", e)
	}
	f.ev.waitFor(t, a.att.AttendeeId, "chime:AttendeeAdded", "chime:AttendeeJoined", "chime:AttendeeLeft")
}

func TestRejoinReplacesSession(t *testing.T) {
	f := newFixture(t, nil)
	m := f.meeting("m1")
	cs := joinAll(t, f, m.MeetingId, "user-a", "user-b")
	a, b := cs[0], cs[1]

	a2 := f.dial(m.MeetingId, a.att.JoinToken)
	list := a2.join().GetStreams()
	if len(list) != 2 {
		t.Fatalf("list = %v", list)
	}
	newID := list[1].GetAudioStreamId()
	if list[1].GetAttendeeId() != a.att.AttendeeId || newID <= b.streamID {
		t.Fatalf("rejoined entry = %v", list[1])
	}
	// The old connection learns it joined from another device, then closes.
	st := a.nextOf(protocol.SdkSignalFrame_AUDIO_STATUS)
	if st.GetAudioStatus().GetAudioStatus() != 301 {
		t.Fatalf("audio status = %v", st)
	}
	if code := a.closed(); code != CloseReplaced {
		t.Fatalf("old close = %d", code)
	}
	// Others see the new stream, then the old one gone (superseded).
	e := expectInfo(b.client)
	if len(e) != 2 || e[0].GetAttendeeId() != a.att.AttendeeId || e[0].GetAudioStreamId() != newID ||
		e[1].GetAudioStreamId() != a.streamID || e[1].AttendeeId != nil || e[1].GetDropped() {
		t.Fatalf("replacement entries = %v", e)
	}
	if extra := b.sync(); len(extra) != 0 {
		t.Fatalf("more presence after replacement: %v", extra)
	}
	f.ev.waitFor(t, a.att.AttendeeId, "chime:AttendeeAdded", "chime:AttendeeJoined", "chime:AttendeeAuthorized")
	waitCount(t, f.pres, a.att.AttendeeId, 1)

	a2.send(frameOf(protocol.SdkSignalFrame_LEAVE))
	a2.closed()
	f.ev.waitFor(t, a.att.AttendeeId, "chime:AttendeeAdded", "chime:AttendeeJoined", "chime:AttendeeAuthorized", "chime:AttendeeLeft")
	waitCount(t, f.pres, a.att.AttendeeId, 0)
}

func TestContentShareSession(t *testing.T) {
	f := newFixture(t, nil)
	m := f.meeting("m1")
	cs := joinAll(t, f, m.MeetingId, "user-a")
	a := cs[0]
	content := f.dial(m.MeetingId, a.att.JoinToken+meeting.ContentSuffix)
	list := content.join().GetStreams()
	cid := a.att.AttendeeId + meeting.ContentSuffix
	if len(list) != 2 || list[1].GetAttendeeId() != cid || list[1].GetExternalUserId() != "user-a#content" {
		t.Fatalf("content list = %v", list)
	}
	if e := expectInfo(a.client); len(e) != 1 || e[0].GetAttendeeId() != cid {
		t.Fatalf("attendee told of content: %v", e)
	}
	// The attendee's session is not replaced by its content share.
	if extra := a.sync(); len(extra) != 0 {
		t.Fatalf("attendee got %v", extra)
	}
	content.send(frameOf(protocol.SdkSignalFrame_LEAVE))
	content.closed()
	f.ev.waitFor(t, cid, AttendeeContentJoined, AttendeeContentLeft)
}

func TestDeleteAttendeeAndMeetingCloseSessions(t *testing.T) {
	f := newFixture(t, nil)
	m := f.meeting("m1")
	cs := joinAll(t, f, m.MeetingId, "user-a", "user-b", "user-c")
	a, b, c := cs[0], cs[1], cs[2]
	content := f.dial(m.MeetingId, b.att.JoinToken+meeting.ContentSuffix)
	content.join()
	pending := f.dial(m.MeetingId, c.att.JoinToken) // not joined yet: replaced nobody

	if err := f.svc.DeleteAttendee(context.Background(), m.MeetingId, b.att.AttendeeId); err != nil {
		t.Fatal(err)
	}
	for _, cl := range []*client{b.client, content} {
		if st := cl.nextOf(protocol.SdkSignalFrame_AUDIO_STATUS); st.GetAudioStatus().GetAudioStatus() != 411 {
			t.Fatalf("status = %v", st)
		}
		if code := cl.closed(); code != CloseAuthRejected {
			t.Fatalf("close = %d", code)
		}
	}
	f.ev.waitFor(t, b.att.AttendeeId, "chime:AttendeeAdded", "chime:AttendeeJoined", "chime:AttendeeDeleted", "chime:AttendeeLeft")

	if err := f.svc.DeleteMeeting(context.Background(), m.MeetingId); err != nil {
		t.Fatal(err)
	}
	for _, cl := range []*client{a.client, c.client} {
		if st := cl.nextOf(protocol.SdkSignalFrame_AUDIO_STATUS); st.GetAudioStatus().GetAudioStatus() != 410 {
			t.Fatalf("status = %v", st)
		}
		if code := cl.closed(); code != CloseMeetingEnded {
			t.Fatalf("close = %d", code)
		}
	}
	if code := pending.closed(); code != CloseMeetingEnded {
		t.Fatalf("pending close = %d", code)
	}
	for _, x := range cs {
		waitCount(t, f.pres, x.att.AttendeeId, 0)
	}
	f.ev.waitFor(t, a.att.AttendeeId, "chime:AttendeeAdded", "chime:AttendeeJoined", "chime:AttendeeLeft")
}

func TestBroadcastVolumes(t *testing.T) {
	f := newFixture(t, nil)
	m := f.meeting("m1")
	cs := joinAll(t, f, m.MeetingId, "user-a", "user-b")
	f.h.Volumes(m.MeetingId, []conference.Volume{
		{AttendeeID: cs[1].att.AttendeeId, StreamID: cs[1].streamID, Volume: 20, SignalStrength: 2},
		{AttendeeID: "not-here", Volume: 14}, // no roster entry: StreamID 0
	})
	for _, cl := range cs {
		md := cl.nextOf(protocol.SdkSignalFrame_AUDIO_METADATA).GetAudioMetadata().GetAttendeeStates()
		if len(md) != 1 || md[0].GetAudioStreamId() != cs[1].streamID || md[0].GetVolume() != 20 || md[0].GetSignalStrength() != 2 {
			t.Fatalf("metadata = %v", md)
		}
	}
	f.h.Volumes("no-such-meeting", nil)
}
