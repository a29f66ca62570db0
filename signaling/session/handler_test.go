package session

import (
	"context"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/confab-media/confab/signaling/protocol"
)

func TestSubprotocolAndPingPong(t *testing.T) {
	f := newFixture(t, nil)
	m := f.meeting("m1")
	a := f.attendee(m.MeetingId, "user-a")
	cl := f.dial(m.MeetingId, a.JoinToken)
	if got := cl.c.Subprotocol(); got != Subprotocol {
		t.Fatalf("subprotocol = %q, want %q", got, Subprotocol)
	}
	cl.send(ping(1)) // before JOIN, as the SDK may
	p := cl.next()
	if p.GetType() != protocol.SdkSignalFrame_PING_PONG || p.GetPingPong().GetType() != protocol.SdkPingPongType_PONG ||
		p.GetPingPong().GetPingId() != 1 || p.GetTimestampMs() != uint64(t0.UnixMilli()) {
		t.Fatalf("pong = %v", p)
	}
}

func TestRefusedConnections(t *testing.T) {
	f := newFixture(t, nil)
	m := f.meeting("m1")
	other := f.meeting("m2")
	a := f.attendee(m.MeetingId, "user-a")
	gone := f.attendee(m.MeetingId, "user-gone")
	if err := f.svc.DeleteAttendee(context.Background(), m.MeetingId, gone.AttendeeId); err != nil {
		t.Fatal(err)
	}
	ended := f.meeting("m3")
	e := f.attendee(ended.MeetingId, "user-e")
	if err := f.svc.DeleteMeeting(context.Background(), ended.MeetingId); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name      string
		meetingID string
		protos    []string
		want      websocket.StatusCode
	}{
		{"garbage token", m.MeetingId, []string{Subprotocol, "not-a-token"}, CloseAuthRejected},
		{"no token", m.MeetingId, []string{Subprotocol}, CloseAuthRejected},
		{"no subprotocol", m.MeetingId, []string{a.JoinToken}, CloseAuthRejected},
		{"revoked token", m.MeetingId, []string{Subprotocol, gone.JoinToken}, CloseAuthRejected},
		{"other meeting's path", other.MeetingId, []string{Subprotocol, a.JoinToken}, CloseForbidden},
		{"ended meeting", ended.MeetingId, []string{Subprotocol, e.JoinToken}, CloseMeetingEnded},
	} {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			cl := f.dialProtocols(tc.meetingID, tc.protos)
			cl.send(ping(1))
			cl.send(joinFrame())
			if got := cl.closed(); got != tc.want {
				t.Fatalf("close code = %d (%v), want %d", got, cl.err, tc.want)
			}
			if d := time.Since(start); d > time.Second {
				t.Fatalf("refusal took %v", d)
			}
		})
	}

	// Without a JOIN the refusal comes after RejectDelay.
	start := time.Now()
	cl := f.dial(m.MeetingId, "not-a-token")
	if got := cl.closed(); got != CloseAuthRejected {
		t.Fatalf("close code = %d", got)
	}
	if d := time.Since(start); d < time.Second || d > 4*time.Second {
		t.Fatalf("refusal without JOIN took %v, want ~2s", d)
	}
}

func TestJoinSequence(t *testing.T) {
	f := newFixture(t, nil)
	m := f.meeting("m1")
	a := f.attendee(m.MeetingId, "user-a")
	cl := f.dial(m.MeetingId, a.JoinToken)
	cl.send(joinFrame())
	ack := cl.next()
	if ack.GetType() != protocol.SdkSignalFrame_JOIN_ACK || ack.GetJoinack() == nil {
		t.Fatalf("first frame = %v", ack)
	}
	ja := ack.GetJoinack()
	if ja.TurnCredentials != nil || ja.WantsCompressedSdp != nil || ja.DefaultServerSideNetworkAdaption != nil {
		t.Fatalf("join ack = %v", ja)
	}
	idx := cl.next()
	if idx.GetType() != protocol.SdkSignalFrame_INDEX || len(idx.GetIndex().GetSources()) != 0 || idx.GetIndex().GetNumParticipants() != 1 {
		t.Fatalf("second frame = %v", idx)
	}
	info := cl.next()
	if info.GetType() != protocol.SdkSignalFrame_AUDIO_STREAM_ID_INFO {
		t.Fatalf("third frame = %v", info)
	}
	st := info.GetAudioStreamIdInfo().GetStreams()
	if len(st) != 1 || st[0].GetAttendeeId() != a.AttendeeId || st[0].GetExternalUserId() != "user-a" || st[0].GetAudioStreamId() == 0 {
		t.Fatalf("presence = %v", st)
	}
	f.ev.waitFor(t, a.AttendeeId, "chime:AttendeeAdded", "chime:AttendeeJoined")
	if n := f.pres.count(a.AttendeeId); n != 1 {
		t.Fatalf("connected count = %d", n)
	}
	// A second JOIN on the same connection changes nothing.
	cl.send(joinFrame())
	if extra := cl.sync(); len(extra) != 0 {
		t.Fatalf("frames after second JOIN: %v", extra)
	}
	// LEAVE → LEAVE_ACK, normal close, AttendeeLeft.
	cl.send(frameOf(protocol.SdkSignalFrame_LEAVE))
	if got := cl.next(); got.GetType() != protocol.SdkSignalFrame_LEAVE_ACK {
		t.Fatalf("after LEAVE: %v", got)
	}
	if code := cl.closed(); code != websocket.StatusNormalClosure {
		t.Fatalf("close = %d", code)
	}
	f.ev.waitFor(t, a.AttendeeId, "chime:AttendeeAdded", "chime:AttendeeJoined", "chime:AttendeeLeft")
	waitCount(t, f.pres, a.AttendeeId, 0)
}

func waitCount(t *testing.T, p *presence, attendeeID string, want int) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for p.count(attendeeID) != want {
		if time.Now().After(deadline) {
			t.Fatalf("connected count of %s = %d, want %d", attendeeID, p.count(attendeeID), want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestIdleClientDropped(t *testing.T) {
	f := newFixture(t, func(c *Config, _ *Params) { c.IdleTimeout = 300 * time.Millisecond })
	m := f.meeting("m1")
	a := f.attendee(m.MeetingId, "user-a")
	b := f.attendee(m.MeetingId, "user-b")
	ca := f.dial(m.MeetingId, a.JoinToken)
	ca.join()
	cb := f.dial(m.MeetingId, b.JoinToken)
	cb.join()
	// b keeps pinging; a falls silent and is dropped.
	stop := time.After(wait)
	var gone *protocol.SdkAudioStreamIdInfo
	for gone == nil {
		select {
		case <-stop:
			t.Fatal("silent client not dropped")
		case <-time.After(100 * time.Millisecond):
			cb.send(ping(7))
		case fr := <-cb.frames:
			for _, s := range fr.GetAudioStreamIdInfo().GetStreams() {
				if s.AttendeeId == nil && s.Muted == nil {
					gone = s
				}
			}
		}
	}
	if !gone.GetDropped() {
		t.Fatalf("departure of a silent client = %v, want dropped", gone)
	}
	if code := ca.closed(); code != -1 {
		t.Fatalf("silent client closed with %d, want no close frame", code)
	}
	f.ev.waitFor(t, a.AttendeeId, "chime:AttendeeAdded", "chime:AttendeeJoined", "chime:AttendeeDropped")
	f.ev.waitFor(t, b.AttendeeId, "chime:AttendeeAdded", "chime:AttendeeJoined")
}

func TestJoinTimeout(t *testing.T) {
	f := newFixture(t, func(c *Config, _ *Params) { c.JoinTimeout = 200 * time.Millisecond })
	m := f.meeting("m1")
	a := f.attendee(m.MeetingId, "user-a")
	cl := f.dial(m.MeetingId, a.JoinToken)
	for range 2 { // pings alone do not keep a connection that never joins
		cl.send(ping(1))
		time.Sleep(50 * time.Millisecond)
	}
	if code := cl.closed(); code != CloseTimeout {
		t.Fatalf("close = %d", code)
	}
	if got := f.ev.of(a.AttendeeId); len(got) != 1 {
		t.Fatalf("events = %v, want only AttendeeAdded", got)
	}
}

func TestHandlerCloseEndsSessions(t *testing.T) {
	f := newFixture(t, nil)
	m := f.meeting("m1")
	var cls []*client
	for _, u := range []string{"u1", "u2", "u3"} {
		a := f.attendee(m.MeetingId, u)
		cl := f.dial(m.MeetingId, a.JoinToken)
		if u != "u3" {
			cl.join() // u3 stays before JOIN
		}
		cls = append(cls, cl)
	}
	f.h.Close()
	for _, cl := range cls {
		if code := cl.closed(); code != CloseServerShutdown {
			t.Fatalf("close = %d", code)
		}
	}
	f.h.Close() // idempotent
}
