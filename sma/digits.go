package sma

import (
	"encoding/json"
	"time"

	"github.com/confab-media/confab/internal/clock"
)

// digitMatcher is a ReceiveDigits action listening in the background: it
// keeps the digits of the last FlushDigitsDurationInMilliseconds (counted
// from the first), and once they match InputDigitsRegex waits
// InBetweenDigitsDurationInMilliseconds for more before it reports them.
type digitMatcher struct {
	spec   receiveDigitsSpec
	params json.RawMessage // as the handler sent them, for DIGITS_RECEIVED
	buf    []byte
	first  time.Time
	timer  <-chan time.Time // armed while the digits match
}

func newDigitMatcher(spec receiveDigitsSpec, params json.RawMessage) *digitMatcher {
	return &digitMatcher{spec: spec, params: params}
}

// digit adds a key press.
func (m *digitMatcher) digit(d rune, c clock.Clock) {
	now := c.Now()
	if len(m.buf) > 0 && now.Sub(m.first) > m.spec.flush {
		m.buf = m.buf[:0]
	}
	if len(m.buf) == 0 {
		m.first = now
	}
	if len(m.buf) >= maxDigits {
		m.buf = m.buf[:copy(m.buf, m.buf[1:])]
	}
	m.buf = append(m.buf, byte(d))
	if m.spec.re.Match(m.buf) {
		m.timer = c.After(m.spec.between)
	} else {
		m.timer = nil
	}
}

// fire is the in-between timer: the digits, if they still match, are
// taken.
func (m *digitMatcher) fire() (string, bool) {
	m.timer = nil
	if !m.spec.re.Match(m.buf) {
		return "", false
	}
	got := string(m.buf)
	m.buf = m.buf[:0]
	return got, true
}
