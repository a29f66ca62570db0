package session

import (
	"fmt"
	"regexp"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/confab-media/confab/signaling/protocol"
)

// Data-message rules the SDK enforces before sending (fact sheet section 7),
// enforced again here. lifetime_ms ≥ 0 holds by its type (uint32).
var topicPattern = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,36}$`)

const maxDataBytes = 2048

// ingestStep keeps successive ingest times distinct for the browser, which
// holds int64 as a double (exact only below 2^53: ~now in ns is exact only
// to 256 ns). Ingest times are multiples of it.
const ingestStep = 256

type keptMessage struct {
	msg     *protocol.SdkDataMessagePayload
	expires time.Time
}

// dataState is a room's data-message state; the room's mu guards it.
type dataState struct {
	cfg        Config
	meeting    bucket
	attendees  map[string]*bucket
	lastIngest int64
	kept       []keptMessage // oldest first
}

func newDataState(cfg Config) dataState {
	return dataState{
		cfg:       cfg,
		meeting:   bucket{rate: cfg.MeetingDataRate, burst: cfg.MeetingDataBurst},
		attendees: map[string]*bucket{},
	}
}

// dataMessages checks, stamps, throttles, keeps and relays the messages s
// sent. A frame of more than Config.DataMessagesPerFrame messages is
// refused whole, and a refused message costs the frame, at most one error
// frame (status 400; the session stays). Throttled messages cost one
// compact bounce per frame: the first of them comes back to the sender
// alone with ingest_time_ns 0 (the SDK reports it throttled), the others
// are dropped. The rest go to every other joined session, never back, as
// best-effort frames: a listener with half its byte cap queued skips them.
func (r *room) dataMessages(s *Session, msgs []*protocol.SdkDataMessagePayload) {
	if limit := r.h.cfg.DataMessagesPerFrame; len(msgs) > limit {
		s.enqueueFrame(s.errorFrame(protocol.SdkSignalFrame_DATA_MESSAGE, statusBadRequest,
			fmt.Sprintf("more than %d data messages in one frame", limit)))
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.h.p.Clock.Now()
	var relay []*protocol.SdkDataMessagePayload
	var bounce *protocol.SdkDataMessagePayload
	var refused string
	for _, m := range msgs {
		if reason := checkDataMessage(m); reason != "" {
			refused = reason
			continue
		}
		if !r.data.allowLocked(s.ident.AttendeeID, now) {
			if bounce == nil {
				bounce = s.dataPayload(m)
				bounce.IngestTimeNs = proto.Int64(0)
			}
			continue
		}
		out := s.dataPayload(m)
		out.IngestTimeNs = proto.Int64(r.data.ingestLocked(now))
		relay = append(relay, out)
		if m.GetLifetimeMs() > 0 {
			r.data.keepLocked(out, now)
		}
	}
	if refused != "" {
		s.enqueueFrame(s.errorFrame(protocol.SdkSignalFrame_DATA_MESSAGE, statusBadRequest, refused))
	}
	if bounce != nil {
		f := s.frame(protocol.SdkSignalFrame_DATA_MESSAGE)
		f.DataMessage = &protocol.SdkDataMessageFrame{Messages: []*protocol.SdkDataMessagePayload{bounce}}
		s.enqueueFrame(f)
	}
	if len(relay) > 0 {
		f := s.frame(protocol.SdkSignalFrame_DATA_MESSAGE)
		f.DataMessage = &protocol.SdkDataMessageFrame{Messages: relay}
		r.offerLocked(f, s) // a listener far behind skips it (Session.offer)
	}
}

// dataPayload is m as relayed: its topic, data and lifetime, stamped with
// s's sender IDs (ingest time left to the caller).
func (s *Session) dataPayload(m *protocol.SdkDataMessagePayload) *protocol.SdkDataMessagePayload {
	return &protocol.SdkDataMessagePayload{
		Topic:                proto.String(m.GetTopic()),
		Data:                 m.GetData(),
		LifetimeMs:           proto.Uint32(m.GetLifetimeMs()),
		SenderAttendeeId:     proto.String(s.ident.AttendeeID),
		SenderExternalUserId: proto.String(s.ident.ExternalUserID),
	}
}

func checkDataMessage(m *protocol.SdkDataMessagePayload) string {
	switch {
	case !topicPattern.MatchString(m.GetTopic()):
		return "invalid data message topic"
	case len(m.GetData()) > maxDataBytes:
		return "data message larger than 2048 bytes"
	}
	return ""
}

// allowLocked takes one token from both the attendee's and the meeting's
// bucket, or none if either is empty.
func (d *dataState) allowLocked(attendeeID string, now time.Time) bool {
	a := d.attendees[attendeeID]
	if a == nil {
		a = &bucket{rate: d.cfg.AttendeeDataRate, burst: d.cfg.AttendeeDataBurst}
		d.attendees[attendeeID] = a
	}
	a.fill(now)
	d.meeting.fill(now)
	if a.tokens < 1 || d.meeting.tokens < 1 {
		return false
	}
	a.tokens--
	d.meeting.tokens--
	return true
}

// ingestLocked returns a non-zero ingest time for a message at now, a
// multiple of ingestStep and greater than every earlier one.
func (d *dataState) ingestLocked(now time.Time) int64 {
	t := (now.UnixNano() + ingestStep - 1) / ingestStep * ingestStep
	if t < d.lastIngest+ingestStep {
		t = d.lastIngest + ingestStep
	}
	d.lastIngest = t
	return t
}

// keepLocked retains m for late joiners until its lifetime (at most
// DataRetention) ends, dropping the oldest beyond DataRetainedMax.
func (d *dataState) keepLocked(m *protocol.SdkDataMessagePayload, now time.Time) {
	d.pruneLocked(now)
	life := min(time.Duration(m.GetLifetimeMs())*time.Millisecond, d.cfg.DataRetention)
	if len(d.kept) >= d.cfg.DataRetainedMax {
		d.kept = append(d.kept[:0], d.kept[len(d.kept)-d.cfg.DataRetainedMax+1:]...)
	}
	d.kept = append(d.kept, keptMessage{msg: m, expires: now.Add(life)})
}

// replayLocked returns the unexpired kept messages not sent by attendeeID,
// oldest first.
func (d *dataState) replayLocked(now time.Time, attendeeID string) []*protocol.SdkDataMessagePayload {
	d.pruneLocked(now)
	var out []*protocol.SdkDataMessagePayload
	for _, k := range d.kept {
		if k.msg.GetSenderAttendeeId() != attendeeID {
			out = append(out, k.msg)
		}
	}
	return out
}

// keepsLocked reports whether messages are still kept at now (the room must
// outlive its sessions for them).
func (d *dataState) keepsLocked(now time.Time) bool {
	d.pruneLocked(now)
	return len(d.kept) > 0
}

func (d *dataState) pruneLocked(now time.Time) {
	live := d.kept[:0]
	for _, k := range d.kept {
		if now.Before(k.expires) {
			live = append(live, k)
		}
	}
	clear(d.kept[len(live):])
	d.kept = live
}

// bucket is a token bucket on the injected clock.
type bucket struct {
	rate, burst, tokens float64
	last                time.Time
	started             bool
}

func (b *bucket) fill(now time.Time) {
	if !b.started {
		b.tokens, b.last, b.started = b.burst, now, true
		return
	}
	if now.After(b.last) {
		b.tokens = min(b.burst, b.tokens+b.rate*now.Sub(b.last).Seconds())
		b.last = now
	}
}
