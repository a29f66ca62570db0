package sfu

import (
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/confab-media/confab/mixer"
	"github.com/confab-media/confab/signaling/meeting"
	"github.com/confab-media/confab/signaling/session"
)

// phoneSessionBase numbers phone legs apart from signaling sessions in the
// room's volume bookkeeping (which keys members by session id).
const phoneSessionBase = 1 << 62

// PhoneLeg is a SIP caller's audio leg in its meeting's mixer: Opus in and
// the mix minus the caller out, like a WebRTC peer without the
// PeerConnection (sipgw does RTP, SRTP and transcoding).
type PhoneLeg struct {
	sv         *Server
	room       *Room
	id         uint64 // phoneSessionBase + n
	attendeeID string
	leg        *mixer.Leg
	rx         atomic.Uint64
	leaveOnce  sync.Once

	mu    sync.Mutex // guards hold and caps
	hold  bool       // the caller's own mute (hold)
	caps  mediaCaps
	noMix atomic.Bool // the attendee may not receive audio: silence instead of the mix
}

// JoinPhoneAs is JoinPhone for the caller whose join token verified as id:
// its capabilities apply from the start (Audio Receive or None: not in the
// mix; Send or None: no mix sent) and follow later changes.
func (sv *Server) JoinPhoneAs(id meeting.Identity, mix func(opus []byte, ts uint32)) (*PhoneLeg, error) {
	pl, err := sv.JoinPhone(id.MeetingID, id.AttendeeID, mix)
	if err != nil {
		return nil, err
	}
	pl.setCaps(sv.capsOf(id))
	return pl, nil
}

// JoinPhone adds attendeeID's phone leg to meetingID's mixer (creating the
// room if the meeting has no peer yet). mix gets the mix minus the caller,
// 20 ms Opus frames, from the mixer's goroutine. Capability changes made
// since this process started apply (JoinPhoneAs also applies the ones the
// join token carried).
func (sv *Server) JoinPhone(meetingID, attendeeID string, mix func(opus []byte, ts uint32)) (*PhoneLeg, error) {
	sv.mu.Lock()
	defer sv.mu.Unlock()
	if sv.closed {
		return nil, fmt.Errorf("%w: %w", session.ErrMediaUnavailable, ErrClosed)
	}
	rm := sv.rooms[meetingID]
	if rm == nil {
		var err error
		if rm, err = newRoom(meetingID, sv.cfg, sv.p, sv.failRoom); err != nil {
			return nil, err
		}
		sv.rooms[meetingID] = rm
	}
	sv.phoneSeq++
	pl := &PhoneLeg{sv: sv, room: rm, id: phoneSessionBase + sv.phoneSeq, attendeeID: attendeeID, caps: allowAll()}
	if c, ok := sv.caps.get(meetingID, attendeeID); ok {
		pl.caps = capsFor(c, maxResolution{}, false)
	}
	pl.noMix.Store(!pl.caps.recvAudio)
	var silence [len(opusSilence)]byte
	copy(silence[:], opusSilence)
	sink := func(opus []byte, ts uint32) {
		if pl.noMix.Load() {
			opus = silence[:] // Audio Send or None: no mix, the stream goes on
		}
		mix(opus, ts)
	}
	leg, err := rm.mix.AddLeg(mixer.LegID("phone-"+strconv.FormatUint(sv.phoneSeq, 10)), sink)
	if err != nil {
		if rm.Peers() == 0 {
			delete(sv.rooms, meetingID)
			rm.close()
		}
		return nil, fmt.Errorf("sfu: add phone leg: %w", err)
	}
	pl.leg = leg
	leg.SetMuted(!pl.caps.sendAudio)
	rm.addPhone(pl)
	return pl, nil
}

// Push hands one 20 ms Opus frame from the caller to the mixer (copied).
func (pl *PhoneLeg) Push(opus []byte, ts uint32, level int8) error {
	pl.rx.Add(1)
	if level < 0 {
		level = mixer.LevelUnknown
	}
	return pl.leg.Push(mixer.Frame{Payload: opus, Timestamp: ts, Level: level})
}

// SetMuted mutes the caller (hold). A caller whose attendee may not send
// audio stays muted regardless.
func (pl *PhoneLeg) SetMuted(m bool) {
	pl.mu.Lock()
	defer pl.mu.Unlock()
	pl.hold = m
	pl.leg.SetMuted(m || !pl.caps.sendAudio)
}

// setCaps applies the attendee's audio capabilities to the call.
func (pl *PhoneLeg) setCaps(c mediaCaps) {
	pl.mu.Lock()
	defer pl.mu.Unlock()
	pl.caps = c
	pl.leg.SetMuted(pl.hold || !c.sendAudio)
	pl.noMix.Store(!c.recvAudio)
}

// Leave removes the leg and, with the meeting's last member, the room.
func (pl *PhoneLeg) Leave() {
	pl.leaveOnce.Do(func() {
		sv, rm := pl.sv, pl.room
		rm.mix.RemoveLeg(pl.leg.ID())
		sv.mu.Lock()
		rm.removePhone(pl)
		last := rm.Peers() == 0 && sv.rooms[rm.meetingID] == rm
		if last {
			delete(sv.rooms, rm.meetingID)
		}
		sv.mu.Unlock()
		if last {
			rm.close()
		}
	})
}
