package mixer

import "time"

// Complexity shedding: a tick that finishes lateTick or more after its due
// time means the node is short of CPU (the goroutine waited to run, or the
// step itself ran long). shedAfter such ticks, each within calmReset of the
// last, take the encoders' complexity one step down; restoreAfter on-time
// ticks in a row take it one step back up.
const (
	lateTick     = 10 * time.Millisecond
	shedAfter    = 5
	calmReset    = 50  // on-time ticks (1 s) that forget earlier late ones
	restoreAfter = 500 // on-time ticks (10 s) per step back up
)

// complexityGovernor trades Opus complexity for CPU under pressure, so that
// a loaded node costs a little quality rather than skipped ticks (gaps). It
// is used by the mixing goroutine only.
type complexityGovernor struct {
	max, min, cur int
	late, calm    int
}

func newComplexityGovernor(cfg Config) complexityGovernor {
	return complexityGovernor{max: cfg.Complexity, min: cfg.MinComplexity, cur: cfg.Complexity}
}

// observe takes how late one tick finished and returns the complexity to
// use from now on, and whether it changed.
func (g *complexityGovernor) observe(late time.Duration) (int, bool) {
	if late < lateTick {
		g.calm++
		if g.calm == calmReset {
			g.late = 0
		}
		if g.calm >= restoreAfter && g.cur < g.max {
			g.calm = 0
			g.cur++
			return g.cur, true
		}
		return g.cur, false
	}
	g.calm = 0
	if g.late++; g.late >= shedAfter && g.cur > g.min {
		g.late = 0
		g.cur--
		return g.cur, true
	}
	return g.cur, false
}

// setComplexity sets every encoder, and those made later, to c.
func (m *Mixer) setComplexity(c int) {
	m.stepMu.Lock()
	defer m.stepMu.Unlock()
	m.pool.settings.complexity = c
	set := func(s *stream) {
		if s.enc == nil {
			return
		}
		if err := s.enc.SetComplexity(c); err != nil {
			m.logErr(m.clock.Now(), "mixer: set opus complexity", nil, err)
		}
	}
	set(&m.shared)
	for i := range m.pool.slots {
		set(&m.pool.slots[i].stream)
	}
	m.complexity.Store(int32(c))
}
