package conference

import (
	"time"

	"github.com/confab-media/confab/mixer"
)

// SDK volume scale (fact sheet §6): positive dB of attenuation, 14 is
// loudest and 42 silent.
const (
	volumeLoudest = 14
	volumeSilent  = 42
)

// volumeOf maps an RFC 6464 level (−dBov, 0 loudest … 127 silence) to the
// SDK's volume.
func volumeOf(l mixer.LegLevel) uint32 {
	v := int(l.Level)
	switch {
	case l.Muted || v >= volumeSilent:
		return volumeSilent
	case v < volumeLoudest:
		return volumeLoudest
	}
	return uint32(v)
}

// rxRatio smooths, per leg, the frames received against the 50 per
// second expected, so that scheduling bursts do not flap the grade.
type rxRatio struct {
	last  uint64  // frame count at the previous report
	ratio float64 // smoothed received/expected
}

// update folds in the frame count rx after elapsed and returns the signal
// strength: 2 good (≥ 80 %), 1 lossy, 0 nothing in this interval.
func (r *rxRatio) update(rx uint64, elapsed time.Duration, first bool) uint32 {
	got := rx - r.last
	r.last = rx
	want := elapsed.Seconds() * 50
	if want <= 0 {
		want = 1
	}
	ratio := min(float64(got)/want, 1)
	if first {
		r.ratio = ratio
	} else {
		r.ratio += 0.3 * (ratio - r.ratio)
	}
	switch {
	case got == 0:
		return 0
	case r.ratio >= 0.8:
		return 2
	}
	return 1
}

// levelState is the ticker's reusable report state.
type levelState struct {
	last   time.Time
	levels []mixer.LegLevel
	vols   []Volume
	legs   map[mixer.LegID]*AudioLeg
	rx     map[*AudioLeg]*rxRatio
	newest map[string]uint64   // attendee → order of its newest leg
	seen   map[string]struct{} // scratch for the auto-end rules
}

func newLevelState(now time.Time) *levelState {
	return &levelState{last: now, legs: map[mixer.LegID]*AudioLeg{}, rx: map[*AudioLeg]*rxRatio{}, newest: map[string]uint64{}, seen: map[string]struct{}{}}
}

// reportLevels hands the Listener one volume report: each attendee's
// newest leg with its level and signal strength.
func (rm *Room) reportLevels(s *levelState, now time.Time) {
	elapsed := now.Sub(s.last)
	s.last = now
	s.levels = rm.mix.Levels(s.levels)
	clear(s.legs)
	clear(s.newest)
	rm.mu.Lock()
	for a := range rm.legs {
		s.legs[a.leg.ID()] = a
		if o := a.member.Order; o >= s.newest[a.member.AttendeeID] {
			s.newest[a.member.AttendeeID] = o
		}
	}
	rm.mu.Unlock()
	s.vols = s.vols[:0]
	for _, l := range s.levels {
		a := s.legs[l.ID]
		if a == nil || s.newest[a.member.AttendeeID] != a.member.Order {
			continue
		}
		r, seen := s.rx[a]
		if !seen {
			r = &rxRatio{}
			s.rx[a] = r
		}
		s.vols = append(s.vols, Volume{
			AttendeeID: a.member.AttendeeID, StreamID: rm.roster.StreamOf(a.member.AttendeeID),
			Volume: volumeOf(l), SignalStrength: r.update(a.rx.Load(), elapsed, !seen),
		})
	}
	for a := range s.rx {
		if s.legs[a.leg.ID()] != a {
			delete(s.rx, a) // the leg left
		}
	}
	if l := rm.reg.listen(); l != nil {
		l.Volumes(rm.id, s.vols)
	}
}
