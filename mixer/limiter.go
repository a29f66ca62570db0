package mixer

// Limiter tuning: the output peak stays at or below limThreshold (−0.9 dBFS).
const (
	limThreshold = 29491 // 0.9 × 32767
	limBlock     = 96    // 2 ms gain-control blocks
	limBlocks    = frameSamples / limBlock
	limRelease   = 0.03 // per block: the gain recovers with a ≈65 ms time constant
)

// limiter turns an int32 sum of talkers into int16 PCM without wrap-around.
// It computes, per 2 ms block, the gain that keeps the block's peak at
// limThreshold, and ramps the gain linearly between block edges so that each
// edge is at or below the needed gain of both blocks it touches: the peak
// never exceeds the threshold, gain changes are smooth inside a frame, and the
// gain recovers slowly (release) once the sum is quiet again. Only an onset
// at the very start of a frame can step the gain down at the frame edge
// (instant attack). A final saturation guards the int16 conversion.
//
// One limiter per output stream (the shared mix and every mix-minus slot),
// because each has its own peaks.
type limiter struct {
	gain float32 // gain at the end of the last frame; 0 means 1 (unused)
}

// process writes in (frameSamples int32 samples) to out, limited.
func (l *limiter) process(in []int32, out []int16) {
	in, out = in[:frameSamples], out[:frameSamples]
	g := l.gain
	if g == 0 {
		g = 1
	}
	var need [limBlocks]float32
	var peak int32
	for b := range need {
		var p int32
		for _, v := range in[b*limBlock : (b+1)*limBlock] {
			if v < 0 {
				v = -v
			}
			p = max(p, v)
		}
		peak = max(peak, p)
		need[b] = 1
		if p > limThreshold {
			need[b] = limThreshold / float32(p)
		}
	}
	if g == 1 && peak <= limThreshold {
		for i, v := range in {
			out[i] = int16(v) // in range: |v| ≤ limThreshold
		}
		return
	}
	g = min(g, need[0])
	for b := range need {
		end := g + (1-g)*limRelease
		end = min(end, need[b])
		if b+1 < limBlocks {
			end = min(end, need[b+1])
		}
		step := (end - g) / limBlock
		x := in[b*limBlock : (b+1)*limBlock]
		y := out[b*limBlock : (b+1)*limBlock]
		for i, v := range x {
			y[i] = Sat16(float32(v) * (g + step*float32(i+1)))
		}
		g = end
	}
	if g > 0.9999 {
		g = 1
	}
	l.gain = g
}

// Sat16 rounds f to the nearest int16, saturating (for PCM built in
// float32, here and in the SIP gateway's concealer).
func Sat16(f float32) int16 {
	switch {
	case f >= 32767:
		return 32767
	case f <= -32768:
		return -32768
	case f >= 0:
		return int16(f + 0.5)
	}
	return int16(f - 0.5)
}
