package rtpfwd

import (
	"time"

	"github.com/pion/rtp"
)

// Forwarder rewrites packets from several source streams (the simulcast
// layers of one publisher, each with its own SSRC, sequence-number and
// timestamp space) onto ONE continuous output stream for one subscriber, so
// the receiver sees a single SSRC whose sequence numbers and timestamps
// never jump backwards or leave gaps that look like loss when the source
// changes.
//
// Within the forwarded ("current") source, output sequence number and
// timestamp are the input ones plus per-source offsets (mod 2^16 and 2^32),
// so reordered and retransmitted packets keep their relative positions;
// packets older than the one the Forwarder switched onto that source at are
// dropped. A switch happens only at a keyframe of the target source, whose
// first packet takes the next output sequence number and a timestamp
// advanced by the wall time since the last forwarded packet.
//
// SSRC 0 stands for "no source": packets carrying SSRC 0 are dropped.
//
// A Forwarder is not safe for concurrent use: the caller serialises calls.
type Forwarder struct {
	clockRate uint32

	target  uint32 // source to forward, 0 when paused
	current uint32 // source being forwarded, 0 when none

	// Mapping of the current source onto the output (valid if current != 0).
	seqOffset  uint16
	tsOffset   uint32
	baseExt    int64 // extended input seq of the switch packet
	highestExt int64 // extended highest input seq forwarded

	// Output stream so far.
	started bool      // a packet has been forwarded
	lastSeq uint16    // highest output seq sent (seqStart−1 before any)
	lastTs  uint32    // highest output timestamp sent (tsStart before any)
	lastAt  time.Time // arrival of the latest forwarded packet
}

// NewForwarder returns a paused Forwarder for a codec whose RTP clock runs at
// clockRate Hz (90000 for video). Its first forwarded packet will carry
// sequence number seqStart and timestamp tsStart (RFC 3550 §5.1 recommends
// random initial values).
func NewForwarder(clockRate uint32, seqStart uint16, tsStart uint32) *Forwarder {
	return &Forwarder{
		clockRate: clockRate,
		lastSeq:   seqStart - 1,
		lastTs:    tsStart,
	}
}

// SetTarget chooses the source (by SSRC) to forward. If it differs from the
// current one, the current source keeps being forwarded until a keyframe of
// the target arrives, then forwarding switches to the target at that packet.
// Before anything was forwarded, nothing is sent until a target keyframe
// arrives. SetTarget(0) stops forwarding at once (pause); a later target is
// then resumed at its next keyframe, continuing the same output stream.
func (f *Forwarder) SetTarget(ssrc uint32) {
	f.target = ssrc
	if ssrc == 0 {
		f.current = 0
	}
}

// Forward is called with every packet of the group's sources (any SSRC;
// packets of neither the current nor the target source are dropped). isKey
// says whether the packet starts a keyframe (the caller computes it with
// [IsKeyframe]). now is the packet's arrival time.
//
// It returns false if the packet must be dropped; otherwise it has rewritten
// h.SequenceNumber and h.Timestamp in place (SSRC and payload type are the
// caller's business).
func (f *Forwarder) Forward(h *rtp.Header, isKey bool, now time.Time) bool {
	switch {
	case h.SSRC == 0:
		return false
	case h.SSRC == f.current:
		return f.forwardCurrent(h, now)
	case h.SSRC == f.target && isKey:
		f.switchTo(h, now)
		return true
	}
	return false
}

// forwardCurrent maps a packet of the current source onto the output.
func (f *Forwarder) forwardCurrent(h *rtp.Header, now time.Time) bool {
	ext := unwrapSeq(f.highestExt, h.SequenceNumber)
	if ext < f.baseExt {
		return false // before the switch point: the receiver never saw its source
	}
	seq := h.SequenceNumber + f.seqOffset
	ts := h.Timestamp + f.tsOffset
	if ext > f.highestExt {
		f.highestExt = ext
		f.lastSeq = seq
	}
	if tsNewer(ts, f.lastTs) {
		f.lastTs = ts
	}
	if now.After(f.lastAt) {
		f.lastAt = now
	}
	h.SequenceNumber, h.Timestamp = seq, ts
	return true
}

// switchTo makes the source of h, a keyframe's first packet, the current
// one: h gets the sequence number after the highest sent and a timestamp at
// least one tick (about a frame interval after a real switch) past the
// highest sent.
func (f *Forwarder) switchTo(h *rtp.Header, now time.Time) {
	seq := f.lastSeq + 1
	ts := f.lastTs
	if f.started {
		ts += max(1, durationTicks(now.Sub(f.lastAt), f.clockRate))
	}
	f.current = h.SSRC
	f.seqOffset = seq - h.SequenceNumber
	f.tsOffset = ts - h.Timestamp
	f.baseExt = int64(h.SequenceNumber)
	f.highestExt = f.baseExt
	f.started = true
	f.lastSeq, f.lastTs, f.lastAt = seq, ts, now
	h.SequenceNumber, h.Timestamp = seq, ts
}

// WantsKeyframe reports the target's SSRC (0 when paused) and whether the
// Forwarder is waiting for a keyframe of it (the caller then asks the
// publisher for one, rate-limited with a [KeyframeRequester]). It is not
// waiting when paused or when the target is already being forwarded.
func (f *Forwarder) WantsKeyframe() (ssrc uint32, waiting bool) {
	return f.target, f.target != 0 && f.target != f.current
}

// Current returns the SSRC being forwarded (0 if none).
func (f *Forwarder) Current() uint32 { return f.current }
