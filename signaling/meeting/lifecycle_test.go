package meeting

import (
	"context"
	"fmt"
	"reflect"
	"sync"
	"testing"

	"github.com/confab-media/confab/signaling/store"
)

// lifecycleLog is a Lifecycle that records its calls.
type lifecycleLog struct {
	mu    sync.Mutex
	calls []string
}

func (l *lifecycleLog) add(s string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.calls = append(l.calls, s)
}
func (l *lifecycleLog) MeetingEnded(m string)       { l.add("ended " + m) }
func (l *lifecycleLog) AttendeeDeleted(m, a string) { l.add("deleted " + m + " " + a) }
func (l *lifecycleLog) CapabilitiesUpdated(m, a string, c Capabilities) {
	l.add(fmt.Sprintf("caps %s %s %s/%s/%s", m, a, c.Audio, c.Video, c.Content))
}

// TestObserveLifecycle: every registered Lifecycle hears, in commit order,
// UpdateAttendeeCapabilities, DeleteAttendee and the meeting's end, typed.
func TestObserveLifecycle(t *testing.T) {
	f := newFixture(t, testConfig(), store.NewMemory(), 250)
	l1, l2 := &lifecycleLog{}, &lifecycleLog{}
	f.svc.Observe(l1)
	f.svc.Observe(l2)
	ctx := context.Background()
	m := f.meeting(t, "obs", nil)
	a := f.attendee(t, m.MeetingId, "alice")
	if _, err := f.svc.UpdateAttendeeCapabilities(ctx, m.MeetingId, a.AttendeeId, &Capabilities{Audio: "Receive", Video: "None", Content: "None"}); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.DeleteAttendee(ctx, m.MeetingId, a.AttendeeId); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.EndMeeting(ctx, m.MeetingId, "test"); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"caps " + m.MeetingId + " " + a.AttendeeId + " Receive/None/None",
		"deleted " + m.MeetingId + " " + a.AttendeeId,
		"ended " + m.MeetingId,
	}
	for _, l := range []*lifecycleLog{l1, l2} {
		if !reflect.DeepEqual(l.calls, want) {
			t.Errorf("calls %q, want %q", l.calls, want)
		}
	}
}
