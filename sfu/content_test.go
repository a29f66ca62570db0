package sfu

import (
	"testing"
	"time"

	"github.com/confab-media/confab/bench/attendee"
)

// TestContentShareAudioInMix: a content-share session (token "<token>#content")
// joins as its own attendee "<AttendeeId>#content"; its audio goes into the
// mix, so the owner and the others hear it, and it hears the others but not
// itself.
func TestContentShareAudioInMix(t *testing.T) {
	checkNoLeaks(t)
	f := newFixture(t)
	mid := f.meeting()
	owner := f.attendee(mid, "presenter")
	at, err := attendee.Dial(within(t), attendee.Config{
		SignalingURL: f.signalingURL(mid), JoinToken: owner.JoinToken, Name: "presenter",
		ToneHz: 450, Loopback: true, Log: testLog(),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = at.Close() })
	content, err := attendee.Dial(within(t), attendee.Config{
		SignalingURL: f.signalingURL(mid), JoinToken: owner.JoinToken + "#content", Name: "presenter#content",
		ToneHz: 1250, Loopback: true, Log: testLog(),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = content.Close() })
	viewer := f.join(mid, "viewer", 800)

	eventually(t, "content present", func() bool {
		for _, p := range viewer.Presence() {
			if p.AttendeeID == owner.AttendeeId+"#content" {
				return true
			}
		}
		return false
	})
	time.Sleep(3 * time.Second) // let the jitter buffers fill and the tones play
	checkHearing(t, "viewer", viewer.Attendee, 800, 450, 1250)
	checkHearing(t, "presenter", at, 450, 800, 1250)
	checkHearing(t, "content", content, 1250, 450, 800)
}
