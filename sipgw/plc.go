package sipgw

import "github.com/confab-media/confab/mixer"

// Packet-loss concealment for G.711 callers, after ITU-T G.711 Appendix I
// (https://www.itu.int/rec/T-REC-G.711-199909-I!AppI): a lost 10 ms unit is
// replaced by repeating the last pitch period of the history (found by
// normalised cross-correlation over 5–15 ms lags), with a quarter-period
// overlap-add at the loop point; every further 10 ms of loss adds a period
// to the repeated stretch (up to three) and attenuates by 20 %, and after
// 60 ms the output is silent. When audio resumes, the synthetic signal is
// cross-faded into it over 4 ms plus 4 ms per extra lost unit. As in the
// Appendix, output lags input by plcDelay samples (3.75 ms) so the overlap at
// the start of an erasure can still change the last samples of history.
const (
	plcUnit      = 80                            // 10 ms at 8 kHz
	plcPitchMin  = 40                            // 200 Hz
	plcPitchMax  = 120                           // 66.7 Hz
	plcCorrLen   = 160                           // 20 ms correlation window
	plcHistLen   = plcPitchMax*3 + plcPitchMax/4 // 390
	plcDelay     = plcPitchMax / 4               // 30: the longest overlap
	plcOverlapIn = 32                            // 4 ms per lost unit when audio resumes
	plcAtten     = 0.2                           // per lost unit after the first
	plcMaxUnits  = 6                             // 60 ms, then silence
)

// concealer conceals lost 10 ms units of an 8 kHz stream. Not safe for
// concurrent use; it does not allocate.
type concealer struct {
	hist    [plcHistLen]float32 // newest last; the last plcDelay not yet output
	erased  int                 // consecutive lost units so far
	pitch   int
	overlap int // pitch/4
	// pitchBuf holds the history at the erasure start: the repeated stretch
	// is its last blen samples, read cyclically from offset pos.
	pitchBuf [plcHistLen]float32
	blen     int
	pos      int
	lastQ    [plcDelay]float32 // the original last quarter period
	tmp      [plcUnit]float32
}

// good feeds a received unit (len plcUnit) and writes the delayed output
// unit to out.
func (c *concealer) good(in []int16, out []int16) {
	var s [plcUnit]float32
	for i, v := range in {
		s[i] = float32(v)
	}
	if c.erased > 0 {
		// Cross-fade from the synthetic continuation into the real signal.
		n := min(c.overlap+(c.erased-1)*plcOverlapIn, plcUnit)
		f := c.tmp[:n]
		c.synth(f)
		gain := max(1-float32(c.erased-1)*plcAtten, 0)
		if c.erased > plcMaxUnits {
			gain = 0
		}
		inc := 1 / float32(n)
		lw, rw := (1-inc)*gain, inc
		for i := range f {
			s[i] = lw*f[i] + rw*s[i]
			lw -= inc * gain
			rw += inc
		}
		c.erased = 0
	}
	c.save(s[:], out)
}

// lost conceals one lost unit, writing the delayed output unit to out.
func (c *concealer) lost(out []int16) {
	var s [plcUnit]float32
	switch c.erased++; {
	case c.erased == 1:
		copy(c.pitchBuf[:], c.hist[:])
		c.pitch = c.findPitch()
		c.overlap = c.pitch / 4
		end := plcHistLen
		copy(c.lastQ[:c.overlap], c.pitchBuf[end-c.overlap:end])
		c.pos, c.blen = 0, c.pitch
		c.loopOverlap()
		// The last quarter period of history was not output yet: it takes
		// the smoothed samples, so the loop point is continuous.
		copy(c.hist[plcHistLen-c.overlap:], c.pitchBuf[end-c.overlap:end])
		c.synth(s[:])
	case c.erased <= 3:
		// Use one more pitch period, cross-fading from where the shorter
		// loop was.
		var t [plcDelay]float32
		ov := t[:c.overlap]
		saved := c.pos
		c.synth(ov)
		c.pos = saved
		for c.pos > c.pitch {
			c.pos -= c.pitch
		}
		c.blen += c.pitch
		c.loopOverlap()
		c.synth(s[:])
		inc := 1 / float32(c.overlap)
		lw, rw := 1-inc, inc
		for i := range ov {
			s[i] = lw*ov[i] + rw*s[i]
			lw -= inc
			rw += inc
		}
		c.attenuate(s[:])
	case c.erased <= plcMaxUnits:
		c.synth(s[:])
		c.attenuate(s[:])
	default:
		// silence
	}
	c.save(s[:], out)
}

// loopOverlap smooths the loop point of the repeated stretch: its last
// quarter period is cross-faded with the quarter period before its start.
func (c *concealer) loopOverlap() {
	end := plcHistLen
	start := end - c.blen
	o := c.pitchBuf[end-c.overlap : end]
	r := c.pitchBuf[start-c.overlap : start]
	inc := 1 / float32(c.overlap)
	lw, rw := 1-inc, inc
	for i := range o {
		o[i] = lw*c.lastQ[i] + rw*r[i]
		lw -= inc
		rw += inc
	}
}

// synth reads the repeated stretch cyclically into dst.
func (c *concealer) synth(dst []float32) {
	start := plcHistLen - c.blen
	for i := range dst {
		dst[i] = c.pitchBuf[start+c.pos]
		if c.pos++; c.pos == c.blen {
			c.pos = 0
		}
	}
}

// attenuate ramps the gain down by plcAtten over the unit, from the level
// reached at the end of the previous one.
func (c *concealer) attenuate(s []float32) {
	g := 1 - float32(c.erased-2)*plcAtten
	inc := plcAtten / float32(len(s))
	for i := range s {
		if g <= 0 {
			s[i] = 0
			continue
		}
		s[i] *= g
		g -= inc
	}
}

// save appends s to the history and writes the unit that leaves the delay
// line to out.
func (c *concealer) save(s []float32, out []int16) {
	h := c.hist[:]
	copy(h, h[plcUnit:])
	copy(h[plcHistLen-plcUnit:], s)
	for i := range out {
		out[i] = mixer.Sat16(h[plcHistLen-plcDelay-plcUnit+i])
	}
}

// findPitch returns the lag in [plcPitchMin, plcPitchMax] that maximises
// the normalised cross-correlation between the last plcCorrLen samples of
// pitchBuf and the same window one lag earlier: a coarse search on every
// second lag, then a fine one around the best.
func (c *concealer) findPitch() int {
	r := c.pitchBuf[plcHistLen-plcCorrLen:]
	best := plcPitchMin
	bestScore := float32(-2)
	score := func(lag int) float32 {
		l := c.pitchBuf[plcHistLen-plcCorrLen-lag : plcHistLen-lag]
		var xy, yy float32
		for i := range r {
			xy += r[i] * l[i]
			yy += l[i] * l[i]
		}
		if yy <= 1 {
			return 0
		}
		if xy < 0 {
			return -xy * xy / yy
		}
		return xy * xy / yy
	}
	for lag := plcPitchMin; lag <= plcPitchMax; lag += 2 {
		if s := score(lag); s > bestScore {
			best, bestScore = lag, s
		}
	}
	coarse := best
	for lag := max(coarse-1, plcPitchMin); lag <= min(coarse+1, plcPitchMax); lag++ {
		if s := score(lag); s > bestScore {
			best, bestScore = lag, s
		}
	}
	return best
}
