package session

import (
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/confab-media/confab/signaling/protocol"
)

func dataFrame(topic string, data []byte, lifetimeMs uint32) *protocol.SdkSignalFrame {
	f := frameOf(protocol.SdkSignalFrame_DATA_MESSAGE)
	f.DataMessage = &protocol.SdkDataMessageFrame{Messages: []*protocol.SdkDataMessagePayload{{
		Topic: proto.String(topic), Data: data, LifetimeMs: proto.Uint32(lifetimeMs),
	}}}
	return f
}

func nextData(cl *client) *protocol.SdkDataMessagePayload {
	cl.t.Helper()
	msgs := cl.nextOf(protocol.SdkSignalFrame_DATA_MESSAGE).GetDataMessage().GetMessages()
	if len(msgs) != 1 {
		cl.t.Fatalf("data frame with %d messages", len(msgs))
	}
	return msgs[0]
}

func TestDataMessagesRelayedToOthers(t *testing.T) {
	f := newFixture(t, nil)
	m := f.meeting("m1")
	cs := joinAll(t, f, m.MeetingId, "user-a", "user-b", "user-c")
	a := cs[0]
	var last int64
	for i, text := range []string{"one", "two", "three"} {
		a.send(dataFrame("chat", []byte(text), 0))
		for _, o := range cs[1:] {
			d := nextData(o.client)
			if d.GetTopic() != "chat" || string(d.GetData()) != text || d.GetSenderAttendeeId() != a.att.AttendeeId ||
				d.GetSenderExternalUserId() != "user-a" || d.IngestTimeNs == nil {
				t.Fatalf("relayed = %v", d)
			}
			ns := d.GetIngestTimeNs()
			if ns == 0 || ns%256 != 0 || ns < t0.UnixNano() {
				t.Fatalf("ingest time %d", ns)
			}
			if o == cs[1] {
				if i > 0 && ns < last+256 {
					t.Fatalf("ingest time %d after %d", ns, last)
				}
				last = ns
			}
		}
	}
	// Never echoed to the sender.
	for _, fr := range a.sync() {
		if fr.GetType() == protocol.SdkSignalFrame_DATA_MESSAGE {
			t.Fatalf("echoed: %v", fr)
		}
	}
}

func TestDataMessagesRefused(t *testing.T) {
	f := newFixture(t, nil)
	m := f.meeting("m1")
	cs := joinAll(t, f, m.MeetingId, "user-a", "user-b")
	a, b := cs[0], cs[1]
	for _, bad := range []*protocol.SdkSignalFrame{
		dataFrame("", []byte("x"), 0),
		dataFrame(strings.Repeat("t", 37), []byte("x"), 0),
		dataFrame("aws:chime:transcription", []byte("x"), 0),
		dataFrame("chat", make([]byte, 2049), 0),
	} {
		a.send(bad)
		fr := a.nextOf(protocol.SdkSignalFrame_DATA_MESSAGE)
		if fr.GetError().GetStatus() != 400 || len(fr.GetDataMessage().GetMessages()) != 0 {
			t.Fatalf("refusal = %v", fr)
		}
	}
	a.send(dataFrame(strings.Repeat("t", 36), make([]byte, 2048), 0)) // at the limits: fine
	if d := nextData(b.client); len(d.GetData()) != 2048 {
		t.Fatalf("relayed %d bytes", len(d.GetData()))
	}
	if extra := b.sync(); len(extra) != 0 {
		t.Fatalf("refused messages relayed: %v", extra)
	}
	a.sync() // the session is still there
}

func TestDataMessageReplayToLateJoiner(t *testing.T) {
	f := newFixture(t, nil)
	m := f.meeting("m1")
	cs := joinAll(t, f, m.MeetingId, "user-a", "user-b")
	a, b := cs[0], cs[1]
	a.send(dataFrame("state", []byte("kept"), 10_000))
	a.send(dataFrame("chat", []byte("fleeting"), 0))
	a.send(dataFrame("forever", []byte("capped"), 3_600_000)) // kept 5 min at most
	for range 3 {
		nextData(b.client)
	}

	late := f.attendee(m.MeetingId, "user-late")
	cl := f.dial(m.MeetingId, late.JoinToken)
	cl.join()
	fr := cl.next()
	msgs := fr.GetDataMessage().GetMessages()
	if fr.GetType() != protocol.SdkSignalFrame_DATA_MESSAGE || len(msgs) != 2 ||
		string(msgs[0].GetData()) != "kept" || string(msgs[1].GetData()) != "capped" ||
		msgs[0].GetSenderAttendeeId() != a.att.AttendeeId || msgs[0].GetIngestTimeNs() == 0 {
		t.Fatalf("replay = %v", fr)
	}
	// The sender is not replayed its own messages when it rejoins.
	a2 := f.dial(m.MeetingId, a.att.JoinToken)
	a2.join()
	for _, x := range a2.sync() {
		if x.GetType() == protocol.SdkSignalFrame_DATA_MESSAGE {
			t.Fatalf("own message replayed: %v", x)
		}
	}

	f.clock.Advance(11 * time.Second)
	late2 := f.dial(m.MeetingId, f.attendee(m.MeetingId, "user-late2").JoinToken)
	late2.join()
	if fr := late2.next(); len(fr.GetDataMessage().GetMessages()) != 1 || string(fr.GetDataMessage().GetMessages()[0].GetData()) != "capped" {
		t.Fatalf("replay after 11 s = %v", fr)
	}
	f.clock.Advance(5 * time.Minute)
	late3 := f.dial(m.MeetingId, f.attendee(m.MeetingId, "user-late3").JoinToken)
	late3.join()
	for _, x := range late3.sync() {
		if x.GetType() == protocol.SdkSignalFrame_DATA_MESSAGE {
			t.Fatalf("expired message replayed: %v", x)
		}
	}
}

func TestDataMessageRetentionCap(t *testing.T) {
	f := newFixture(t, func(c *Config, _ *Params) { c.DataRetainedMax = 3 })
	m := f.meeting("m1")
	a := joinAll(t, f, m.MeetingId, "user-a")[0]
	for _, s := range []string{"1", "2", "3", "4", "5"} {
		a.send(dataFrame("t", []byte(s), 60_000))
	}
	a.sync()
	late := f.dial(m.MeetingId, f.attendee(m.MeetingId, "user-late").JoinToken)
	late.join()
	msgs := late.next().GetDataMessage().GetMessages()
	if len(msgs) != 3 || string(msgs[0].GetData()) != "3" || string(msgs[2].GetData()) != "5" {
		t.Fatalf("kept = %v", msgs)
	}
}

func TestDataMessageThrottling(t *testing.T) {
	f := newFixture(t, func(c *Config, _ *Params) {
		c.AttendeeDataRate, c.AttendeeDataBurst = 2, 3
		c.MeetingDataRate, c.MeetingDataBurst = 100, 5
	})
	m := f.meeting("m1")
	cs := joinAll(t, f, m.MeetingId, "user-a", "user-b", "user-c")
	a, b, c := cs[0], cs[1], cs[2]

	// a: burst 3, the 4th bounces back to a only, with ingest time 0.
	for i := range 4 {
		a.send(dataFrame("t", []byte{byte(i)}, 0))
	}
	bounced := nextData(a.client)
	if bounced.IngestTimeNs == nil || bounced.GetIngestTimeNs() != 0 || bounced.GetData()[0] != 3 ||
		bounced.GetSenderAttendeeId() != a.att.AttendeeId {
		t.Fatalf("bounce = %v", bounced)
	}
	for _, o := range []*joinedClient{b, c} {
		for i := range 3 {
			if d := nextData(o.client); d.GetData()[0] != byte(i) || d.GetIngestTimeNs() == 0 {
				t.Fatalf("relayed = %v", d)
			}
		}
	}
	// The meeting's burst of 5 is down to 2: c gets 2 through, then bounces.
	for i := range 3 {
		c.send(dataFrame("t", []byte{byte(10 + i)}, 0))
	}
	if d := nextData(c.client); d.GetIngestTimeNs() != 0 || d.GetData()[0] != 12 {
		t.Fatalf("meeting-throttled bounce = %v", d)
	}
	// Time refills the buckets (injected clock).
	f.clock.Advance(time.Second)
	a.send(dataFrame("t", []byte{99}, 0))
	for {
		d := nextData(b.client)
		if d.GetData()[0] == 99 {
			if d.GetIngestTimeNs() == 0 {
				t.Fatalf("not refilled: %v", d)
			}
			break
		}
	}
	for _, x := range a.sync() {
		for _, d := range x.GetDataMessage().GetMessages() {
			if d.GetSenderAttendeeId() == a.att.AttendeeId {
				t.Fatalf("echoed to sender: %v", x)
			}
		}
	}
}
