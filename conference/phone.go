package conference

import (
	"bytes"
	"errors"
	"sync"
	"sync/atomic"

	"github.com/confab-media/confab/mixer"
	"github.com/confab-media/confab/signaling/meeting"
)

// phoneOrderBase ranks phone legs after every WebRTC session of the same
// attendee in level reports (sessions are numbered from 1).
const phoneOrderBase = 1 << 62

// opusSilence is one 20 ms Opus frame of silence (RFC 6716 §3: code 3…),
// sent instead of the mix to a caller whose attendee may not receive audio:
// the stream goes on, so the caller's jitter buffer does not starve. G.711
// callers get 20 ms of the codec's silence code instead (ITU-T G.711:
// μ-law 0xFF, A-law 0xD5 encode zero).
const opusSilence = "\xf8\xff\xfe"

// silenceOf returns one 20 ms silent payload of codec c.
func silenceOf(c mixer.Codec) []byte {
	switch c {
	case mixer.CodecPCMU:
		return bytes.Repeat([]byte{0xff}, mixer.PCMFrame)
	case mixer.CodecPCMA:
		return bytes.Repeat([]byte{0xd5}, mixer.PCMFrame)
	}
	return []byte(opusSilence)
}

// PhoneLeg is a call's membership in its meeting, as the SIP gateway sees
// it (sipgw.PhoneLeg).
type PhoneLeg interface {
	// Push hands over one 20 ms Opus frame from an Opus caller with its
	// 48 kHz RTP timestamp and RFC 6464 level (−1 unknown); it copies,
	// never blocks.
	Push(opus []byte, ts uint32, level int8) error
	// PushPCM hands over 20 ms (mixer.PCMFrame samples) of a G.711
	// caller's decoded 8 kHz PCM with its 8 kHz RTP timestamp and level;
	// it copies, never blocks.
	PushPCM(pcm []int16, ts uint32, level int8) error
	// SetMuted mutes the caller while it holds the call.
	SetMuted(muted bool)
	// Done is closed when the call must end: the attendee was deleted or
	// the meeting ended.
	Done() <-chan struct{}
	// Leave ends the membership; called once when the call ends.
	Leave()
}

// Phone is a SIP caller in a Room: an audio leg that follows its
// attendee's Audio capability, and a presence rendered by the Listener.
type Phone struct {
	room  *Room
	id    meeting.Identity
	audio *AudioLeg
	leave func(dropped bool) // the presence's; nil without a Listener

	mu    sync.Mutex // guards hold and send
	hold  bool       // the caller's own mute
	send  bool       // the attendee may send audio
	noMix atomic.Bool

	done     chan struct{}
	doneOnce sync.Once
	leftOnce sync.Once
}

var _ PhoneLeg = (*Phone)(nil)

// JoinPhone adds a caller, whose join token verified as id, to its
// meeting: a leg in the mixer of the call's codec (mix gets the mix minus
// the caller every 20 ms from the mixer's goroutine: Opus with 48 kHz
// timestamps, or G.711 of that codec with 8 kHz timestamps; see
// mixer.Codec) and a presence. Its capabilities apply from the start and
// follow later changes.
func (r *Registry) JoinPhone(id meeting.Identity, codec mixer.Codec, mix func(payload []byte, ts uint32)) (PhoneLeg, error) {
	rm, err := r.Room(id.MeetingID)
	if err != nil {
		return nil, err
	}
	ph := &Phone{room: rm, id: id, done: make(chan struct{})}
	c := r.Capabilities(id)
	ph.send = Sends(c.Audio)
	ph.noMix.Store(!Receives(c.Audio))
	silence := silenceOf(codec)
	sink := func(payload []byte, ts uint32) {
		if ph.noMix.Load() {
			payload = silence // Audio Send or None: no mix, the stream goes on
		}
		mix(payload, ts)
	}
	a, err := rm.AddAudio(Member{AttendeeID: id.AttendeeID, Order: phoneOrderBase + r.seq.Add(1), Codec: codec}, sink)
	if err != nil {
		return nil, err
	}
	ph.audio = a
	a.SetMuted(!ph.send)
	if l := r.listen(); l != nil {
		if ph.leave, err = l.PhoneJoined(id); err != nil {
			a.Leave()
			return nil, err
		}
	}
	rm.mu.Lock()
	closed := rm.closed
	if !closed {
		rm.phones[ph] = struct{}{}
	}
	rm.mu.Unlock()
	if closed {
		ph.Leave()
		return nil, errors.Join(ErrClosed, meeting.ErrMeetingEnded)
	}
	return ph, nil
}

// Push implements PhoneLeg.
func (ph *Phone) Push(opus []byte, ts uint32, level int8) error {
	if level < 0 {
		level = mixer.LevelUnknown
	}
	return ph.audio.Push(mixer.Frame{Payload: opus, Timestamp: ts, Level: level})
}

// PushPCM implements PhoneLeg.
func (ph *Phone) PushPCM(pcm []int16, ts uint32, level int8) error {
	if level < 0 {
		level = mixer.LevelUnknown
	}
	return ph.audio.PushPCM(pcm, ts, level)
}

// SetMuted implements PhoneLeg: a caller whose attendee may not send audio
// stays muted regardless.
func (ph *Phone) SetMuted(m bool) {
	ph.mu.Lock()
	defer ph.mu.Unlock()
	ph.hold = m
	ph.audio.SetMuted(m || !ph.send)
}

// setCaps applies the attendee's Audio capability to the call.
func (ph *Phone) setCaps(c meeting.Capabilities) {
	ph.mu.Lock()
	defer ph.mu.Unlock()
	ph.send = Sends(c.Audio)
	ph.audio.SetMuted(ph.hold || !ph.send)
	ph.noMix.Store(!Receives(c.Audio))
}

// Done implements PhoneLeg.
func (ph *Phone) Done() <-chan struct{} { return ph.done }

func (ph *Phone) hangUp() { ph.doneOnce.Do(func() { close(ph.done) }) }

// Leave implements PhoneLeg: the leg leaves the mixer and the presence
// ends (AttendeeLeft).
func (ph *Phone) Leave() {
	ph.leftOnce.Do(func() {
		ph.audio.Leave()
		if ph.leave != nil {
			ph.leave(false)
		}
		rm := ph.room
		rm.mu.Lock()
		delete(rm.phones, ph)
		rm.mu.Unlock()
	})
}

// hangUp ends the calls of attendeeID (DeleteAttendee).
func (rm *Room) hangUp(attendeeID string) {
	for _, ph := range rm.phonesOf(attendeeID) {
		ph.hangUp()
	}
}

// applyPhoneCaps applies new capabilities to attendeeID's calls.
func (rm *Room) applyPhoneCaps(attendeeID string, c meeting.Capabilities) {
	for _, ph := range rm.phonesOf(attendeeID) {
		ph.setCaps(c)
	}
}

func (rm *Room) phonesOf(attendeeID string) []*Phone {
	rm.mu.Lock()
	defer rm.mu.Unlock()
	var out []*Phone
	for ph := range rm.phones {
		if ph.id.AttendeeID == attendeeID {
			out = append(out, ph)
		}
	}
	return out
}
