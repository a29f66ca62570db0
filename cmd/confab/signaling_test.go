package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go/aws"
	"github.com/aws/aws-sdk-go/service/chimesdkmeetings"
	"github.com/coder/websocket"
	"google.golang.org/protobuf/proto"

	"github.com/confab-media/confab/signaling/protocol"
)

// wsJoin opens the signaling WebSocket at signalingURL the way the browser
// SDK does (subprotocols "_aws_wt_session", token) and sends JOIN.
func wsJoin(t *testing.T, ctx context.Context, signalingURL, token string) *websocket.Conn {
	t.Helper()
	c, _, err := websocket.Dial(ctx, signalingURL+"?X-Chime-Control-Protocol-Version=3", &websocket.DialOptions{
		Subprotocols: []string{"_aws_wt_session", token},
	})
	if err != nil {
		t.Fatal(err)
	}
	if c.Subprotocol() != "_aws_wt_session" {
		t.Fatalf("subprotocol = %q", c.Subprotocol())
	}
	join := protocol.NewFrame(protocol.SdkSignalFrame_JOIN, time.Now())
	join.Join = &protocol.SdkJoinFrame{ProtocolVersion: proto.Uint32(2), Flags: proto.Uint32(2)}
	b, err := protocol.Encode(join)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Write(ctx, websocket.MessageBinary, b); err != nil {
		t.Fatal(err)
	}
	return c
}

func wsRead(t *testing.T, ctx context.Context, c *websocket.Conn) (*protocol.SdkSignalFrame, error) {
	t.Helper()
	_, b, err := c.Read(ctx)
	if err != nil {
		return nil, err
	}
	return protocol.Decode(b)
}

// TestSignalingOverServe joins a meeting created through the API over the
// SignalingUrl the API returned, then deletes the attendee through the API
// and expects the SDK's "attendee removed" status and close.
func TestSignalingOverServe(t *testing.T) {
	s := startServer(t, "", noThrottle())
	c := s.client(testKeyID, testSecret)
	cm, err := c.CreateMeeting(&chimesdkmeetings.CreateMeetingInput{ClientRequestToken: aws.String("sig-1"), MediaRegion: aws.String("us-east-1"), ExternalMeetingId: aws.String("ext-sig")})
	if err != nil {
		t.Fatal(err)
	}
	ca, err := c.CreateAttendee(&chimesdkmeetings.CreateAttendeeInput{MeetingId: cm.Meeting.MeetingId, ExternalUserId: aws.String("user-sig")})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	url := aws.StringValue(cm.Meeting.MediaPlacement.SignalingUrl)

	ws := wsJoin(t, ctx, url, aws.StringValue(ca.Attendee.JoinToken))
	defer ws.CloseNow()
	var seen []protocol.SdkSignalFrame_Type
	selfPresent := false
	for !selfPresent {
		f, err := wsRead(t, ctx, ws)
		if err != nil {
			t.Fatalf("after %v: %v", seen, err)
		}
		seen = append(seen, f.GetType())
		for _, st := range f.GetAudioStreamIdInfo().GetStreams() {
			selfPresent = selfPresent || st.GetAttendeeId() == aws.StringValue(ca.Attendee.AttendeeId)
		}
	}
	if len(seen) < 3 || seen[0] != protocol.SdkSignalFrame_JOIN_ACK || seen[1] != protocol.SdkSignalFrame_INDEX {
		t.Fatalf("join sequence = %v", seen)
	}

	if _, err := c.DeleteAttendee(&chimesdkmeetings.DeleteAttendeeInput{MeetingId: cm.Meeting.MeetingId, AttendeeId: ca.Attendee.AttendeeId}); err != nil {
		t.Fatal(err)
	}
	status := uint32(0)
	for {
		f, err := wsRead(t, ctx, ws)
		if err != nil {
			if code := websocket.CloseStatus(err); code != 4401 {
				t.Fatalf("close = %v (%d), want 4401", err, code)
			}
			break
		}
		if f.GetType() == protocol.SdkSignalFrame_AUDIO_STATUS {
			status = f.GetAudioStatus().GetAudioStatus()
		}
	}
	if status != 411 {
		t.Fatalf("AUDIO_STATUS = %d, want 411 (attendee removed)", status)
	}

	// The revoked token is refused with the SDK's terminal bad-request code.
	ws2 := wsJoin(t, ctx, url, aws.StringValue(ca.Attendee.JoinToken))
	defer ws2.CloseNow()
	for {
		if _, err := wsRead(t, ctx, ws2); err != nil {
			if code := websocket.CloseStatus(err); code != 4401 {
				t.Fatalf("revoked token: close %v (%d), want 4401", err, code)
			}
			break
		}
	}
	for _, ev := range []string{"type=chime:AttendeeJoined", "type=chime:AttendeeDeleted", "type=chime:AttendeeLeft"} {
		if !waitLog(s, ev, 5*time.Second) {
			t.Errorf("no %s in the log", ev)
		}
	}
}

// waitLog waits until the server log contains want.
func waitLog(s *server, want string, d time.Duration) bool {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if strings.Contains(s.Log(), want) {
			return true
		}
		time.Sleep(20 * time.Millisecond)
	}
	return false
}
