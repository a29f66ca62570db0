package conference

import (
	"strconv"
	"sync/atomic"

	"github.com/confab-media/confab/mixer"
)

// Member describes who an audio leg belongs to.
type Member struct {
	AttendeeID string // <attendee>#content for a content share
	// Order ranks the legs of one attendee: the level report shows only
	// its newest (highest) leg, e.g. the session that replaced another.
	Order   uint64
	Content bool // a content share: not an audio connection for auto-end
	// Codec is the leg's: Opus (WebRTC, Opus phones) or G.711 (a phone
	// whose decoded PCM is pushed, its mix encoded to G.711 by the mixer).
	Codec mixer.Codec
}

// AudioLeg is a member's leg in the Room's mixer: Push its audio in,
// receive the mix minus itself through the sink given to AddAudio.
type AudioLeg struct {
	room   *Room
	member Member
	leg    *mixer.Leg
	rx     atomic.Uint64 // frames pushed, for the signal strength
	left   atomic.Bool
}

// AddAudio adds a member's leg to the mixer. sink gets the mix minus the
// member every 20 ms from the mixer's goroutine (mixer.Sink contract).
func (rm *Room) AddAudio(m Member, sink mixer.Sink) (*AudioLeg, error) {
	rm.mu.Lock()
	defer rm.mu.Unlock()
	if rm.closed {
		return nil, ErrClosed
	}
	prefix := "w"
	if m.Content {
		prefix = "c"
	}
	a := &AudioLeg{room: rm, member: m}
	id := mixer.LegID(prefix + strconv.FormatUint(m.Order, 10))
	var leg *mixer.Leg
	var err error
	if m.Codec == mixer.CodecOpus {
		leg, err = rm.mix.AddLeg(id, sink)
	} else {
		leg, err = rm.mix.AddPCMLeg(id, m.Codec, sink)
	}
	if err != nil {
		return nil, err
	}
	a.leg = leg
	rm.legs[a] = struct{}{}
	return a, nil
}

// Push hands one received Opus frame to the mixer (mixer.Leg.Push).
func (a *AudioLeg) Push(f mixer.Frame) error {
	a.rx.Add(1)
	return a.leg.Push(f)
}

// PushPCM hands 20 ms of a G.711 leg's decoded 8 kHz PCM to the mixer
// (mixer.Leg.PushPCM).
func (a *AudioLeg) PushPCM(pcm []int16, ts uint32, level int8) error {
	a.rx.Add(1)
	return a.leg.PushPCM(pcm, ts, level)
}

// SetMuted mutes the leg: it is never a talker while muted.
func (a *AudioLeg) SetMuted(m bool) { a.leg.SetMuted(m) }

// Muted reports whether the leg is muted.
func (a *AudioLeg) Muted() bool { return a.leg.Muted() }

// Removed reports whether Leave was called.
func (a *AudioLeg) Removed() bool { return a.left.Load() }

// Leave removes the leg from the mixer (its sink is not called after it
// returns). It is idempotent.
func (a *AudioLeg) Leave() {
	if a.left.Swap(true) {
		return
	}
	rm := a.room
	rm.mix.RemoveLeg(a.leg.ID())
	rm.mu.Lock()
	delete(rm.legs, a)
	rm.mu.Unlock()
}
