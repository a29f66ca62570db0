package attendee

import (
	"cmp"
	"slices"
	"sync"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// keyframesKept is how many received keyframes a track remembers.
const keyframesKept = 64

// maxSSRCsKept bounds the distinct SSRCs a track remembers.
const maxSSRCsKept = 8

// pliInterval is how often a track that has not had a keyframe yet asks
// for one, as a browser's video receive stream does.
const pliInterval = 500 * time.Millisecond

// Keyframe is one received keyframe.
type Keyframe struct {
	At time.Time
	// Packet is the ordinal of its first packet on the track: 1 for the
	// track's first packet.
	Packet        uint64
	SSRC          uint32
	Seq           uint16
	Timestamp     uint32
	Width, Height int
}

// VideoStats describes one received video track (one recvonly m-line).
type VideoStats struct {
	Mid string
	// Label is the msid stream id of the remote track, which SUBSCRIBE_ACK
	// tracks[].track_label maps to a stream id.
	Label, TrackID string
	// StreamID is the stream the track carries now: from the last
	// SUBSCRIBE_ACK tracks[], or the last REMOTE_VIDEO_UPDATE sent for its
	// mid; 0 if unknown.
	StreamID uint32
	// Codec is the MIME type of the track's codec (of its last packet's
	// payload type): "video/VP8" or "video/H264"; PayloadType is that
	// payload type.
	Codec       string
	PayloadType uint8

	Packets uint64
	Bytes   uint64 // RTP payload bytes
	Frames  uint64 // packets with the marker bit
	// SSRCs are the distinct SSRCs seen (at most 8), in order: a track
	// keeps one across layer switches.
	SSRCs []uint32
	// Sequence numbers, by serial-number arithmetic against the highest
	// seen: SeqGaps counts forward jumps of more than one, SeqLost the
	// numbers they skipped, MaxSeqGap the largest jump; SeqBackwards
	// counts packets older than the highest, SeqDuplicates repeats of it.
	SeqGaps, SeqLost, SeqBackwards, SeqDuplicates uint64
	MaxSeqGap                                     uint16
	// TSBackwards counts packets whose timestamp is older than the
	// highest seen.
	TSBackwards uint64

	// Keyframes counts the keyframes: for VP8 their first packets, for
	// H.264 the first packet of a frame (timestamp) that holds an SPS or
	// an IDR slice. LastKeyWidth and LastKeyHeight are the last one's
	// size, from the VP8 keyframe header or the H.264 SPS (the last SPS
	// received if that frame's was lost).
	Keyframes                   uint64
	LastKeyWidth, LastKeyHeight int
	// PLIsSent counts the keyframe requests the attendee sent because
	// the track had not had a keyframe yet (its first ones were early
	// media, dropped: see early.go).
	PLIsSent uint64
	// KeyframeLog holds the last 64 keyframes, oldest first.
	KeyframeLog []Keyframe

	// Freezes counts the times a frame came more than FreezeGap after the
	// one before it; FrozenFor sums those gaps; MaxFrameGap is the longest
	// time between two frames (the marker bit ends a frame). SizeChanges
	// counts keyframes whose size differs from the previous keyframe's:
	// the forwarded layer switched.
	Freezes     uint64
	FrozenFor   time.Duration
	MaxFrameGap time.Duration
	SizeChanges uint64

	FirstArrival, LastArrival time.Time
	// LastFrame is when the last frame ended (its marker bit arrived).
	LastFrame time.Time
}

// FreezeGap is the time without a frame that counts as a freeze.
const FreezeGap = 500 * time.Millisecond

// Until returns the stats as they stand at end, with a freeze still going
// on then counted: a track whose last frame is more than FreezeGap before
// end gets one more freeze, that gap in FrozenFor and MaxFrameGap. Freezes
// are otherwise counted when the next frame ends them, so a stream that
// froze for good before a run ended would show none.
func (st VideoStats) Until(end time.Time) VideoStats {
	if st.Frames == 0 || st.LastFrame.IsZero() {
		return st
	}
	if gap := end.Sub(st.LastFrame); gap > FreezeGap {
		st.Freezes++
		st.FrozenFor += gap
		st.MaxFrameGap = max(st.MaxFrameGap, gap)
	}
	return st
}

// videoRx is the receive state of one video track, updated by its reader
// goroutine. It allocates nothing per packet.
type videoRx struct {
	mu       sync.Mutex
	st       VideoStats // slices unused here: see ssrcs and keys
	ssrcs    [maxSSRCsKept]uint32
	nSSRCs   int
	keys     [keyframesKept]Keyframe
	keysNext int
	keysN    int
	highSeq  uint16
	highTS   uint32
	frameAt  time.Time // when the last frame ended

	h264 bool // the track's payload is H.264 (else VP8)
	// An H.264 keyframe spans packets (STAP-A of SPS and PPS, then the
	// IDR slice): the first of a frame counts. h264Key* is the last one
	// counted, spsWidth and spsHeight the size of the last SPS.
	h264Keyed              bool
	h264KeyTS, h264KeySSRC uint32
	spsWidth, spsHeight    int
}

// setCodec makes the track's packets parse as mime's (VP8 unless H.264).
func (r *videoRx) setCodec(mime string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.st.Codec, r.h264 = mime, isH264(mime)
}

// notePayloadType records the payload type the track's packets carry.
func (r *videoRx) notePayloadType(pt uint8) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.st.PayloadType = pt
}

// keyframe reports whether p starts a keyframe, and its frame size, by
// the track's codec. Called with mu held.
func (r *videoRx) keyframe(p *rtp.Packet) (key bool, width, height int) {
	if !r.h264 {
		f := ParseVP8(p.Payload)
		return f.Key, f.Width, f.Height
	}
	f := ParseH264(p.Payload)
	if f.Width > 0 {
		r.spsWidth, r.spsHeight = f.Width, f.Height
	}
	if !f.Key || (r.h264Keyed && p.Timestamp == r.h264KeyTS && p.SSRC == r.h264KeySSRC) {
		return false, 0, 0
	}
	r.h264Keyed, r.h264KeyTS, r.h264KeySSRC = true, p.Timestamp, p.SSRC
	return true, r.spsWidth, r.spsHeight
}

// record folds one packet into the stats and reports whether it starts
// a keyframe.
func (r *videoRx) record(p *rtp.Packet, now time.Time) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	key, width, height := r.keyframe(p)
	st := &r.st
	if st.Packets == 0 {
		st.FirstArrival = now
		r.highSeq, r.highTS = p.SequenceNumber-1, p.Timestamp
	}
	st.Packets++
	st.Bytes += uint64(len(p.Payload))
	st.LastArrival = now
	if p.Marker {
		st.Frames++
		if !r.frameAt.IsZero() {
			gap := now.Sub(r.frameAt)
			st.MaxFrameGap = max(st.MaxFrameGap, gap)
			if gap > FreezeGap {
				st.Freezes++
				st.FrozenFor += gap
			}
		}
		r.frameAt = now
		st.LastFrame = now
	}
	if !slices.Contains(r.ssrcs[:r.nSSRCs], p.SSRC) && r.nSSRCs < maxSSRCsKept {
		r.ssrcs[r.nSSRCs] = p.SSRC
		r.nSSRCs++
	}
	switch d := int16(p.SequenceNumber - r.highSeq); {
	case d == 1:
		r.highSeq = p.SequenceNumber
	case d > 1:
		st.SeqGaps++
		st.SeqLost += uint64(d - 1)
		st.MaxSeqGap = max(st.MaxSeqGap, uint16(d))
		r.highSeq = p.SequenceNumber
	case d == 0:
		st.SeqDuplicates++
	default:
		st.SeqBackwards++
	}
	if d := int32(p.Timestamp - r.highTS); d < 0 {
		st.TSBackwards++
	} else {
		r.highTS = p.Timestamp
	}
	if key {
		if st.Keyframes > 0 && (width != st.LastKeyWidth || height != st.LastKeyHeight) {
			st.SizeChanges++
		}
		st.Keyframes++
		st.LastKeyWidth, st.LastKeyHeight = width, height
		r.keys[r.keysNext] = Keyframe{
			At: now, Packet: st.Packets, SSRC: p.SSRC, Seq: p.SequenceNumber, Timestamp: p.Timestamp,
			Width: width, Height: height,
		}
		r.keysNext = (r.keysNext + 1) % keyframesKept
		r.keysN = min(r.keysN+1, keyframesKept)
	}
	return key
}

// snapshot returns a copy of the stats.
func (r *videoRx) snapshot() VideoStats {
	r.mu.Lock()
	defer r.mu.Unlock()
	st := r.st
	st.SSRCs = slices.Clone(r.ssrcs[:r.nSSRCs])
	st.KeyframeLog = make([]Keyframe, 0, r.keysN)
	for i := r.keysN; i > 0; i-- {
		st.KeyframeLog = append(st.KeyframeLog, r.keys[(r.keysNext-i+keyframesKept)%keyframesKept])
	}
	return st
}

// midOf returns the mid of the transceiver whose receiver is r.
func (a *Attendee) midOf(r *webrtc.RTPReceiver) string {
	for _, tr := range a.pc.GetTransceivers() {
		if tr.Receiver() == r {
			return tr.Mid()
		}
	}
	return ""
}

// readVideo is the reader goroutine of one remote video track (run by
// onTrack): every packet is recorded under the track's mid (see
// receiveVideo).
func (a *Attendee) readVideo(t *webrtc.TrackRemote, r *webrtc.RTPReceiver) {
	mid := a.midOf(r)
	a.log.Debug("attendee: remote video", "mid", mid, "stream", t.StreamID(), "track", t.ID())
	a.vrxMu.Lock()
	rx := a.vrx[mid]
	if rx == nil {
		rx = &videoRx{}
		a.vrx[mid] = rx
	}
	a.vrxMu.Unlock()
	rx.receive(t, mid, a.pc.WriteRTCP)
}

// receive reads t until it ends, recording every packet. Until the
// track's first keyframe it asks for one by RTCP PLI (through writeRTCP)
// every pliInterval, as a browser does when it cannot start decoding.
// It reuses its buffer and packet: only a PLI allocates.
func (rx *videoRx) receive(t *webrtc.TrackRemote, mid string, writeRTCP func([]rtcp.Packet) error) {
	rx.mu.Lock()
	rx.st.Mid, rx.st.Label, rx.st.TrackID = mid, t.StreamID(), t.ID()
	rx.mu.Unlock()
	pt := t.PayloadType()
	rx.setCodec(t.Codec().MimeType)
	rx.notePayloadType(uint8(pt))
	buf := make([]byte, 1500)
	var pkt rtp.Packet
	var keyed bool
	var pliAt time.Time
	for {
		n, _, err := t.Read(buf)
		if err != nil {
			return
		}
		if pkt.Unmarshal(buf[:n]) != nil {
			continue
		}
		if webrtc.PayloadType(pkt.PayloadType) != pt {
			// Another codec on the same track (the server switched its
			// source): t read the packet and took its codec.
			pt = webrtc.PayloadType(pkt.PayloadType)
			rx.setCodec(t.Codec().MimeType)
			rx.notePayloadType(pkt.PayloadType)
		}
		now := time.Now()
		if rx.record(&pkt, now) {
			keyed = true
		} else if !keyed && now.Sub(pliAt) >= pliInterval {
			pliAt = now
			if writeRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: pkt.SSRC}}) == nil {
				rx.mu.Lock()
				rx.st.PLIsSent++
				rx.mu.Unlock()
			}
		}
	}
}

// VideoTracks returns the stats of every received video track, by mid.
func (a *Attendee) VideoTracks() []VideoStats {
	a.vrxMu.Lock()
	rxs := make([]*videoRx, 0, len(a.vrx))
	for _, rx := range a.vrx {
		rxs = append(rxs, rx)
	}
	a.vrxMu.Unlock()
	out := make([]VideoStats, 0, len(rxs))
	for _, rx := range rxs {
		out = append(out, a.withStream(rx.snapshot()))
	}
	slices.SortFunc(out, func(x, y VideoStats) int { return cmp.Compare(x.Mid, y.Mid) })
	return out
}

// VideoTrack returns the stats of the video track received on mid.
func (a *Attendee) VideoTrack(mid string) (VideoStats, bool) {
	a.vrxMu.Lock()
	rx := a.vrx[mid]
	a.vrxMu.Unlock()
	if rx == nil {
		return VideoStats{}, false
	}
	return a.withStream(rx.snapshot()), true
}

// VideoStream returns the stats of the received track that carries
// streamID now (see VideoStats.StreamID).
func (a *Attendee) VideoStream(streamID uint32) (VideoStats, bool) {
	for _, st := range a.VideoTracks() {
		if st.StreamID == streamID {
			return st, true
		}
	}
	return VideoStats{}, false
}
