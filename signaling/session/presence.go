package session

import (
	"slices"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/confab-media/confab/internal/guard"
	"github.com/confab-media/confab/signaling/protocol"
)

// muteAnnouncer coalesces a room's mute announcements: at most one
// AUDIO_STREAM_ID_INFO mute frame per Config.PresenceInterval, carrying
// every session whose state changed in the interval (its state at the
// flush, so a toggle within the interval costs nothing). The first change
// after a quiet interval goes out at once. The room's mu guards it.
//
// The SDK reads an entry with only audio_stream_id and muted as a mute
// change (fact sheet section 6); one frame may carry many.
type muteAnnouncer struct {
	dirty     []*Session // changed since the last flush, once each
	last      time.Time  // the last flush, on Params.Clock
	scheduled bool       // a flush timer is pending
}

// muteChangedLocked notes that s (the current session of its attendee)
// changed its mute state.
func (r *room) muteChangedLocked(s *Session) {
	a := &r.mutes
	if !slices.Contains(a.dirty, s) {
		a.dirty = append(a.dirty, s)
	}
	if a.scheduled {
		return
	}
	iv := r.h.cfg.PresenceInterval
	now := r.h.p.Clock.Now()
	if since := now.Sub(a.last); since >= iv || since < 0 {
		r.flushMutesLocked(now)
		return
	}
	// The timer's goroutine belongs to the Handler: Close waits for it. A
	// session is running (s's reader called us), so the count is positive.
	a.scheduled = true
	r.h.wg.Add(1)
	time.AfterFunc(iv-now.Sub(a.last), func() {
		defer r.h.wg.Done()
		defer guard.Recover(r.h.p.Log, r.h.p.Panics, "signaling presence flush", nil)
		r.mu.Lock()
		defer r.mu.Unlock()
		r.mutes.scheduled = false
		r.flushMutesLocked(r.h.p.Clock.Now())
	})
}

// flushMutesLocked announces the pending changes of sessions that are
// still their attendee's current one, in one frame.
func (r *room) flushMutesLocked(now time.Time) {
	a := &r.mutes
	a.last = now
	var entries []*protocol.SdkAudioStreamIdInfo
	for _, s := range a.dirty {
		if r.joined[s.ident.AttendeeID] != s || s.announced == s.muted {
			continue
		}
		s.announced = s.muted
		entries = append(entries, &protocol.SdkAudioStreamIdInfo{
			AudioStreamId: proto.Uint32(s.AudioStreamID()), Muted: proto.Bool(s.muted),
		})
	}
	clear(a.dirty)
	a.dirty = a.dirty[:0]
	if len(entries) == 0 {
		return
	}
	f := protocol.NewFrame(protocol.SdkSignalFrame_AUDIO_STREAM_ID_INFO, now)
	f.AudioStreamIdInfo = &protocol.SdkAudioStreamIdInfoFrame{Streams: entries}
	r.broadcastLocked(f, nil)
}
