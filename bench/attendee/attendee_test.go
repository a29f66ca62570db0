package attendee

import (
	"context"
	"errors"
	"math"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"google.golang.org/protobuf/proto"

	"github.com/confab-media/confab/signaling/protocol"
)

func sine(n int, hz, amp float64) []int16 {
	pcm := make([]int16, n)
	for i := range pcm {
		pcm[i] = int16(amp * math.Sin(2*math.Pi*hz*float64(i)/SampleRate))
	}
	return pcm
}

func TestGoertzel(t *testing.T) {
	pcm := sine(SampleRate, 440, 8000)
	if p, want := Goertzel(pcm, 440), 8000.0*8000/2; math.Abs(p-want)/want > 0.01 {
		t.Errorf("power at 440 Hz = %.0f, want ≈ %.0f", p, want)
	}
	if d := DB(Goertzel(pcm, 440)) - DB(Goertzel(pcm, 1000)); d < 40 {
		t.Errorf("440 Hz only %.1f dB over 1000 Hz", d)
	}
	if Goertzel(nil, 440) != 0 {
		t.Error("power of nothing")
	}
	// Split at any point, goertzel2 equals Goertzel.
	if a, b := Goertzel(pcm, 440), goertzel2(pcm[:1234], pcm[1234:], 440); math.Abs(a-b) > 1e-6*a {
		t.Errorf("goertzel2 %v, Goertzel %v", b, a)
	}
}

func TestAudioLevel(t *testing.T) {
	for _, c := range []struct {
		pcm  []int16
		want uint8
	}{
		{make([]int16, FrameSamples), 127},
		{sine(FrameSamples, 1000, toneAmplitude), 15}, // 8000/√2 RMS: -15.2 dBov
		{sine(FrameSamples, 1000, 32767), 3},
		{sine(FrameSamples, 1000, 100), 53},
	} {
		if got := audioLevel(c.pcm); got != c.want {
			t.Errorf("level = %d, want %d", got, c.want)
		}
	}
}

func TestPCMRing(t *testing.T) {
	r := pcmRing{buf: make([]int16, 10)}
	var all []int16
	next := int16(0)
	for _, n := range []int{3, 4, 0, 5, 10, 2, 13, 1} {
		chunk := make([]int16, n)
		for i := range chunk {
			chunk[i] = next
			next++
		}
		r.write(chunk)
		all = append(all, chunk...)
		for _, k := range []int{0, 1, 5, 10, 20} {
			got := r.appendLast([]int16{-1}, k)
			want := append([]int16{-1}, all[len(all)-min(k, len(all), 10):]...)
			if !slices.Equal(got, want) {
				t.Fatalf("after %d samples, last %d: %v, want %v", len(all), k, got, want)
			}
		}
	}
	if (&pcmRing{}).appendLast(nil, 5) != nil {
		t.Error("empty ring returned samples")
	}
}

func TestTimeRing(t *testing.T) {
	r := timeRing{buf: make([]time.Time, 4)}
	t0 := time.Now()
	for i := range 6 {
		r.add(t0.Add(time.Duration(i) * time.Second))
	}
	for _, c := range []struct {
		since time.Duration
		want  int
	}{{-time.Second, 4}, {1500 * time.Millisecond, 4}, {3 * time.Second, 2}, {5 * time.Second, 0}} {
		if got := r.countSince(t0.Add(c.since)); got != c.want {
			t.Errorf("since %v: %d, want %d", c.since, got, c.want)
		}
	}
}

func frame(typ protocol.SdkSignalFrame_Type) *protocol.SdkSignalFrame {
	return protocol.NewFrame(typ, time.Now())
}

func TestHandleFrame(t *testing.T) {
	a := &Attendee{presence: map[uint32]Participant{}}
	info := func(s ...*protocol.SdkAudioStreamIdInfo) *protocol.SdkSignalFrame {
		f := frame(protocol.SdkSignalFrame_AUDIO_STREAM_ID_INFO)
		f.AudioStreamIdInfo = &protocol.SdkAudioStreamIdInfoFrame{Streams: s}
		return f
	}
	a.handleFrame(info(
		&protocol.SdkAudioStreamIdInfo{AudioStreamId: proto.Uint32(2), AttendeeId: proto.String("b"), ExternalUserId: proto.String("bob"), Muted: proto.Bool(false)},
		&protocol.SdkAudioStreamIdInfo{AudioStreamId: proto.Uint32(1), AttendeeId: proto.String("a"), ExternalUserId: proto.String("alice"), Muted: proto.Bool(false)},
		&protocol.SdkAudioStreamIdInfo{AudioStreamId: proto.Uint32(3), AttendeeId: proto.String("c"), ExternalUserId: proto.String("carol")},
	))
	a.handleFrame(info(&protocol.SdkAudioStreamIdInfo{AudioStreamId: proto.Uint32(2), Muted: proto.Bool(true)}))
	a.handleFrame(info(&protocol.SdkAudioStreamIdInfo{AudioStreamId: proto.Uint32(3), Dropped: proto.Bool(true)}))
	got := a.Presence()
	want := []Participant{{"a", "alice", 1, false}, {"b", "bob", 2, true}}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("presence %+v, want %+v", got, want)
	}
	a.handleFrame(info(&protocol.SdkAudioStreamIdInfo{AudioStreamId: proto.Uint32(1)})) // left
	if p := a.Presence(); len(p) != 1 || p[0].AttendeeID != "b" {
		t.Errorf("after a left: %+v", p)
	}

	md := frame(protocol.SdkSignalFrame_AUDIO_METADATA)
	md.AudioMetadata = &protocol.SdkAudioMetadataFrame{AttendeeStates: []*protocol.SdkAudioAttendeeState{
		{AudioStreamId: proto.Uint32(2), Volume: proto.Uint32(20), SignalStrength: proto.Uint32(2)},
		{AudioStreamId: proto.Uint32(9), Volume: proto.Uint32(42)},
	}}
	a.handleFrame(md)
	if v := a.Volumes(); len(v) != 2 || v[0] != (Volume{AttendeeID: "b", StreamID: 2, Volume: 20, SignalStrength: 2}) ||
		v[1] != (Volume{StreamID: 9, Volume: 42}) {
		t.Errorf("volumes %+v", v)
	}

	dm := frame(protocol.SdkSignalFrame_DATA_MESSAGE)
	dm.DataMessage = &protocol.SdkDataMessageFrame{Messages: []*protocol.SdkDataMessagePayload{{
		Topic: proto.String("chat"), Data: []byte("hi"), LifetimeMs: proto.Uint32(1500),
		SenderAttendeeId: proto.String("b"), SenderExternalUserId: proto.String("bob"), IngestTimeNs: proto.Int64(256),
	}}}
	a.handleFrame(dm)
	bad := frame(protocol.SdkSignalFrame_DATA_MESSAGE)
	bad.Error = &protocol.SdkErrorFrame{Status: proto.Uint32(400)}
	a.handleFrame(bad)
	msgs := a.DataMessages()
	if len(msgs) != 1 || msgs[0].Topic != "chat" || string(msgs[0].Data) != "hi" || msgs[0].Lifetime != 1500*time.Millisecond ||
		msgs[0].SenderAttendeeID != "b" || msgs[0].SenderExternalUserID != "bob" || msgs[0].IngestTimeNs != 256 || msgs[0].Received.IsZero() {
		t.Errorf("data messages %+v", msgs)
	}
	if a.DataErrors() != 1 {
		t.Errorf("data errors %d, want 1", a.DataErrors())
	}
}

// fakeServer answers JOIN with JOIN_ACK, INDEX and AUDIO_STREAM_ID_INFO,
// PING with PONG and LEAVE with LEAVE_ACK and a close; it records the
// subprotocols offered.
func fakeServer(t *testing.T) (url string, protos chan []string) {
	protos = make(chan []string, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		protos <- strings.Split(strings.ReplaceAll(r.Header.Get("Sec-WebSocket-Protocol"), " ", ""), ",")
		c, err := websocket.Accept(w, r, &websocket.AcceptOptions{Subprotocols: []string{Subprotocol}})
		if err != nil {
			return
		}
		defer c.CloseNow()
		ctx := r.Context()
		write := func(f *protocol.SdkSignalFrame) {
			b, err := protocol.Encode(f)
			if err != nil {
				t.Error(err)
				return
			}
			_ = c.Write(ctx, websocket.MessageBinary, b)
		}
		for {
			_, b, err := c.Read(ctx)
			if err != nil {
				return
			}
			f, err := protocol.Decode(b)
			if err != nil {
				t.Errorf("client sent a bad frame: %v", err)
				return
			}
			switch f.GetType() {
			case protocol.SdkSignalFrame_JOIN:
				if f.GetJoin().GetProtocolVersion() != 2 || f.GetJoin().GetFlags()&uint32(protocol.SdkJoinFlags_HAS_STREAM_UPDATE) == 0 {
					t.Errorf("JOIN %v", f.GetJoin())
				}
				ack := frame(protocol.SdkSignalFrame_JOIN_ACK)
				ack.Joinack = &protocol.SdkJoinAckFrame{}
				idx := frame(protocol.SdkSignalFrame_INDEX)
				idx.Index = &protocol.SdkIndexFrame{}
				info := frame(protocol.SdkSignalFrame_AUDIO_STREAM_ID_INFO)
				info.AudioStreamIdInfo = &protocol.SdkAudioStreamIdInfoFrame{}
				write(frame(protocol.SdkSignalFrame_AUDIO_METADATA)) // skipped by Next
				write(ack)
				write(idx)
				write(info)
			case protocol.SdkSignalFrame_PING_PONG:
				p := frame(protocol.SdkSignalFrame_PING_PONG)
				p.PingPong = &protocol.SdkPingPongFrame{Type: protocol.SdkPingPongType_PONG.Enum(), PingId: proto.Uint32(f.GetPingPong().GetPingId())}
				write(p)
			case protocol.SdkSignalFrame_LEAVE:
				write(frame(protocol.SdkSignalFrame_LEAVE_ACK))
				_ = c.Close(websocket.StatusNormalClosure, "left")
				return
			}
		}
	}))
	t.Cleanup(srv.Close)
	return "ws" + strings.TrimPrefix(srv.URL, "http"), protos
}

func TestSignaling(t *testing.T) {
	url, protos := fakeServer(t)
	base := runtime.NumGoroutine() // the server's included
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	s, err := DialSignaling(ctx, url, "tok")
	if err != nil {
		t.Fatal(err)
	}
	if p := <-protos; len(p) != 2 || p[0] != Subprotocol || p[1] != "tok" {
		t.Errorf("subprotocols %q", p)
	}
	if _, err := s.Join(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Next(ctx, protocol.SdkSignalFrame_AUDIO_STREAM_ID_INFO); err != nil {
		t.Fatal(err)
	}
	// Next consumed the AUDIO_METADATA before JOIN_ACK; it was still counted.
	if n := s.Count(protocol.SdkSignalFrame_AUDIO_METADATA); n != 1 {
		t.Errorf("%d AUDIO_METADATA counted", n)
	}
	short, cancelShort := context.WithTimeout(ctx, 50*time.Millisecond)
	_, err = s.Next(short, protocol.SdkSignalFrame_AUDIO_METADATA)
	cancelShort()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Next of a consumed frame: %v", err)
	}

	ping := frame(protocol.SdkSignalFrame_PING_PONG)
	ping.PingPong = &protocol.SdkPingPongFrame{Type: protocol.SdkPingPongType_PING.Enum(), PingId: proto.Uint32(7)}
	if err := s.Send(ctx, ping); err != nil {
		t.Fatal(err)
	}
	if pong, err := s.Next(ctx, protocol.SdkSignalFrame_PING_PONG); err != nil || pong.GetPingPong().GetPingId() != 7 {
		t.Fatalf("pong %v, %v", pong, err)
	}

	if err := s.Send(ctx, frame(protocol.SdkSignalFrame_LEAVE)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Next(ctx, protocol.SdkSignalFrame_LEAVE_ACK); err != nil {
		t.Fatal(err)
	}
	select {
	case <-s.Done():
	case <-ctx.Done():
		t.Fatal("socket not closed after LEAVE_ACK")
	}
	if websocket.CloseStatus(s.Err()) != websocket.StatusNormalClosure {
		t.Errorf("Err() = %v", s.Err())
	}
	if _, err := s.Next(ctx, protocol.SdkSignalFrame_INDEX); err == nil {
		t.Error("Next on a closed socket succeeded")
	}
	if err := s.Close(); err != nil {
		t.Error(err)
	}
	_ = s.Close() // idempotent
	if err := s.Send(ctx, frame(protocol.SdkSignalFrame_LEAVE)); err == nil {
		t.Error("Send after Close succeeded")
	}
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > base && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > base {
		t.Errorf("%d goroutines after Close, %d before", n, base)
	}
}

func TestDialErrors(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if _, err := Dial(ctx, Config{}); err == nil {
		t.Error("Dial without URL and token succeeded")
	}
	srv := httptest.NewServer(http.NotFoundHandler())
	defer srv.Close()
	if _, err := Dial(ctx, Config{SignalingURL: "ws" + strings.TrimPrefix(srv.URL, "http"), JoinToken: "x", Loopback: true}); err == nil {
		t.Error("Dial to a non-WebSocket server succeeded")
	}
}
