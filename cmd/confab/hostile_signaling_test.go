package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go/aws"
	"github.com/aws/aws-sdk-go/service/chimesdkmeetings"
	"github.com/coder/websocket"
	"google.golang.org/protobuf/proto"

	"github.com/confab-media/confab/signaling/protocol"
)

// The hostile-client suite for the signaling WebSocket: each test attacks a
// real `confab serve` on loopback the way issue 12 found it open, and
// checks the server, the other attendees and the API come through.

// hostileMeeting is a meeting created through the API, with its signaling URL.
type hostileMeeting struct {
	t   *testing.T
	s   *server
	api *chimesdkmeetings.ChimeSDKMeetings
	id  string
	url string
}

func newHostileMeeting(t *testing.T, s *server, name string) *hostileMeeting {
	t.Helper()
	api := s.client(testKeyID, testSecret)
	cm, err := api.CreateMeeting(&chimesdkmeetings.CreateMeetingInput{
		ClientRequestToken: aws.String(name), MediaRegion: aws.String("us-east-1"), ExternalMeetingId: aws.String(name),
	})
	if err != nil {
		t.Fatal(err)
	}
	return &hostileMeeting{t: t, s: s, api: api, id: aws.StringValue(cm.Meeting.MeetingId),
		url: aws.StringValue(cm.Meeting.MediaPlacement.SignalingUrl)}
}

// attendee creates an attendee and returns its ID and join token.
func (m *hostileMeeting) attendee(user string) (id, token string) {
	m.t.Helper()
	a, err := m.api.CreateAttendee(&chimesdkmeetings.CreateAttendeeInput{MeetingId: aws.String(m.id), ExternalUserId: aws.String(user)})
	if err != nil {
		m.t.Fatal(err)
	}
	return aws.StringValue(a.Attendee.AttendeeId), aws.StringValue(a.Attendee.JoinToken)
}

// wsPeer is a signaling client whose goroutine reads (and counts) every
// frame, as an honest browser does.
type wsPeer struct {
	t        *testing.T
	c        *websocket.Conn
	frames   chan *protocol.SdkSignalFrame
	presence atomic.Int64 // AUDIO_STREAM_ID_INFO frames received
	done     chan struct{}
	err      error // why reading ended, after done
}

// join connects as a new attendee, joins and waits until its own presence
// entry arrives.
func (m *hostileMeeting) join(user string) *wsPeer {
	m.t.Helper()
	id, token := m.attendee(user)
	p := m.dial(token)
	deadline := time.After(10 * time.Second)
	for {
		select {
		case f, ok := <-p.frames:
			if !ok {
				m.t.Fatalf("%s: connection ended while joining: %v", user, p.err)
			}
			for _, st := range f.GetAudioStreamIdInfo().GetStreams() {
				if st.GetAttendeeId() == id {
					return p
				}
			}
		case <-deadline:
			m.t.Fatalf("%s: not joined", user)
		}
	}
}

// dial opens the WebSocket with token, sends JOIN and starts reading.
func (m *hostileMeeting) dial(token string) *wsPeer {
	m.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	p := &wsPeer{t: m.t, c: wsJoin(m.t, ctx, m.url, token), frames: make(chan *protocol.SdkSignalFrame, 1<<16), done: make(chan struct{})}
	p.c.SetReadLimit(protocol.MaxFrameSize)
	go p.readLoop()
	pinged := make(chan struct{})
	go p.keepalive(pinged)
	m.t.Cleanup(func() {
		_ = p.c.CloseNow()
		<-p.done
		<-pinged
	})
	return p
}

// keepalive PINGs every 5 s (the SDK: every 10 s), so a peer idle while
// another one attacks is not dropped for idleness.
func (p *wsPeer) keepalive(stopped chan<- struct{}) {
	defer close(stopped)
	tick := time.NewTicker(5 * time.Second)
	defer tick.Stop()
	for {
		select {
		case <-p.done:
			return
		case <-tick.C:
			f := protocol.NewFrame(protocol.SdkSignalFrame_PING_PONG, time.Now())
			f.PingPong = &protocol.SdkPingPongFrame{Type: protocol.SdkPingPongType_PING.Enum(), PingId: proto.Uint32(0)}
			_ = p.send(f)
		}
	}
}

func (p *wsPeer) readLoop() {
	defer close(p.done)
	defer close(p.frames)
	for {
		_, b, err := p.c.Read(context.Background())
		if err != nil {
			p.err = err
			return
		}
		f, err := protocol.Decode(b)
		if err != nil {
			p.err = err
			return
		}
		if f.GetType() == protocol.SdkSignalFrame_AUDIO_STREAM_ID_INFO {
			p.presence.Add(1)
		}
		select {
		case p.frames <- f:
		default: // only counted
		}
	}
}

func (p *wsPeer) send(f *protocol.SdkSignalFrame) error {
	b, err := proto.MarshalOptions{AllowPartial: true}.Marshal(f)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return p.c.Write(ctx, websocket.MessageBinary, append([]byte{protocol.FramePrefix}, b...))
}

var pingIDs atomic.Uint32

// alive sends a PING and waits for its PONG: the session is still up and
// answering. It returns false, with the close code, if the connection ends.
func (p *wsPeer) alive() (ok bool, code websocket.StatusCode) {
	p.t.Helper()
	id := pingIDs.Add(1)
	f := protocol.NewFrame(protocol.SdkSignalFrame_PING_PONG, time.Now())
	f.PingPong = &protocol.SdkPingPongFrame{Type: protocol.SdkPingPongType_PING.Enum(), PingId: proto.Uint32(id)}
	_ = p.send(f)
	deadline := time.After(15 * time.Second)
	for {
		select {
		case f, open := <-p.frames:
			if !open {
				return false, websocket.CloseStatus(p.err)
			}
			if f.GetType() == protocol.SdkSignalFrame_PING_PONG && f.GetPingPong().GetPingId() == id {
				return true, 0
			}
		case <-deadline:
			p.t.Fatal("no PONG and no close within 15 s")
		}
	}
}

// mustBeAlive fails the test unless p's session answers a PING.
func (p *wsPeer) mustBeAlive(who string) {
	p.t.Helper()
	if ok, code := p.alive(); !ok {
		p.t.Fatalf("%s: session ended (close %d, %v)", who, code, p.err)
	}
}

// nextOf waits for a frame of type typ.
func (p *wsPeer) nextOf(typ protocol.SdkSignalFrame_Type) *protocol.SdkSignalFrame {
	p.t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case f, open := <-p.frames:
			if !open {
				p.t.Fatalf("connection ended waiting for %v: %v", typ, p.err)
			}
			if f.GetType() == typ {
				return f
			}
		case <-deadline:
			p.t.Fatalf("no %v", typ)
		}
	}
}

// metrics reads the named unlabelled series (and the session panic
// counter, under "panics") from /metrics.
func metrics(t *testing.T, s *server) map[string]float64 {
	t.Helper()
	return map[string]float64{
		"go_goroutines":                 scrapeMetric(t, s, "go_goroutines"),
		"process_resident_memory_bytes": scrapeMetric(t, s, "process_resident_memory_bytes"),
		"panics":                        scrapeMetric(t, s, "confab_panics_recovered_total", `subsystem="session"`),
	}
}

// apiWorks checks the Chime API still answers.
func (m *hostileMeeting) apiWorks() {
	m.t.Helper()
	if _, err := m.api.GetMeeting(&chimesdkmeetings.GetMeetingInput{MeetingId: aws.String(m.id)}); err != nil {
		m.t.Fatalf("API after the attack: %v", err)
	}
}

// noPanics fails the test if the server contained a session panic: that
// is still a bug, only not a fatal one.
func noPanics(t *testing.T, s *server) {
	t.Helper()
	if n := metrics(t, s)["panics"]; n != 0 {
		t.Fatalf("%v session panics contained:\n%s", n, s.Log())
	}
}

// TestHostileSignalingMissingPayloads: the 10-byte SUBSCRIBE without sub
// (which killed the process) and then every frame type with its payload
// absent, and with it present but empty, after JOIN. The process survives,
// SUBSCRIBE gets SUBSCRIBE_ACK 400 and DATA_MESSAGE an error 400 (sessions
// kept), other frames lacking what they are for close that session with
// 4400, and the watching attendee's session and the API keep working.
func TestHostileSignalingMissingPayloads(t *testing.T) {
	s := startServer(t, "", noThrottle())
	m := newHostileMeeting(t, s, "hostile-payloads")
	watch := m.join("watcher")

	attacker := m.join("attacker-0")
	sub := protocol.NewFrame(protocol.SdkSignalFrame_SUBSCRIBE, time.Now())
	b, err := protocol.Encode(sub)
	if err != nil || len(b) != 10 {
		t.Fatalf("SUBSCRIBE frame: %d bytes, %v", len(b), err)
	}
	if err := attacker.send(sub); err != nil {
		t.Fatal(err)
	}
	ack := attacker.nextOf(protocol.SdkSignalFrame_SUBSCRIBE_ACK)
	if ack.GetError().GetStatus() != 400 || ack.Suback == nil {
		t.Fatalf("answer to SUBSCRIBE without sub: %v", ack)
	}
	attacker.mustBeAlive("attacker after SUBSCRIBE without sub")
	watch.mustBeAlive("watcher")
	m.apiWorks()

	closes := map[protocol.SdkSignalFrame_Type]bool{
		protocol.SdkSignalFrame_PING_PONG: true, protocol.SdkSignalFrame_AUDIO_CONTROL: true,
		protocol.SdkSignalFrame_PAUSE: true, protocol.SdkSignalFrame_RESUME: true,
		protocol.SdkSignalFrame_REMOTE_VIDEO_UPDATE: true, protocol.SdkSignalFrame_BITRATES: true,
	}
	values := protocol.SdkSignalFrame_JOIN.Descriptor().Values()
	for _, empty := range []bool{false, true} {
		for i := range values.Len() {
			typ := protocol.SdkSignalFrame_Type(values.Get(i).Number())
			if typ == protocol.SdkSignalFrame_LEAVE {
				continue // ends the session by design
			}
			who := fmt.Sprintf("%v (empty payload %v)", typ, empty)
			if attacker == nil {
				attacker = m.join(fmt.Sprintf("attacker-%d-%v", i, empty))
			}
			f := protocol.NewFrame(typ, time.Now())
			if empty {
				setEmptyPayload(f)
			}
			if err := attacker.send(f); err != nil {
				t.Fatalf("%s: %v", who, err)
			}
			switch {
			case typ == protocol.SdkSignalFrame_SUBSCRIBE:
				if a := attacker.nextOf(protocol.SdkSignalFrame_SUBSCRIBE_ACK); a.GetError().GetStatus() != 400 {
					t.Fatalf("%s: %v", who, a)
				}
			case typ == protocol.SdkSignalFrame_DATA_MESSAGE && !empty:
				if a := attacker.nextOf(protocol.SdkSignalFrame_DATA_MESSAGE); a.GetError().GetStatus() != 400 {
					t.Fatalf("%s: %v", who, a)
				}
			}
			ok, code := attacker.alive()
			switch {
			case ok && closes[typ] && !empty:
				t.Fatalf("%s: session kept", who)
			case !ok && code != 4400:
				t.Fatalf("%s: close %d, want 4400", who, code)
			case !ok && !closes[typ] && !(empty && typ == protocol.SdkSignalFrame_PING_PONG):
				t.Fatalf("%s: session closed (%d)", who, code)
			case !ok:
				attacker = nil // next type, next attendee
			}
			watch.mustBeAlive("watcher after " + who)
		}
	}
	m.apiWorks()
	noPanics(t, s)
}

// setEmptyPayload sets the payload field of f's type to an empty message.
func setEmptyPayload(f *protocol.SdkSignalFrame) {
	fm := f.ProtoReflect()
	name := strings.ToLower(f.GetType().String())
	switch f.GetType() {
	case protocol.SdkSignalFrame_SUBSCRIBE:
		name = "sub"
	case protocol.SdkSignalFrame_JOIN_ACK:
		name = "joinack"
	case protocol.SdkSignalFrame_SUBSCRIBE_ACK:
		name = "suback"
	case protocol.SdkSignalFrame_PAUSE, protocol.SdkSignalFrame_RESUME:
		name = "pause"
	}
	if fd := fm.Descriptor().Fields().ByTextName(name); fd != nil && fd.Message() != nil {
		fm.Set(fd, fm.NewField(fd))
	}
}

// TestHostileSignalingDataFlood: attackers that never read their sockets.
// One sends 1 MB DATA_MESSAGE frames of 200,000 tiny messages (which grew
// the heap to 1.9 GB): the first is refused before decoding (4400). The
// other sends frames just over and at the per-frame cap: each costs it one
// small error frame or one compact bounce, and what is relayed stays within
// the rate limits. Honest listeners stay; goroutines and RSS stay bounded.
func TestHostileSignalingDataFlood(t *testing.T) {
	s := startServer(t, "", noThrottle())
	m := newHostileMeeting(t, s, "hostile-data")
	var listeners []*wsPeer
	for i := range 5 {
		listeners = append(listeners, m.join(fmt.Sprintf("listener-%d", i)))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Second)
	defer cancel()
	attack := func(name string, frames ...[]byte) (sent int, dropped bool) {
		_, token := m.attendee(name)
		c := wsJoin(t, ctx, m.url, token) // never read
		defer c.CloseNow()
		start := time.Now()
		for i := 0; i < 200_000 && time.Since(start) < 10*time.Second; i++ {
			b := frames[i%len(frames)]
			wctx, wcancel := context.WithTimeout(ctx, 5*time.Second)
			err := c.Write(wctx, websocket.MessageBinary, b)
			wcancel()
			if errors.Is(err, context.DeadlineExceeded) {
				t.Logf("%s: the server stopped reading after %d frames, %.1f MB, in %v", name, i, float64(sent)/1e6, time.Since(start))
				return sent, false
			}
			if err != nil {
				t.Logf("%s: dropped after %d frames, %.1f MB, in %v: %v", name, i, float64(sent)/1e6, time.Since(start), err)
				return sent, true
			}
			sent += len(b)
		}
		t.Logf("%s: still connected after %.1f MB in %v", name, float64(sent)/1e6, time.Since(start))
		return sent, false
	}
	dataFrame := func(n, size int) []byte {
		f := protocol.NewFrame(protocol.SdkSignalFrame_DATA_MESSAGE, time.Now())
		f.DataMessage = &protocol.SdkDataMessageFrame{Messages: make([]*protocol.SdkDataMessagePayload, n)}
		for i := range f.DataMessage.Messages {
			f.DataMessage.Messages[i] = &protocol.SdkDataMessagePayload{Topic: proto.String("t")}
			if size > 0 {
				f.DataMessage.Messages[i].Data = make([]byte, size)
			}
		}
		b, err := protocol.Encode(f)
		if err != nil || len(b) > protocol.MaxFrameSize {
			t.Fatalf("flood frame: %d bytes, %v", len(b), err)
		}
		return b
	}
	time.Sleep(300 * time.Millisecond)
	before := metrics(t, s)

	big := dataFrame(200_000, 0)
	if _, dropped := attack("attacker-big", big); !dropped {
		t.Fatal("1 MB frames of 200,000 messages: attacker kept")
	}
	// Each of these costs the attacker one small answer, queued for it in
	// bounded bytes; the kernel's socket buffers (tens of MB on loopback)
	// take them first, so it may still be connected when this phase ends
	// (signaling/session TestSlowListenerDropped shows the drop).
	attack("attacker-capped", dataFrame(17, 8), dataFrame(16, 2048))
	time.Sleep(time.Second)
	for i, l := range listeners {
		l.mustBeAlive(fmt.Sprintf("listener %d", i))
	}
	m.apiWorks()
	after := metrics(t, s)
	t.Logf("go_goroutines %v → %v; process_resident_memory_bytes %.0f MB → %.0f MB",
		before["go_goroutines"], after["go_goroutines"],
		before["process_resident_memory_bytes"]/1e6, after["process_resident_memory_bytes"]/1e6)
	if d := after["go_goroutines"] - before["go_goroutines"]; d > 20 {
		t.Errorf("goroutines grew by %v", d)
	}
	// The race-enabled binary's RSS has a large, GC-paced slack; 1.9 GB
	// was the old growth.
	if d := after["process_resident_memory_bytes"] - before["process_resident_memory_bytes"]; d > 200e6 {
		t.Errorf("RSS grew by %.0f MB", d/1e6)
	}
	noPanics(t, s)
}

// TestHostileSignalingMuteFlood: 10,000 mute toggles from one attendee as
// fast as it can send them, with 20 honest listeners (which had 15 of them
// dropped as slow clients). The toggles reach listeners coalesced, a
// handful of frames; every listener stays connected.
func TestHostileSignalingMuteFlood(t *testing.T) {
	s := startServer(t, "", noThrottle())
	m := newHostileMeeting(t, s, "hostile-mute")
	var listeners []*wsPeer
	for i := range 20 {
		listeners = append(listeners, m.join(fmt.Sprintf("listener-%d", i)))
	}
	attacker := m.join("attacker")
	for _, l := range listeners {
		l.mustBeAlive("listener") // everything up to here read
	}
	base := make([]int64, len(listeners))
	for i, l := range listeners {
		base[i] = l.presence.Load()
	}
	before := metrics(t, s)
	start := time.Now()
	for i := range 10_000 {
		f := protocol.NewFrame(protocol.SdkSignalFrame_AUDIO_CONTROL, time.Now())
		f.AudioControl = &protocol.SdkAudioControlFrame{Muted: proto.Bool(i%2 == 0)}
		if err := attacker.send(f); err != nil {
			t.Fatalf("toggle %d: %v", i, err)
		}
	}
	attacker.mustBeAlive("attacker") // every toggle handled
	elapsed := time.Since(start)
	time.Sleep(300 * time.Millisecond) // the last coalesced flush
	// One frame per 100 ms interval at most, plus the leading one.
	most := int64(elapsed/(100*time.Millisecond)) + 3
	var wg sync.WaitGroup
	for i, l := range listeners {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if ok, code := l.alive(); !ok {
				t.Errorf("listener %d dropped (close %d, %v)", i, code, l.err)
			}
		}()
	}
	wg.Wait()
	for i, l := range listeners {
		if n := l.presence.Load() - base[i]; n > most {
			t.Errorf("listener %d got %d presence frames for 10,000 toggles in %v (max %d)", i, n, elapsed, most)
		}
	}
	after := metrics(t, s)
	t.Logf("10,000 toggles in %v; listener 0 got %d presence frames; go_goroutines %v → %v; RSS %.0f MB → %.0f MB",
		elapsed, listeners[0].presence.Load()-base[0], before["go_goroutines"], after["go_goroutines"],
		before["process_resident_memory_bytes"]/1e6, after["process_resident_memory_bytes"]/1e6)
	m.apiWorks()
	noPanics(t, s)
}

// TestHostileSignalingReconnectLoop: one attendee joins and leaves in a
// tight loop (which wrote ~730 durable events/s). Past its burst, its
// connections are refused with 4529 before joining, so joins (and their
// Joined/Left events) are bounded by the per-attendee connection rate;
// another attendee is not affected.
func TestHostileSignalingReconnectLoop(t *testing.T) {
	s := startServer(t, "", noThrottle())
	m := newHostileMeeting(t, s, "hostile-reconnect")
	watch := m.join("watcher")
	_, token := m.attendee("looper")
	joined, refused := 0, 0
	before := metrics(t, s)
	start := time.Now()
	for range 40 {
		p := m.dial(token)
		gotAck := false
	read:
		for {
			select {
			case f, ok := <-p.frames:
				if !ok {
					if gotAck {
						break read // left
					}
					if code := websocket.CloseStatus(p.err); code != 4529 {
						t.Fatalf("refused with %d (%v), want 4529", code, p.err)
					}
					refused++
					break read
				}
				if f.GetType() == protocol.SdkSignalFrame_JOIN_ACK {
					gotAck = true
					joined++
					_ = p.send(protocol.NewFrame(protocol.SdkSignalFrame_LEAVE, time.Now()))
				}
			case <-time.After(10 * time.Second):
				t.Fatalf("no JOIN_ACK and no close (joined %v)", gotAck)
			}
		}
		_ = p.c.CloseNow()
	}
	elapsed := time.Since(start)
	// Config defaults: burst 10, 0.5 connections/s.
	if most := 10 + int(elapsed.Seconds()*0.5) + 1; joined > most || refused == 0 {
		t.Fatalf("%d joins, %d refused in %v (max %d joins)", joined, refused, elapsed, most)
	}
	after := metrics(t, s)
	t.Logf("40 connections in %v: %d joined, %d refused with 4529; go_goroutines %v → %v; RSS %.0f MB → %.0f MB",
		elapsed, joined, refused, before["go_goroutines"], after["go_goroutines"],
		before["process_resident_memory_bytes"]/1e6, after["process_resident_memory_bytes"]/1e6)
	watch.mustBeAlive("watcher")
	m.apiWorks()
	noPanics(t, s)
}
