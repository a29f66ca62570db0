package rtpfwd

import "time"

// maxTickStep is the largest timestamp step that a receiver still reads as
// forward under serial number arithmetic (2^31 − 1 ticks).
const maxTickStep = 1<<31 - 1

// durationTicks converts d into ticks of an RTP clock of clockRate Hz,
// rounding down. A negative d gives 0; a d too long to be told apart from a
// backward step (more than 2^31 − 1 ticks, e.g. 6.6 h at 90 kHz) is clamped
// to maxTickStep.
func durationTicks(d time.Duration, clockRate uint32) uint32 {
	if d <= 0 {
		return 0
	}
	secs := uint64(d / time.Second)
	if secs > maxTickStep { // secs*clockRate would not fit in 64 bits
		return maxTickStep
	}
	rate := uint64(clockRate)
	ticks := secs*rate + uint64(d%time.Second)*rate/uint64(time.Second)
	if ticks > maxTickStep {
		return maxTickStep
	}
	return uint32(ticks)
}
