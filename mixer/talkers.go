package mixer

import "slices"

// Talker selection tuning that is not worth a Config field.
const (
	talkHysteresis = 10 // dB between becoming a candidate and starting the hangover
	switchMargin   = 6  // dB a candidate must beat the quietest talker by to replace it
	minTalkTicks   = 10 // ticks (200 ms) a new talker cannot be replaced
)

// smoothLoudness folds one frame's RFC 6464 level into s, a loudness
// (127 − level, so louder is larger) in 1/16 dB: fast attack (1/2 per frame)
// so speech onsets count at once, slower release (1/4 per frame, about four
// frames) so single quiet frames do not matter.
func smoothLoudness(s int32, level int8) int32 {
	x := int32(127-level) << 4
	if x > s {
		return s + (x-s+1)/2
	}
	return s + (x-s)/4
}

// levelOf converts a smoothed loudness back to an RFC 6464 level.
func levelOf(s int32) int8 { return int8(127 - (s+8)>>4) }

// talkerSelector keeps the set of at most topN talkers, from the legs'
// smoothed loudness, with three guards against flapping: a leg becomes a
// candidate at the enter threshold but stays a talker until it has been
// talkHysteresis dB quieter for the hangover; a candidate replaces the
// quietest talker only when louder by switchMargin dB; and a new talker is
// safe for minTalkTicks.
type talkerSelector struct {
	topN     int
	enter    int32 // loudness × 16 at which a leg becomes a candidate
	exit     int32 // loudness × 16 below which a talker's hangover runs
	hangover int   // ticks
	cur      []*Leg
	cand     []*Leg // scratch: the loudest candidates, loudest first
}

func newTalkerSelector(cfg Config) *talkerSelector {
	enter := int32(127-cfg.ActiveLevel) << 4
	return &talkerSelector{
		topN:     cfg.TopN,
		enter:    enter,
		exit:     max(enter-talkHysteresis<<4, 1),
		hangover: int(cfg.Hangover / frameDur),
		cur:      make([]*Leg, 0, cfg.TopN),
		cand:     make([]*Leg, 0, cfg.TopN),
	}
}

// update recomputes the talkers from the legs' smooth loudness. It does not
// allocate.
func (t *talkerSelector) update(legs []*Leg) {
	n := 0
	for _, l := range t.cur {
		if l.removed.Load() || l.muted.Load() {
			t.release(l)
			continue
		}
		if l.smooth >= t.exit {
			l.quiet = 0
		} else if l.quiet++; l.quiet > t.hangover {
			t.release(l)
			continue
		}
		l.talkTicks++
		t.cur[n] = l
		n++
	}
	clear(t.cur[n:])
	t.cur = t.cur[:n]

	t.cand = t.cand[:0]
	for _, l := range legs {
		if !l.talker && l.smooth >= t.enter && !l.muted.Load() && !l.removed.Load() {
			t.offer(l)
		}
	}
	for _, c := range t.cand {
		if len(t.cur) < t.topN {
			t.cur = append(t.cur, c)
			c.talker = true
			continue
		}
		w := -1
		for i, l := range t.cur {
			if l.talkTicks >= minTalkTicks && (w < 0 || l.smooth < t.cur[w].smooth) {
				w = i
			}
		}
		if w >= 0 && c.smooth >= t.cur[w].smooth+switchMargin<<4 {
			t.release(t.cur[w])
			t.cur[w] = c
			c.talker = true
		}
	}
	clear(t.cand)
}

// offer keeps l among the topN loudest candidates.
func (t *talkerSelector) offer(l *Leg) {
	if len(t.cand) == t.topN {
		if l.smooth <= t.cand[len(t.cand)-1].smooth {
			return
		}
		t.cand[len(t.cand)-1] = l
	} else {
		t.cand = append(t.cand, l)
	}
	for i := len(t.cand) - 1; i > 0 && t.cand[i].smooth > t.cand[i-1].smooth; i-- {
		t.cand[i], t.cand[i-1] = t.cand[i-1], t.cand[i]
	}
}

// drop removes l from the talkers at once (a failed encoder slot).
func (t *talkerSelector) drop(l *Leg) {
	for i, c := range t.cur {
		if c == l {
			t.cur = slices.Delete(t.cur, i, i+1)
			break
		}
	}
	t.release(l)
}

func (t *talkerSelector) release(l *Leg) {
	l.talker, l.talkTicks, l.quiet = false, 0, 0
}
