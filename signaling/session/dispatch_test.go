package session

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/coder/websocket"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	sigmedia "github.com/confab-media/confab/signaling/media"
	"github.com/confab-media/confab/signaling/protocol"
)

func TestGarbageClosesOnlyThatSession(t *testing.T) {
	f := newFixture(t, nil)
	for i, tc := range []struct {
		name string
		typ  websocket.MessageType
		b    []byte
	}{
		{"binary garbage", websocket.MessageBinary, []byte{0x05, 0xff, 0xff, 0xff}},
		{"bad prefix", websocket.MessageBinary, []byte{0x07, 0x08, 0x01}},
		{"empty", websocket.MessageBinary, nil},
		{"text", websocket.MessageText, []byte("hello")},
		{"missing required field", websocket.MessageBinary, []byte{0x05, 0x10, 0x13}}, // type PING_PONG, no timestamp
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := f.meeting(fmt.Sprintf("m%d", i))
			cs := joinAll(t, f, m.MeetingId, "user-ok", "user-bad")
			good, bad := cs[0], cs[1]
			bad.sendRaw(tc.typ, tc.b)
			if code := bad.closed(); code != CloseBadRequest {
				t.Fatalf("close = %d", code)
			}
			e := expectInfo(good.client)
			if len(e) != 1 || e[0].GetAudioStreamId() != bad.streamID || !e[0].GetDropped() {
				t.Fatalf("departure = %v", e)
			}
			good.sync()
			f.ev.waitFor(t, bad.att.AttendeeId, "chime:AttendeeAdded", "chime:AttendeeJoined", "chime:AttendeeDropped")
		})
	}
}

func TestUnknownFrameTypeIgnored(t *testing.T) {
	f := newFixture(t, nil)
	m := f.meeting("m1")
	a := joinAll(t, f, m.MeetingId, "user-a")[0]
	b := []byte{protocol.FramePrefix}
	b = protowire.AppendTag(b, 1, protowire.VarintType)
	b = protowire.AppendVarint(b, 1795428000000)
	b = protowire.AppendTag(b, 2, protowire.VarintType)
	b = protowire.AppendVarint(b, 99)
	a.sendRaw(websocket.MessageBinary, b)
	if extra := a.sync(); len(extra) != 0 {
		t.Fatalf("answer to unknown type: %v", extra)
	}
}

func subscribeFrame() *protocol.SdkSignalFrame {
	f := frameOf(protocol.SdkSignalFrame_SUBSCRIBE)
	f.Sub = &protocol.SdkSubscribeFrame{
		Duplex:     protocol.SdkStreamServiceType_DUPLEX.Enum(),
		SdpOffer:   proto.String("v=0\r\n"),
		AudioMuted: proto.Bool(false),
	}
	return f
}

func TestSubscribeBeforeJoin(t *testing.T) {
	f := newFixture(t, nil)
	m := f.meeting("m1")
	a := f.attendee(m.MeetingId, "user-a")
	cl := f.dial(m.MeetingId, a.JoinToken)
	cl.send(subscribeFrame())
	fr := cl.next()
	if fr.GetType() != protocol.SdkSignalFrame_SUBSCRIBE_ACK || fr.GetError().GetStatus() != 400 {
		t.Fatalf("answer = %v", fr)
	}
	if code := cl.closed(); code != CloseBadRequest {
		t.Fatalf("close = %d", code)
	}
	if got := f.ev.of(a.AttendeeId); len(got) != 1 {
		t.Fatalf("events = %v", got)
	}
}

func TestSubscribeWithoutMedia(t *testing.T) {
	f := newFixture(t, nil)
	m := f.meeting("m1")
	a := joinAll(t, f, m.MeetingId, "user-a")[0]
	a.send(subscribeFrame())
	fr := a.next()
	if fr.GetType() != protocol.SdkSignalFrame_SUBSCRIBE_ACK || fr.GetError().GetStatus() != 503 ||
		fr.GetError().GetDescription() != "media not available" {
		t.Fatalf("answer = %v", fr)
	}
	a.sync() // kept
}

// fakeMedia records calls; a real SFU cannot run in this package's tests.
type fakeMedia struct {
	mu       sync.Mutex
	subs     []uint64
	controls []protocol.SdkSignalFrame_Type
	left     []uint64
	fail     error
}

func (m *fakeMedia) Subscribe(ctx context.Context, ms sigmedia.Session, sub *protocol.SdkSubscribeFrame) (*protocol.SdkSubscribeAckFrame, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail != nil {
		return nil, m.fail
	}
	s := ms.(*Session)
	m.subs = append(m.subs, s.ID())
	// The SFU pushes frames of its own through the session.
	idx := protocol.NewFrame(protocol.SdkSignalFrame_INDEX, s.h.p.Clock.Now())
	idx.Index = &protocol.SdkIndexFrame{NumParticipants: proto.Uint32(7)}
	if err := s.Send(idx); err != nil {
		return nil, err
	}
	return &protocol.SdkSubscribeAckFrame{
		Duplex:    sub.Duplex,
		SdpAnswer: proto.String(fmt.Sprintf("answer for %s stream %d", s.Identity().AttendeeID, s.AudioStreamID())),
	}, nil
}

func (m *fakeMedia) Control(_ sigmedia.Session, f *protocol.SdkSignalFrame) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.controls = append(m.controls, f.GetType())
}

func (m *fakeMedia) Leave(s sigmedia.Session) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.left = append(m.left, s.ID())
}

func TestSubscribeDelegatedToMedia(t *testing.T) {
	media := &fakeMedia{}
	f := newFixture(t, func(_ *Config, p *Params) { p.Media = media })
	m := f.meeting("m1")
	cs := joinAll(t, f, m.MeetingId, "user-a", "user-b")
	a := cs[0]

	sub := subscribeFrame()
	sub.Sub.AudioMuted = proto.Bool(true) // initial mute is broadcast
	a.send(sub)
	if e := expectInfo(a.client); len(e) != 1 || !e[0].GetMuted() {
		t.Fatalf("mute = %v", e)
	}
	if idx := a.next(); idx.GetType() != protocol.SdkSignalFrame_INDEX || idx.GetIndex().GetNumParticipants() != 7 {
		t.Fatalf("pushed = %v", idx)
	}
	ack := a.next()
	if ack.GetType() != protocol.SdkSignalFrame_SUBSCRIBE_ACK || ack.Error != nil ||
		ack.GetSuback().GetSdpAnswer() != fmt.Sprintf("answer for %s stream %d", a.att.AttendeeId, a.streamID) {
		t.Fatalf("ack = %v", ack)
	}
	pause := frameOf(protocol.SdkSignalFrame_PAUSE)
	pause.Pause = &protocol.SdkPauseResumeFrame{StreamIds: []uint32{2}}
	a.send(pause)
	a.sync()

	media.mu.Lock()
	media.fail = fmt.Errorf("bad offer: %w", errBadRequest)
	media.mu.Unlock()
	a.send(subscribeFrame())
	if fr := a.nextOf(protocol.SdkSignalFrame_SUBSCRIBE_ACK); fr.GetError().GetStatus() != 400 {
		t.Fatalf("failed subscribe = %v", fr)
	}
	media.mu.Lock()
	media.fail = errors.New("boom")
	media.mu.Unlock()
	a.send(subscribeFrame())
	if fr := a.nextOf(protocol.SdkSignalFrame_SUBSCRIBE_ACK); fr.GetError().GetStatus() != 500 {
		t.Fatalf("failed subscribe = %v", fr)
	}

	a.send(frameOf(protocol.SdkSignalFrame_LEAVE))
	a.closed()
	f.h.Close()
	media.mu.Lock()
	defer media.mu.Unlock()
	if len(media.subs) != 1 || len(media.controls) != 1 || media.controls[0] != protocol.SdkSignalFrame_PAUSE || len(media.left) != 2 {
		t.Fatalf("media calls: subs %v controls %v left %v", media.subs, media.controls, media.left)
	}
}

func TestSlowClientDropped(t *testing.T) {
	f := newFixture(t, func(c *Config, _ *Params) { c.SendQueue = 4 })
	m := f.meeting("m1")
	a := f.attendee(m.MeetingId, "user-a")
	u := "ws" + f.srv.URL[len("http"):] + "/control/" + m.MeetingId
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	c, _, err := websocket.Dial(ctx, u, &websocket.DialOptions{Subprotocols: []string{Subprotocol, a.JoinToken}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	b, _ := protocol.Encode(joinFrame())
	if err := c.Write(ctx, websocket.MessageBinary, b); err != nil {
		t.Fatal(err)
	}
	f.ev.waitFor(t, a.AttendeeId, "chime:AttendeeAdded", "chime:AttendeeJoined")
	rm := f.h.room(m.MeetingId)
	rm.mu.Lock()
	s := rm.joined[a.AttendeeId]
	rm.mu.Unlock()

	// The client reads nothing: once the socket buffers are full the queue
	// fills, and Send fails fast instead of blocking.
	big := protocol.NewFrame(protocol.SdkSignalFrame_SUBSCRIBE_ACK, t0)
	big.Suback = &protocol.SdkSubscribeAckFrame{SdpAnswer: proto.String(string(make([]byte, 64<<10)))}
	for i := 0; ; i++ {
		err := s.Send(big)
		if errors.Is(err, ErrSlowClient) || errors.Is(err, ErrClosed) {
			break
		}
		if err != nil || i > 10000 {
			t.Fatalf("send %d: %v", i, err)
		}
	}
	f.ev.waitFor(t, a.AttendeeId, "chime:AttendeeAdded", "chime:AttendeeJoined", "chime:AttendeeDropped")
}
