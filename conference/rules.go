package conference

import "time"

// ruleState is when each auto-end condition started to hold (zero: it
// does not hold now).
type ruleState struct {
	noAudio, alone, contentIdle time.Time
}

// since returns how long a condition has held as of now, starting its
// clock if it just began to hold, and clearing it if it does not.
func since(start *time.Time, holds bool, now time.Time) time.Duration {
	if !holds {
		*start = time.Time{}
		return 0
	}
	if start.IsZero() {
		*start = now
	}
	return now.Sub(*start)
}

// checkRules applies the Chime guide's auto-end rules ("The meetings end
// when…") as of now and returns the reason to end the meeting, or "".
// Audio connections are the non-content audio legs (WebRTC attendees and
// phone callers), counted per attendee.
func (rm *Room) checkRules(now time.Time, seen map[string]struct{}) string {
	audio, content := rm.connections(seen)
	a := rm.reg.cfg.AutoEnd
	s := &rm.rules
	noAudio := since(&s.noAudio, audio == 0, now)
	alone := since(&s.alone, audio < 2, now)
	contentIdle := since(&s.contentIdle, content > 0 && audio == 0, now)
	switch {
	case a.MaxDuration > 0 && now.Sub(rm.started) >= a.MaxDuration:
		return "maximum duration reached"
	case a.NoAudio > 0 && noAudio >= a.NoAudio:
		return "no audio connection"
	case a.ContentIdle > 0 && content > 0 && contentIdle >= a.ContentIdle:
		return "screen share viewers inactive"
	case a.Alone > 0 && alone >= a.Alone:
		return "fewer than two audio connections"
	}
	return ""
}

// connections counts the attendees with an audio connection and the
// content shares; seen is scratch space, reused between ticks.
func (rm *Room) connections(seen map[string]struct{}) (audio, content int) {
	clear(seen)
	rm.mu.Lock()
	defer rm.mu.Unlock()
	for a := range rm.legs {
		if a.member.Content {
			content++
			continue
		}
		if _, dup := seen[a.member.AttendeeID]; !dup {
			seen[a.member.AttendeeID] = struct{}{}
			audio++
		}
	}
	return audio, content
}
