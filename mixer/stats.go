package mixer

import (
	"log/slog"
	"sync/atomic"
)

// Stats are cumulative counters of one Mixer, for metrics and tests.
type Stats struct {
	Ticks     uint64 // frames mixed
	Skipped   uint64 // frames skipped because a tick was later than MaxCatchUp
	LateTicks uint64 // frames mixed after their tick had passed (catching up)

	Decoded uint64 // Opus decodes of received packets
	FEC     uint64 // decodes of a lost frame from the next packet's in-band FEC
	PLC     uint64 // packet-loss concealment decodes
	Encoded uint64 // Opus encodes (each shared by every leg it went to)

	Invalid   uint64 // pushed packets that were not one 20 ms Opus packet
	Late      uint64 // packets that arrived after their frame was played
	Duplicate uint64 // packets whose timestamp was already buffered
	Lost      uint64 // frames missing when played (newer packets had arrived)
	Underrun  uint64 // frames missing when played with nothing newer buffered
	Dropped   uint64 // frames dropped to shrink a jitter buffer (drift, bursts)
	Inserted  uint64 // frames inserted to grow a jitter buffer
	Resyncs   uint64 // jitter buffer restarts (timestamp jumps, stream resumes)

	Complexity int // the encoders' Opus complexity now (lower while shedding load)
}

// LogValue logs Stats as a group of fields (structured in text and JSON
// logs alike).
func (s Stats) LogValue() slog.Value {
	return slog.GroupValue(
		slog.Uint64("ticks", s.Ticks), slog.Uint64("skipped", s.Skipped), slog.Uint64("late_ticks", s.LateTicks),
		slog.Uint64("decoded", s.Decoded), slog.Uint64("fec", s.FEC), slog.Uint64("plc", s.PLC), slog.Uint64("encoded", s.Encoded),
		slog.Uint64("invalid", s.Invalid), slog.Uint64("late", s.Late), slog.Uint64("duplicate", s.Duplicate),
		slog.Uint64("lost", s.Lost), slog.Uint64("underrun", s.Underrun), slog.Uint64("dropped", s.Dropped),
		slog.Uint64("inserted", s.Inserted), slog.Uint64("resyncs", s.Resyncs), slog.Int("complexity", s.Complexity),
	)
}

// counters is the live, atomic form of Stats: the mixing step and the legs'
// Push goroutines increment it, Stats reads it.
type counters struct {
	ticks, skipped, lateTicks                                            atomic.Uint64
	decoded, fec, plc, encoded                                           atomic.Uint64
	invalid, late, duplicate, lost, underrun, dropped, inserted, resyncs atomic.Uint64
}

func (c *counters) snapshot() Stats {
	return Stats{
		Ticks: c.ticks.Load(), Skipped: c.skipped.Load(), LateTicks: c.lateTicks.Load(),
		Decoded: c.decoded.Load(), FEC: c.fec.Load(), PLC: c.plc.Load(), Encoded: c.encoded.Load(),
		Invalid: c.invalid.Load(), Late: c.late.Load(), Duplicate: c.duplicate.Load(),
		Lost: c.lost.Load(), Underrun: c.underrun.Load(), Dropped: c.dropped.Load(),
		Inserted: c.inserted.Load(), Resyncs: c.resyncs.Load(),
	}
}
