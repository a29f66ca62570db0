package main

import (
	"encoding/json"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go/aws"
	"github.com/aws/aws-sdk-go/service/chimesdkmeetings"
	pionturn "github.com/pion/turn/v4"
)

// turnCreds is the TurnControlUrl answer.
type turnCreds struct {
	Username string   `json:"username"`
	Password string   `json:"password"`
	TTL      int      `json:"ttl"`
	URIs     []string `json:"uris"`
}

// turnControlCall POSTs to a meeting's TurnControlUrl as SDKs 3.0–3.19 do.
func turnControlCall(t *testing.T, controlURL, token, meetingID string) (int, turnCreds) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, controlURL+"?X-Amzn-Version=3.19.0", strings.NewReader(`{"meetingId":"`+meetingID+`"}`))
	req.Header.Set("X-Chime-Auth-Token", "_aws_wt_session="+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var c turnCreds
	if resp.StatusCode == http.StatusOK {
		if err := json.NewDecoder(resp.Body).Decode(&c); err != nil {
			t.Fatal(err)
		}
	}
	return resp.StatusCode, c
}

// allocate makes a TURN allocation over UDP with c's credentials at the
// turn: URI's address, and returns the relayed conn (closed with the test).
func allocate(t *testing.T, c turnCreds) (net.PacketConn, error) {
	t.Helper()
	var addr string
	for _, u := range c.URIs {
		if rest, ok := strings.CutPrefix(u, "turn:"); ok && strings.HasSuffix(rest, "?transport=udp") {
			addr = strings.TrimSuffix(rest, "?transport=udp")
		}
	}
	if addr == "" {
		t.Fatalf("no turn:…?transport=udp URI in %v", c.URIs)
	}
	conn, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cl, err := pionturn.NewClient(&pionturn.ClientConfig{
		STUNServerAddr: addr, TURNServerAddr: addr, Conn: conn,
		Username: c.Username, Password: c.Password, Realm: "confab",
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cl.Close(); conn.Close() })
	if err := cl.Listen(); err != nil {
		t.Fatal(err)
	}
	relay, err := cl.Allocate()
	if err == nil {
		t.Cleanup(func() { relay.Close() })
	}
	return relay, err
}

// TestTURNOverServe checks the relay as `confab serve` runs it: the
// TurnControlUrl mints working credentials for a join token (403 for a bad
// token, 404 once the meeting ended), an allocation with them succeeds, a
// permission towards an address that is not a media group's is refused, and
// deleting the attendee kills its credentials.
func TestTURNOverServe(t *testing.T) {
	s := startServer(t, "", noThrottle())
	c := s.client(testKeyID, testSecret)
	cm, err := c.CreateMeeting(&chimesdkmeetings.CreateMeetingInput{
		ClientRequestToken: aws.String("turn-1"), MediaRegion: aws.String("us-east-1"), ExternalMeetingId: aws.String("turn-1"),
	})
	if err != nil {
		t.Fatal(err)
	}
	m := cm.Meeting
	ca, err := c.CreateAttendee(&chimesdkmeetings.CreateAttendeeInput{MeetingId: m.MeetingId, ExternalUserId: aws.String("turn-user")})
	if err != nil {
		t.Fatal(err)
	}
	control := aws.StringValue(m.MediaPlacement.TurnControlUrl)
	if u, err := url.Parse(control); err != nil || !strings.HasPrefix(control, s.Endpoint) || u.Path != "/v2/turn_sessions" {
		t.Fatalf("TurnControlUrl = %q", control)
	}
	token := aws.StringValue(ca.Attendee.JoinToken)

	if code, _ := turnControlCall(t, control, "not-a-token", aws.StringValue(m.MeetingId)); code != http.StatusForbidden {
		t.Fatalf("bad token: status %d, want 403", code)
	}
	code, creds := turnControlCall(t, control, token, aws.StringValue(m.MeetingId))
	if code != http.StatusOK || !strings.HasSuffix(creds.Username, ":"+aws.StringValue(ca.Attendee.AttendeeId)) ||
		creds.Password == "" || creds.TTL <= 0 || len(creds.URIs) < 2 {
		t.Fatalf("turn control: %d %+v", code, creds)
	}

	relay, err := allocate(t, creds)
	if err != nil {
		t.Fatalf("allocate with minted credentials: %v", err)
	}
	// 10.0.0.1 is a private peer and no media group's: CreatePermission
	// is refused (pion's client creates it on the first write).
	if _, err := relay.WriteTo([]byte("x"), &net.UDPAddr{IP: net.IPv4(10, 0, 0, 1), Port: 9}); err == nil {
		t.Fatal("permission to 10.0.0.1 was granted")
	} else if !strings.Contains(err.Error(), "403") && !strings.Contains(strings.ToLower(err.Error()), "forbidden") {
		t.Fatalf("permission to 10.0.0.1 refused with %q, want 403 Forbidden", err)
	}

	bogus := creds
	bogus.Password = "AAAA" + creds.Password[4:]
	if _, err := allocate(t, bogus); err == nil {
		t.Fatal("allocation with a wrong password succeeded")
	}

	if _, err := c.DeleteAttendee(&chimesdkmeetings.DeleteAttendeeInput{MeetingId: m.MeetingId, AttendeeId: ca.Attendee.AttendeeId}); err != nil {
		t.Fatal(err)
	}
	if _, err := allocate(t, creds); err == nil {
		t.Fatal("allocation after DeleteAttendee succeeded")
	}

	if _, err := c.DeleteMeeting(&chimesdkmeetings.DeleteMeetingInput{MeetingId: m.MeetingId}); err != nil {
		t.Fatal(err)
	}
	ca2, err := c.CreateMeeting(&chimesdkmeetings.CreateMeetingInput{
		ClientRequestToken: aws.String("turn-2"), MediaRegion: aws.String("us-east-1"), ExternalMeetingId: aws.String("turn-2"),
	})
	if err != nil {
		t.Fatal(err)
	}
	a2, err := c.CreateAttendee(&chimesdkmeetings.CreateAttendeeInput{MeetingId: ca2.Meeting.MeetingId, ExternalUserId: aws.String("u2")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.DeleteMeeting(&chimesdkmeetings.DeleteMeetingInput{MeetingId: ca2.Meeting.MeetingId}); err != nil {
		t.Fatal(err)
	}
	if code, _ := turnControlCall(t, control, aws.StringValue(a2.Attendee.JoinToken), aws.StringValue(ca2.Meeting.MeetingId)); code != http.StatusNotFound {
		t.Fatalf("ended meeting: status %d, want 404", code)
	}
}
