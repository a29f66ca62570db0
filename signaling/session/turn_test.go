package session

import (
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/confab-media/confab/signaling/meeting"
	"github.com/confab-media/confab/signaling/protocol"
)

// fixedTURN mints credentials naming the attendee, and records who asked.
type fixedTURN struct{ asked []meeting.Identity }

func (f *fixedTURN) Credentials(id meeting.Identity) (*protocol.SdkTurnCredentials, bool) {
	f.asked = append(f.asked, id)
	return &protocol.SdkTurnCredentials{
		Username: proto.String("1700000000:" + id.AttendeeID), Password: proto.String("pw"),
		Ttl: proto.Uint32(3600), Uris: []string{"turn:127.0.0.1:3478?transport=udp"},
	}, true
}

func TestJoinAckCarriesTURNCredentials(t *testing.T) {
	turn := &fixedTURN{}
	f := newFixture(t, func(_ *Config, p *Params) { p.TURN = turn })
	m := f.meeting("m1")
	a := f.attendee(m.MeetingId, "user-a")
	cl := f.dial(m.MeetingId, a.JoinToken)
	cl.send(joinFrame())
	ack := cl.next()
	c := ack.GetJoinack().GetTurnCredentials()
	if ack.GetType() != protocol.SdkSignalFrame_JOIN_ACK || c == nil {
		t.Fatalf("join ack = %v", ack)
	}
	if c.GetUsername() != "1700000000:"+a.AttendeeId || c.GetPassword() != "pw" || c.GetTtl() != 3600 || len(c.GetUris()) != 1 {
		t.Fatalf("turn credentials = %v", c)
	}
	if len(turn.asked) != 1 || turn.asked[0].AttendeeID != a.AttendeeId || turn.asked[0].MeetingID != m.MeetingId {
		t.Fatalf("minted for %+v", turn.asked)
	}
}
