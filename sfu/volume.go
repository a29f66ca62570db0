package sfu

import (
	"time"

	"github.com/confab-media/confab/mixer"
	"github.com/confab-media/confab/signaling/session"
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

// rxRatio smooths, per session, the packets received against the 50
// packet/s expected, so that scheduling bursts do not flap the grade.
type rxRatio struct {
	last  uint64  // packet count at the previous report
	ratio float64 // smoothed received/expected
}

// update folds in the packet count rx after elapsed and returns the
// signal strength: 2 good (≥ 80 %), 1 lossy, 0 nothing in this interval.
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

// volumeLoop reports the mixer's levels every interval until the room
// closes. Its buffers are reused between reports.
func (rm *Room) volumeLoop(clock mixer.Clock, interval time.Duration, sink VolumeSink) {
	defer rm.wg.Done()
	defer rm.recoverLoop("sfu room volume loop")
	ticks, stop := clock.Tick(interval)
	defer stop()
	var (
		levels []mixer.LegLevel
		vols   []session.Volume
		srcs   = map[mixer.LegID]volumeSource{}
		rx     = map[uint64]*rxRatio{} // by session
		newest = map[string]uint64{}   // attendee → newest session, for a replaced session
		last   = clock.Now()
	)
	for {
		select {
		case <-rm.done:
			return
		case <-ticks:
		}
		now := clock.Now()
		elapsed := now.Sub(last)
		last = now
		levels = rm.mix.Levels(levels)
		rm.snapshot(srcs)
		clear(newest)
		for _, src := range srcs {
			if src.sessionID > newest[src.attendeeID] {
				newest[src.attendeeID] = src.sessionID
			}
		}
		vols = vols[:0]
		for _, l := range levels {
			src, ok := srcs[l.ID]
			if !ok || newest[src.attendeeID] != src.sessionID {
				continue
			}
			r, seen := rx[src.sessionID]
			if !seen {
				r = &rxRatio{}
				rx[src.sessionID] = r
			}
			vols = append(vols, session.Volume{
				AttendeeID: src.attendeeID, Volume: volumeOf(l), SignalStrength: r.update(src.rx, elapsed, !seen),
			})
		}
		for id := range rx {
			if _, ok := srcs[legID(id)]; !ok {
				delete(rx, id) // the peer left
			}
		}
		sink.BroadcastVolumes(rm.meetingID, vols)
	}
}
