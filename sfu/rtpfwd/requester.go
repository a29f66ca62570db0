package rtpfwd

import (
	"sync"
	"time"
)

// maxRequesterSSRCs bounds the number of SSRCs a KeyframeRequester tracks.
const maxRequesterSSRCs = 256

// KeyframeRequester rate-limits keyframe requests (RTCP PLI, RFC 4585 §6.3.1,
// https://www.rfc-editor.org/rfc/rfc4585#section-6.3.1) per media source, so
// that the subscribers waiting for a keyframe of a publisher's layer do not
// flood it with requests while the keyframe is on its way.
//
// It remembers the time of the last allowed request of at most 256 SSRCs;
// an SSRC whose last request is older than the interval is forgotten first
// when room is needed, as forgetting it does not change any answer.
//
// A KeyframeRequester is safe for concurrent use.
type KeyframeRequester struct {
	minInterval time.Duration

	mu   sync.Mutex
	last map[uint32]time.Time // SSRC → last allowed request
}

// NewKeyframeRequester returns a KeyframeRequester that allows one request
// per SSRC every minInterval (every request if minInterval ≤ 0).
func NewKeyframeRequester(minInterval time.Duration) *KeyframeRequester {
	return &KeyframeRequester{
		minInterval: minInterval,
		last:        make(map[uint32]time.Time),
	}
}

// Allow reports whether a keyframe request for ssrc may be sent at now: true
// at most once per minInterval per SSRC. A true answer counts as a request
// sent. Once an SSRC is tracked, Allow does not allocate.
func (k *KeyframeRequester) Allow(ssrc uint32, now time.Time) bool {
	if k.minInterval <= 0 {
		return true
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	last, ok := k.last[ssrc]
	if ok && now.Sub(last) < k.minInterval {
		return false
	}
	if !ok && len(k.last) >= maxRequesterSSRCs {
		k.makeRoom(now)
	}
	k.last[ssrc] = now
	return true
}

// makeRoom forgets the SSRCs whose interval has elapsed at now, or, if every
// one is still within its interval, the one with the oldest request.
func (k *KeyframeRequester) makeRoom(now time.Time) {
	var oldest uint32
	var oldestAt time.Time
	first := true
	for ssrc, at := range k.last {
		if now.Sub(at) >= k.minInterval {
			delete(k.last, ssrc)
			continue
		}
		if first || at.Before(oldestAt) {
			oldest, oldestAt, first = ssrc, at, false
		}
	}
	if len(k.last) >= maxRequesterSSRCs {
		delete(k.last, oldest)
	}
}
