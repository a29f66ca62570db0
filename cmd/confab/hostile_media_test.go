package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go/aws"
	"github.com/aws/aws-sdk-go/service/chimesdkmeetings"
	"google.golang.org/protobuf/proto"

	"github.com/confab-media/confab/bench/attendee"
	"github.com/confab-media/confab/signaling/protocol"
)

// The media plane against a real `confab serve`, as an attendee with a
// valid join token would attack it, and as the Chime API's capability
// promises must hold for it.

// mediaMeeting is a meeting on a running server with helpers to add
// attendees (through the AWS SDK) and dial them in.
type mediaMeeting struct {
	t   *testing.T
	s   *server
	c   *chimesdkmeetings.ChimeSDKMeetings
	id  string
	url string
}

func newMediaMeeting(t *testing.T, s *server) *mediaMeeting {
	t.Helper()
	c := s.client(testKeyID, testSecret)
	cm, err := c.CreateMeeting(&chimesdkmeetings.CreateMeetingInput{
		ClientRequestToken: aws.String(t.Name()), MediaRegion: aws.String("us-east-1"),
		ExternalMeetingId: aws.String("ext-" + t.Name()),
	})
	if err != nil {
		t.Fatal(err)
	}
	return &mediaMeeting{t: t, s: s, c: c, id: aws.StringValue(cm.Meeting.MeetingId),
		url: aws.StringValue(cm.Meeting.MediaPlacement.SignalingUrl)}
}

// attendee creates an attendee, with caps (audio, video, content) if given.
func (m *mediaMeeting) attendee(user string, caps ...string) *chimesdkmeetings.Attendee {
	m.t.Helper()
	in := &chimesdkmeetings.CreateAttendeeInput{MeetingId: aws.String(m.id), ExternalUserId: aws.String(user)}
	if len(caps) == 3 {
		in.Capabilities = &chimesdkmeetings.AttendeeCapabilities{
			Audio: aws.String(caps[0]), Video: aws.String(caps[1]), Content: aws.String(caps[2]),
		}
	}
	out, err := m.c.CreateAttendee(in)
	if err != nil {
		m.t.Fatal(err)
	}
	return out.Attendee
}

// dial dials a synthetic attendee in with token (tone at hz, video as
// given); it is closed when the test ends.
func (m *mediaMeeting) dial(token, name string, hz float64, video attendee.VideoConfig) (*attendee.Attendee, error) {
	m.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	a, err := attendee.Dial(ctx, attendee.Config{
		SignalingURL: m.url, JoinToken: token, Name: name, ToneHz: hz, Loopback: true, Video: video,
	})
	if err == nil {
		m.t.Cleanup(func() { _ = a.Close() })
	}
	return a, err
}

func (m *mediaMeeting) mustDial(token, name string, hz float64, video attendee.VideoConfig) *attendee.Attendee {
	m.t.Helper()
	a, err := m.dial(token, name, hz, video)
	if err != nil {
		m.t.Fatalf("%s: %v", name, err)
	}
	return a
}

// setCaps calls UpdateAttendeeCapabilities through the AWS SDK.
func (m *mediaMeeting) setCaps(attendeeID, audio, video, content string) {
	m.t.Helper()
	_, err := m.c.UpdateAttendeeCapabilities(&chimesdkmeetings.UpdateAttendeeCapabilitiesInput{
		MeetingId: aws.String(m.id), AttendeeId: aws.String(attendeeID),
		Capabilities: &chimesdkmeetings.AttendeeCapabilities{
			Audio: aws.String(audio), Video: aws.String(video), Content: aws.String(content),
		},
	})
	if err != nil {
		m.t.Fatal(err)
	}
}

// mediaMetrics reads go_goroutines, process_resident_memory_bytes and the
// sfu panic counter from /metrics.
func mediaMetrics(t *testing.T, s *server) (goroutines, rss, panics float64) {
	t.Helper()
	return scrapeMetric(t, s, "go_goroutines"), scrapeMetric(t, s, "process_resident_memory_bytes"),
		scrapeMetric(t, s, "confab_panics_recovered_total", `subsystem="sfu"`)
}

// lineFloodOffer is a valid offer with an audio m-line and videos video
// m-lines (the camera's inactive, the rest recvonly VP8), compact as an
// attacker writes it.
func lineFloodOffer(videos int) string {
	var b strings.Builder
	mids := make([]string, 0, videos+1)
	for i := 0; i <= videos; i++ {
		mids = append(mids, strconv.Itoa(i))
	}
	b.WriteString("v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n")
	b.WriteString("a=group:BUNDLE " + strings.Join(mids, " ") + "\r\n")
	b.WriteString("a=ice-ufrag:abcd\r\na=ice-pwd:abcdefghijklmnopqrstuvwx\r\n")
	b.WriteString("a=fingerprint:sha-256 " + strings.TrimSuffix(strings.Repeat("AB:", 32), ":") + "\r\na=setup:actpass\r\n")
	b.WriteString("m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\na=sendrecv\r\na=rtcp-mux\r\na=rtpmap:111 opus/48000/2\r\n")
	for i := 1; i <= videos; i++ {
		dir := "recvonly"
		if i == 1 {
			dir = "inactive"
		}
		fmt.Fprintf(&b, "m=video 9 UDP/TLS/RTP/SAVPF 96\r\nc=IN IP4 0.0.0.0\r\na=mid:%d\r\na=%s\r\na=rtcp-mux\r\na=rtpmap:96 VP8/90000\r\n", i, dir)
	}
	return b.String()
}

// TestHostileMediaLineFlood: an attendee SUBSCRIBEs with 1,000 video
// m-lines, every one asking for a live camera. Before: SUBSCRIBE_ACK with
// 998 tracks and ~1,000 new goroutines (a track, sender and RTCP reader
// per line). Now: SUBSCRIBE_ACK 400 naming the m-line cap, before any
// transceiver exists; go_goroutines stays flat.
func TestHostileMediaLineFlood(t *testing.T) {
	s := startServer(t, "", noThrottle())
	m := newMediaMeeting(t, s)
	cam := m.mustDial(aws.StringValue(m.attendee("camera").JoinToken), "camera", 0, attendee.VideoConfig{Layers: 1})
	if len(cam.AllocatedStreams()) != 1 {
		t.Fatalf("camera allocations %v", cam.Allocations())
	}
	stream := cam.AllocatedStreams()[0]

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	sig, err := attendee.DialSignaling(ctx, m.url, aws.StringValue(m.attendee("attacker").JoinToken))
	if err != nil {
		t.Fatal(err)
	}
	defer sig.Close()
	if _, err := sig.Join(ctx); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond)
	g0, rss0, _ := mediaMetrics(t, s)

	ids := make([]uint32, 1001)
	for i := 1; i < len(ids); i++ {
		ids[i] = stream
	}
	fr := protocol.NewFrame(protocol.SdkSignalFrame_SUBSCRIBE, time.Now())
	fr.Sub = &protocol.SdkSubscribeFrame{Duplex: protocol.SdkStreamServiceType_DUPLEX.Enum(),
		SdpOffer: proto.String(lineFloodOffer(1000)), ReceiveStreamIds: ids}
	if err := sig.Send(ctx, fr); err != nil {
		t.Fatal(err)
	}
	ack, err := sig.Next(ctx, protocol.SdkSignalFrame_SUBSCRIBE_ACK)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("SUBSCRIBE_ACK: error %v, %d tracks", ack.GetError(), len(ack.GetSuback().GetTracks()))
	if ack.GetError().GetStatus() != 400 || !strings.Contains(ack.GetError().GetDescription(), "m-lines") {
		t.Errorf("1,000 m-lines: error %v with %d tracks, want SUBSCRIBE_ACK 400 about m-lines",
			ack.GetError(), len(ack.GetSuback().GetTracks()))
	}
	time.Sleep(500 * time.Millisecond)
	g1, rss1, _ := mediaMetrics(t, s)
	t.Logf("go_goroutines %.0f → %.0f, process_resident_memory_bytes %.1f MB → %.1f MB", g0, g1, rss0/1e6, rss1/1e6)
	if g1-g0 > 30 {
		t.Errorf("go_goroutines %.0f → %.0f after one refused SUBSCRIBE", g0, g1)
	}
}

// toneDB is the level of hz in the last 400 ms a received.
func toneDB(a *attendee.Attendee, hz float64) float64 { return a.ToneDB(400*time.Millisecond, hz) }

// TestHostileMediaCapabilities: what UpdateAttendeeCapabilities and
// CreateAttendee's Capabilities promise, the media plane enforces. Before:
// stored only. Now: Audio Receive takes the attendee out of everyone's mix
// within 1 s of the API call (and SendReceive brings it back); a camera of
// a Video None attendee gets no allocation and is listed nowhere; a content
// share of a Content None attendee is refused with SUBSCRIBE_ACK 400.
func TestHostileMediaCapabilities(t *testing.T) {
	s := startServer(t, "", noThrottle())
	m := newMediaMeeting(t, s)
	talker := m.attendee("talker")
	a := m.mustDial(aws.StringValue(talker.JoinToken), "talker", 400, attendee.VideoConfig{})
	listener := m.mustDial(aws.StringValue(m.attendee("listener").JoinToken), "listener", 700, attendee.VideoConfig{})
	deadline := time.Now().Add(15 * time.Second)
	for toneDB(listener, 400)-toneDB(listener, 700) < 20 {
		if time.Now().After(deadline) {
			t.Fatalf("listener never heard the talker: 400 Hz %.1f dB, own 700 Hz %.1f dB", toneDB(listener, 400), toneDB(listener, 700))
		}
		time.Sleep(50 * time.Millisecond)
	}
	heard := toneDB(listener, 400)

	start := time.Now()
	m.setCaps(aws.StringValue(talker.AttendeeId), "Receive", "SendReceive", "SendReceive")
	for toneDB(listener, 400) > heard-30 {
		if time.Since(start) > time.Second {
			t.Fatalf("Audio Receive: the listener still hears the talker at %.1f dB (was %.1f dB) 1 s after the API call",
				toneDB(listener, 400), heard)
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("Audio Receive: talker left the mix %v after the API call was sent (%.1f dB → %.1f dB)",
		time.Since(start).Round(time.Millisecond), heard, toneDB(listener, 400))
	if d := toneDB(a, 700) - toneDB(a, 400); d < 20 {
		t.Errorf("the Audio Receive talker should still hear the listener (%.1f dB over its own tone)", d)
	}
	start = time.Now()
	m.setCaps(aws.StringValue(talker.AttendeeId), "SendReceive", "SendReceive", "SendReceive")
	for toneDB(listener, 400) < heard-10 {
		if time.Since(start) > 2*time.Second {
			t.Fatalf("SendReceive again: listener hears the talker at %.1f dB", toneDB(listener, 400))
		}
		time.Sleep(20 * time.Millisecond)
	}

	// Video None from CreateAttendee: the camera gets no allocation, and
	// the listener's INDEX never lists it.
	blind := m.attendee("no-video", "SendReceive", "None", "None")
	cam := m.mustDial(aws.StringValue(blind.JoinToken), "no-video", 0, attendee.VideoConfig{Layers: 1})
	if al := cam.Allocations(); len(al) != 0 {
		t.Errorf("SUBSCRIBE of a Video None attendee got allocations %v", al)
	}
	for end := time.Now().Add(1500 * time.Millisecond); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
		for _, src := range listener.Index().GetSources() {
			if src.GetAttendeeId() == aws.StringValue(blind.AttendeeId) {
				t.Fatalf("the listener's INDEX lists the Video None camera: %v", src)
			}
		}
	}

	// Content None: its content share is refused.
	_, err := m.dial(aws.StringValue(blind.JoinToken)+"#content", "no-video#content", 0,
		attendee.VideoConfig{Layers: 2, Content: true})
	if err == nil || !strings.Contains(err.Error(), "400") {
		t.Errorf("content share of a Content None attendee: %v, want SUBSCRIBE_ACK 400", err)
	}
	g, rss, panics := mediaMetrics(t, s)
	t.Logf("go_goroutines %.0f, process_resident_memory_bytes %.1f MB, sfu panics %.0f", g, rss/1e6, panics)
}
