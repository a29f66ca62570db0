package session

import (
	"context"
	"errors"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"
	"google.golang.org/protobuf/proto"

	sigmedia "github.com/confab-media/confab/signaling/media"
	"github.com/confab-media/confab/signaling/protocol"
)

// counter is a guard.Counter for Params.Panics.
type counter struct{ n atomic.Int64 }

func (c *counter) Inc() { c.n.Add(1) }

// strictMedia fails the test if Media is handed a frame without the payload
// its type needs, and may panic on demand.
type strictMedia struct {
	t        testing.TB
	mu       sync.Mutex
	subs     int
	controls []protocol.SdkSignalFrame_Type
	panicSub bool
}

func (m *strictMedia) Subscribe(_ context.Context, _ sigmedia.Session, sub *protocol.SdkSubscribeFrame) (*protocol.SdkSubscribeAckFrame, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if sub == nil || (sub.SdpOffer == nil && sub.CompressedSdpOffer == nil) {
		m.t.Errorf("Subscribe got %v", sub)
		return nil, errBadRequest
	}
	if m.panicSub {
		var p *protocol.SdkSubscribeFrame
		_ = *p.SdpOffer // a nil dereference, like the old handleSubscribe
	}
	m.subs++
	return &protocol.SdkSubscribeAckFrame{SdpAnswer: proto.String("answer")}, nil
}

func (m *strictMedia) Control(_ sigmedia.Session, f *protocol.SdkSignalFrame) {
	m.mu.Lock()
	defer m.mu.Unlock()
	ok := true
	switch f.GetType() {
	case protocol.SdkSignalFrame_AUDIO_CONTROL:
		ok = f.AudioControl != nil && f.AudioControl.Muted != nil
	case protocol.SdkSignalFrame_PAUSE, protocol.SdkSignalFrame_RESUME:
		ok = f.Pause != nil
	case protocol.SdkSignalFrame_REMOTE_VIDEO_UPDATE:
		ok = f.RemoteVideoUpdate != nil
	case protocol.SdkSignalFrame_BITRATES:
		ok = f.Bitrates != nil
	default:
		ok = false
	}
	if !ok {
		m.t.Errorf("Control got %v", f)
	}
	m.controls = append(m.controls, f.GetType())
}

func (m *strictMedia) Leave(sigmedia.Session) {}

// TestMissingPayloadsGetTypedAnswers sends every frame type without its
// payload after JOIN: SUBSCRIBE gets SUBSCRIBE_ACK 400 and DATA_MESSAGE an
// error frame (the session stays), control frames close that session with
// 4400, the rest are ignored; Media never sees a frame without its payload,
// and the other attendee's session is untouched.
func TestMissingPayloadsGetTypedAnswers(t *testing.T) {
	panics := &counter{}
	media := &strictMedia{t: t}
	f := newFixture(t, func(_ *Config, p *Params) { p.Media, p.Panics = media, panics })
	closes := map[protocol.SdkSignalFrame_Type]bool{
		protocol.SdkSignalFrame_PING_PONG: true, protocol.SdkSignalFrame_AUDIO_CONTROL: true,
		protocol.SdkSignalFrame_PAUSE: true, protocol.SdkSignalFrame_RESUME: true,
		protocol.SdkSignalFrame_REMOTE_VIDEO_UPDATE: true, protocol.SdkSignalFrame_BITRATES: true,
	}
	for i, v := range protocol.SdkSignalFrame_Type_name {
		typ := protocol.SdkSignalFrame_Type(i)
		t.Run(v, func(t *testing.T) {
			m := f.meeting("m-" + v)
			cs := joinAll(t, f, m.MeetingId, "user-ok", "user-bad")
			good, bad := cs[0], cs[1]
			bad.send(frameOf(typ)) // type and timestamp only: the 10-byte frame
			switch {
			case typ == protocol.SdkSignalFrame_SUBSCRIBE:
				if a := bad.next(); a.GetType() != protocol.SdkSignalFrame_SUBSCRIBE_ACK || a.GetError().GetStatus() != 400 || a.Suback == nil {
					t.Fatalf("answer = %v", a)
				}
				bad.sync()
			case typ == protocol.SdkSignalFrame_DATA_MESSAGE:
				if a := bad.next(); a.GetType() != protocol.SdkSignalFrame_DATA_MESSAGE || a.GetError().GetStatus() != 400 {
					t.Fatalf("answer = %v", a)
				}
				bad.sync()
			case closes[typ]:
				if code := bad.closed(); code != CloseBadRequest {
					t.Fatalf("close = %d", code)
				}
			case typ == protocol.SdkSignalFrame_LEAVE:
				bad.nextOf(protocol.SdkSignalFrame_LEAVE_ACK)
			default:
				if extra := bad.sync(); len(extra) != 0 {
					t.Fatalf("answer to %v: %v", typ, extra)
				}
			}
			good.sync()
		})
	}
	// Present but empty payloads of the frames that pass to Media.
	m := f.meeting("m-empty")
	a := joinAll(t, f, m.MeetingId, "user-a")[0]
	for _, fr := range []*protocol.SdkSignalFrame{
		withPayload(protocol.SdkSignalFrame_PAUSE, func(x *protocol.SdkSignalFrame) { x.Pause = &protocol.SdkPauseResumeFrame{} }),
		withPayload(protocol.SdkSignalFrame_RESUME, func(x *protocol.SdkSignalFrame) { x.Pause = &protocol.SdkPauseResumeFrame{} }),
		withPayload(protocol.SdkSignalFrame_REMOTE_VIDEO_UPDATE, func(x *protocol.SdkSignalFrame) {
			x.RemoteVideoUpdate = &protocol.SdkRemoteVideoUpdateFrame{}
		}),
		withPayload(protocol.SdkSignalFrame_BITRATES, func(x *protocol.SdkSignalFrame) { x.Bitrates = &protocol.SdkBitrateFrame{} }),
	} {
		a.send(fr)
	}
	a.send(withPayload(protocol.SdkSignalFrame_SUBSCRIBE, func(x *protocol.SdkSignalFrame) { x.Sub = &protocol.SdkSubscribeFrame{} }))
	if ack := a.nextOf(protocol.SdkSignalFrame_SUBSCRIBE_ACK); ack.GetError().GetStatus() != 400 {
		t.Fatalf("empty sub: %v", ack)
	}
	a.send(withPayload(protocol.SdkSignalFrame_AUDIO_CONTROL, func(x *protocol.SdkSignalFrame) {
		x.AudioControl = &protocol.SdkAudioControlFrame{}
	}))
	if code := a.closed(); code != CloseBadRequest {
		t.Fatalf("AUDIO_CONTROL without muted: close %d", code)
	}
	media.mu.Lock()
	defer media.mu.Unlock()
	if media.subs != 0 || len(media.controls) != 4 || panics.n.Load() != 0 {
		t.Fatalf("media: %d subs, controls %v; %d panics", media.subs, media.controls, panics.n.Load())
	}
}

func withPayload(typ protocol.SdkSignalFrame_Type, set func(*protocol.SdkSignalFrame)) *protocol.SdkSignalFrame {
	f := frameOf(typ)
	set(f)
	return f
}

// TestPanicEndsOnlyThatSession: a panic while handling one client's frame
// (here inside Media) closes that session with 4500, is counted once, and
// leaves the process, the meeting and the other sessions running.
func TestPanicEndsOnlyThatSession(t *testing.T) {
	panics := &counter{}
	media := &strictMedia{t: t, panicSub: true}
	f := newFixture(t, func(_ *Config, p *Params) { p.Media, p.Panics = media, panics })
	m := f.meeting("m1")
	cs := joinAll(t, f, m.MeetingId, "user-ok", "user-bad")
	good, bad := cs[0], cs[1]
	bad.send(subscribeFrame())
	if code := bad.closed(); code != CloseInternalError {
		t.Fatalf("close = %d", code)
	}
	if e := expectInfo(good.client); len(e) != 1 || e[0].GetAudioStreamId() != bad.streamID || !e[0].GetDropped() {
		t.Fatalf("departure = %v", e)
	}
	good.sync()
	if n := panics.n.Load(); n != 1 {
		t.Fatalf("panics counted = %d", n)
	}
	// The attendee can come back.
	again := f.dial(m.MeetingId, bad.att.JoinToken)
	again.join()
	again.sync()
}

// TestDataMessageFrameCapAndCompactBounce: a frame over the per-frame cap
// is refused whole with one error frame; throttled messages of one frame
// cost one bounce of one message.
func TestDataMessageFrameCapAndCompactBounce(t *testing.T) {
	f := newFixture(t, func(c *Config, _ *Params) {
		c.DataMessagesPerFrame = 8
		c.AttendeeDataRate, c.AttendeeDataBurst = 1, 3
	})
	m := f.meeting("m1")
	cs := joinAll(t, f, m.MeetingId, "user-a", "user-b")
	a, b := cs[0], cs[1]
	many := func(n int) *protocol.SdkSignalFrame {
		fr := frameOf(protocol.SdkSignalFrame_DATA_MESSAGE)
		fr.DataMessage = &protocol.SdkDataMessageFrame{}
		for i := range n {
			fr.DataMessage.Messages = append(fr.DataMessage.Messages,
				&protocol.SdkDataMessagePayload{Topic: proto.String("t"), Data: []byte{byte(i)}})
		}
		return fr
	}
	a.send(many(9))
	if e := a.next(); e.GetType() != protocol.SdkSignalFrame_DATA_MESSAGE || e.GetError().GetStatus() != 400 ||
		len(e.GetDataMessage().GetMessages()) != 0 {
		t.Fatalf("over the cap: %v", e)
	}
	if extra := b.sync(); len(extra) != 0 {
		t.Fatalf("relayed from a refused frame: %v", extra)
	}
	a.send(many(8)) // burst 3: 3 relayed, 5 throttled, one bounce
	bounce := a.next().GetDataMessage().GetMessages()
	if len(bounce) != 1 || bounce[0].GetIngestTimeNs() != 0 || bounce[0].GetData()[0] != 3 {
		t.Fatalf("bounce = %v", bounce)
	}
	if extra := a.sync(); len(extra) != 0 {
		t.Fatalf("more than one bounce: %v", extra)
	}
	if got := b.nextOf(protocol.SdkSignalFrame_DATA_MESSAGE).GetDataMessage().GetMessages(); len(got) != 3 {
		t.Fatalf("relayed = %v", got)
	}
}

// TestSendQueueBoundedInBytes: a client that never reads is dropped once
// its queued bytes pass SendQueueBytes, however many frames that is.
func TestSendQueueBoundedInBytes(t *testing.T) {
	f := newFixture(t, func(c *Config, _ *Params) { c.SendQueue, c.SendQueueBytes = 1<<20, 256<<10 })
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
	big := protocol.NewFrame(protocol.SdkSignalFrame_SUBSCRIBE_ACK, t0)
	big.Suback = &protocol.SdkSubscribeAckFrame{SdpAnswer: proto.String(string(make([]byte, 16<<10)))}
	var i int
	for i = 0; ; i++ {
		err := s.Send(big)
		if errors.Is(err, ErrSlowClient) || errors.Is(err, ErrClosed) {
			break
		}
		if err != nil || i > 100000 {
			t.Fatalf("send %d: %v", i, err)
		}
		if q := s.queued.Load(); q > 256<<10 {
			t.Fatalf("queued %d bytes", q)
		}
	}
	f.ev.waitFor(t, a.AttendeeId, "chime:AttendeeAdded", "chime:AttendeeJoined", "chime:AttendeeDropped")
	t.Logf("dropped after %d frames of 16 KiB (socket buffers + 256 KiB queue)", i)
}

func muteFrame(muted bool) *protocol.SdkSignalFrame {
	return withPayload(protocol.SdkSignalFrame_AUDIO_CONTROL, func(x *protocol.SdkSignalFrame) {
		x.AudioControl = &protocol.SdkAudioControlFrame{Muted: proto.Bool(muted)}
	})
}

// TestMuteFloodCoalescedAndLimited: 2,000 toggles reach listeners as a few
// coalesced frames; muting always takes effect, unmutes past the burst wait
// for tokens and then apply with the next frame.
func TestMuteFloodCoalescedAndLimited(t *testing.T) {
	media := &strictMedia{t: t}
	f := newFixture(t, func(c *Config, p *Params) {
		p.Media = media
		c.UnmuteRate, c.UnmuteBurst = 1, 5
		c.PresenceInterval = 50 * time.Millisecond
	})
	m := f.meeting("m1")
	cs := joinAll(t, f, m.MeetingId, "user-a", "user-b")
	a, b := cs[0], cs[1]
	start := time.Now()
	for i := range 2000 {
		a.send(muteFrame(i%2 == 0))
	}
	a.sync()                           // all handled
	time.Sleep(100 * time.Millisecond) // a pending flush goes out
	frames := b.sync()
	elapsed := time.Since(start)
	// At most one frame per interval, plus the leading one.
	if most := int(elapsed/(50*time.Millisecond)) + 2; len(frames) > most {
		t.Fatalf("%d presence frames in %v (max %d)", len(frames), elapsed, most)
	}
	var last *protocol.SdkAudioStreamIdInfo
	for _, fr := range frames {
		st := fr.GetAudioStreamIdInfo().GetStreams()
		if fr.GetType() != protocol.SdkSignalFrame_AUDIO_STREAM_ID_INFO || len(st) != 1 || st[0].GetAudioStreamId() != a.streamID {
			t.Fatalf("frame = %v", fr)
		}
		last = st[0]
	}
	// The flood ended on an unmute the bucket (burst 5) could not pay for:
	// a stays muted, announced so, and Media saw only paid-for changes.
	if last == nil || !last.GetMuted() {
		t.Fatalf("last announced = %v", last)
	}
	media.mu.Lock()
	n := len(media.controls)
	media.mu.Unlock()
	if n > 2*5+1 {
		t.Fatalf("Media saw %d mute changes", n)
	}
	// A token comes back; the next frame (a PING) applies the held unmute.
	f.clock.Advance(time.Second)
	a.send(ping(1))
	e := expectInfo(b.client)
	if len(e) != 1 || e[0].GetMuted() {
		t.Fatalf("held unmute: %v", e)
	}
}

// TestSubscribeRateLimited: SUBSCRIBE past its burst gets 429 and never
// reaches Media; the clock refills it.
func TestSubscribeRateLimited(t *testing.T) {
	media := &strictMedia{t: t}
	f := newFixture(t, func(c *Config, p *Params) { p.Media, c.SubscribeRate, c.SubscribeBurst = media, 1, 3 })
	m := f.meeting("m1")
	a := joinAll(t, f, m.MeetingId, "user-a")[0]
	for i := range 5 {
		a.send(subscribeFrame())
		ack := a.nextOf(protocol.SdkSignalFrame_SUBSCRIBE_ACK)
		if want := map[bool]uint32{true: 0, false: 429}[i < 3]; ack.GetError().GetStatus() != want {
			t.Fatalf("SUBSCRIBE %d: %v", i, ack)
		}
	}
	f.clock.Advance(time.Second)
	a.send(subscribeFrame())
	if ack := a.nextOf(protocol.SdkSignalFrame_SUBSCRIBE_ACK); ack.Error != nil {
		t.Fatalf("after refill: %v", ack)
	}
	media.mu.Lock()
	defer media.mu.Unlock()
	if media.subs != 4 {
		t.Fatalf("Media saw %d SUBSCRIBEs", media.subs)
	}
}

// TestReconnectRateLimited: an attendee's connections past ConnectBurst are
// closed with 4529 before they join (no Joined/Left events); the clock
// refills the bucket, and other attendees are not affected.
func TestReconnectRateLimited(t *testing.T) {
	f := newFixture(t, func(c *Config, _ *Params) { c.ConnectRate, c.ConnectBurst = 0.5, 3 })
	m := f.meeting("m1")
	a := f.attendee(m.MeetingId, "user-a")
	for range 3 {
		cl := f.dial(m.MeetingId, a.JoinToken)
		cl.join()
		cl.send(frameOf(protocol.SdkSignalFrame_LEAVE))
		cl.nextOf(protocol.SdkSignalFrame_LEAVE_ACK)
		cl.closed()
		waitCount(t, f.pres, a.AttendeeId, 0) // departed before the next join
	}
	cl := f.dial(m.MeetingId, a.JoinToken)
	cl.send(joinFrame())
	if code := cl.closed(); code != CloseRateLimited {
		t.Fatalf("4th connection: close %d", code)
	}
	other := joinAll(t, f, m.MeetingId, "user-b")[0]
	other.sync()
	f.clock.Advance(2 * time.Second) // one token
	cl = f.dial(m.MeetingId, a.JoinToken)
	cl.join()
	f.ev.waitFor(t, a.AttendeeId, "chime:AttendeeAdded",
		"chime:AttendeeJoined", "chime:AttendeeLeft", "chime:AttendeeJoined", "chime:AttendeeLeft",
		"chime:AttendeeJoined", "chime:AttendeeLeft", "chime:AttendeeJoined")
}

// TestSlowListenerDropped: one attendee's relayed data messages fan out to
// a listener that never reads (a small receive buffer, so the kernel holds
// little): what is queued for it stays under half its byte cap (relays are
// skipped past that), and once its socket stops taking data its write times
// out and it is dropped, while a reading listener stays (skipping what it
// fell too far behind for). The sender is not at fault and stays.
func TestSlowListenerDropped(t *testing.T) {
	var slowSession atomic.Pointer[Session]
	f := newFixture(t, func(c *Config, _ *Params) {
		c.SendQueueBytes, c.WriteTimeout = 256<<10, time.Second
		c.AttendeeDataBurst, c.MeetingDataBurst = 10000, 10000
	})
	m := f.meeting("m1")
	cs := joinAll(t, f, m.MeetingId, "user-sender", "user-honest")
	sender, honest := cs[0], cs[1]
	slowAtt := f.attendee(m.MeetingId, "user-slow")
	dialer := &net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
		var serr error
		err := rc.Control(func(fd uintptr) { serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096) })
		return errors.Join(err, serr)
	}}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	u := "ws" + f.srv.URL[len("http"):] + "/control/" + m.MeetingId
	slow, _, err := websocket.Dial(ctx, u, &websocket.DialOptions{
		Subprotocols: []string{Subprotocol, slowAtt.JoinToken},
		HTTPClient:   &http.Client{Transport: &http.Transport{DialContext: dialer.DialContext}},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer slow.CloseNow()
	b, _ := protocol.Encode(joinFrame())
	if err := slow.Write(ctx, websocket.MessageBinary, b); err != nil {
		t.Fatal(err)
	}
	f.ev.waitFor(t, slowAtt.AttendeeId, "chime:AttendeeAdded", "chime:AttendeeJoined")
	rm := f.h.room(m.MeetingId)
	rm.mu.Lock()
	slowSession.Store(rm.joined[slowAtt.AttendeeId])
	rm.mu.Unlock()
	sender.nextOf(protocol.SdkSignalFrame_AUDIO_STREAM_ID_INFO)
	honest.nextOf(protocol.SdkSignalFrame_AUDIO_STREAM_ID_INFO)

	msg := frameOf(protocol.SdkSignalFrame_DATA_MESSAGE)
	msg.DataMessage = &protocol.SdkDataMessageFrame{}
	for range 16 {
		msg.DataMessage.Messages = append(msg.DataMessage.Messages,
			&protocol.SdkDataMessagePayload{Topic: proto.String("t"), Data: make([]byte, 2048)})
	}
	// 300 × 33 KB: more than the server's socket send buffer (≤ 4 MB) and
	// the 256 KiB queue.
	for range 300 {
		sender.send(msg)
		if q := slowSession.Load().queued.Load(); q > 128<<10 {
			t.Fatalf("%d bytes queued for the slow listener", q)
		}
	}
	f.ev.waitFor(t, slowAtt.AttendeeId, "chime:AttendeeAdded", "chime:AttendeeJoined", "chime:AttendeeDropped")
	sender.sync()
	got := 0
	for _, fr := range honest.sync() {
		got += len(fr.GetDataMessage().GetMessages())
	}
	t.Logf("honest listener: %d of %d messages (a reader this far behind skips some)", got, 300*16)
	if got == 0 {
		t.Fatal("honest listener got nothing")
	}
	if n := slowSession.Load().skipped.Load(); n == 0 {
		t.Fatal("no relay skipped for the slow listener")
	}
}
