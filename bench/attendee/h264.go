package attendee

import "math/bits"

// Synthetic H.264 over RTP. As for VP8, the frames are not decodable: they
// carry what an SFU or a receiver reads — valid parameter sets (an SPS of
// constrained baseline with the layer's size, a PPS), NAL unit headers and
// plausible slice headers — followed by filler, packetized as Chrome does
// in non-interleaved mode (RFC 6184, https://www.rfc-editor.org/rfc/rfc6184):
// a keyframe is an STAP-A packet of the SPS and PPS, then the IDR slice;
// an interframe is a non-IDR slice; a slice longer than a packet goes in
// FU-A fragments.

// NAL unit types (ITU-T H.264 Table 7-1) and RFC 6184 packet types.
const (
	h264TypeMask  = 0x1f
	h264NonIDR    = 1  // coded slice of a non-IDR picture
	h264IDR       = 5  // coded slice of an IDR picture
	h264SPS       = 7  // sequence parameter set
	h264PPS       = 8  // picture parameter set
	h264STAPA     = 24 // single-time aggregation packet, RFC 6184 §5.7.1
	h264FUA       = 28 // fragmentation unit A, RFC 6184 §5.8
	h264FUStart   = 0x80
	h264FUEnd     = 0x40
	h264FUAHeader = 2 // FU indicator and FU header
)

// NAL unit headers (forbidden_zero_bit 0, nal_ref_idc, nal_unit_type) as
// Chrome's encoder writes them: parameter sets and IDR slices with
// nal_ref_idc 3, non-IDR slices 2; the STAP-A takes its units' highest.
const (
	h264HeaderSPS    = 3<<5 | h264SPS
	h264HeaderPPS    = 3<<5 | h264PPS
	h264HeaderIDR    = 3<<5 | h264IDR
	h264HeaderNonIDR = 2<<5 | h264NonIDR
	h264HeaderSTAPA  = 3<<5 | h264STAPA
)

// Stream parameters the SPS, PPS and slice headers agree on.
const (
	h264ProfileBaseline = 66   // profile_idc
	h264Constraints     = 0xe0 // constraint_set0, 1 and 2: constrained baseline (42e0..)
	h264Log2MaxFrameNum = 4    // log2_max_frame_num_minus4 = 0: frame_num is 4 bits
	h264POCType         = 2    // picture order from frame_num: no POC in slice headers
	h264SliceP          = 5    // slice_type: P, every slice of the picture
	h264SliceI          = 7    // slice_type: I, every slice of the picture
	// h264MaxSliceHeader bounds a slice header's bytes, with emulation
	// prevention.
	h264MaxSliceHeader = 12
)

// h264Level returns the level_idc a frame of mbs macroblocks needs
// (ITU-T H.264 Table A-1, MaxFS): 3.1 up to 1280x720, 4.0 up to 1080p.
func h264Level(mbs int) uint32 {
	switch {
	case mbs <= 3600:
		return 31
	case mbs <= 8192:
		return 40
	}
	return 51
}

// rbspWriter writes the bits of an RBSP (raw byte sequence payload, ITU-T
// H.264 §7.2) most significant first into a fixed buffer, with the
// descriptors of §7.2: u(n), and ue(v) and se(v), exp-Golomb (§9.1). It
// does not allocate.
type rbspWriter struct {
	buf [32]byte
	n   int // bits written
}

// u writes the low n bits of v (n at most 32).
func (w *rbspWriter) u(n int, v uint32) {
	for i := n - 1; i >= 0; i-- {
		if v>>uint(i)&1 != 0 {
			w.buf[w.n/8] |= 0x80 >> uint(w.n%8)
		}
		w.n++
	}
}

// ue writes v as an unsigned exp-Golomb code (v < 2³²-1): as many zero
// bits as v+1 has bits after its leading one, then v+1.
func (w *rbspWriter) ue(v uint32) {
	x := uint64(v) + 1
	n := bits.Len64(x)
	w.u(n-1, 0)
	w.u(n, uint32(x))
}

// se writes v as a signed exp-Golomb code (§9.1.1: k > 0 as 2k-1, else -2k).
func (w *rbspWriter) se(v int32) {
	if v > 0 {
		w.ue(uint32(v)*2 - 1)
	} else {
		w.ue(uint32(-v) * 2)
	}
}

// trailing writes rbsp_trailing_bits (§7.3.2.11): a one, then zeros to
// the byte boundary. The last byte is therefore never zero.
func (w *rbspWriter) trailing() {
	w.u(1, 1)
	for w.n%8 != 0 {
		w.n++
	}
}

// bytes returns the bytes written (after trailing).
func (w *rbspWriter) bytes() []byte { return w.buf[:(w.n+7)/8] }

// escapeRBSP copies rbsp into dst with emulation prevention (§7.4.1): a
// 0x03 after any two zero bytes followed by a byte of 0 to 3, so that the
// NAL unit never holds a start code. It returns the bytes written; dst
// must hold len(rbsp)*3/2+1.
func escapeRBSP(dst, rbsp []byte) int {
	n, zeros := 0, 0
	for _, b := range rbsp {
		if zeros == 2 && b <= 3 {
			dst[n] = 3
			n++
			zeros = 0
		}
		dst[n] = b
		n++
		if b == 0 {
			zeros++
		} else {
			zeros = 0
		}
	}
	return n
}

// h264SPSNAL returns the NAL unit of a sequence parameter set (§7.3.2.1.1)
// of constrained baseline showing width×height (even sizes: cropping
// counts in 2-pixel units in 4:2:0): whole macroblocks, the excess cropped
// off the right and bottom (§7.4.2.1.1, frame_crop_*_offset).
func h264SPSNAL(width, height int) []byte {
	wMbs, hMbs := (width+15)/16, (height+15)/16
	var w rbspWriter
	w.u(8, h264ProfileBaseline)
	w.u(8, h264Constraints) // and reserved_zero_2bits
	w.u(8, h264Level(wMbs*hMbs))
	w.ue(0)                       // seq_parameter_set_id
	w.ue(h264Log2MaxFrameNum - 4) // log2_max_frame_num_minus4
	w.ue(h264POCType)             // pic_order_cnt_type
	w.ue(1)                       // max_num_ref_frames
	w.u(1, 0)                     // gaps_in_frame_num_value_allowed_flag
	w.ue(uint32(wMbs - 1))        // pic_width_in_mbs_minus1
	w.ue(uint32(hMbs - 1))        // pic_height_in_map_units_minus1
	w.u(1, 1)                     // frame_mbs_only_flag
	w.u(1, 1)                     // direct_8x8_inference_flag
	cropRight, cropBottom := (wMbs*16-width)/2, (hMbs*16-height)/2
	if cropRight == 0 && cropBottom == 0 {
		w.u(1, 0) // frame_cropping_flag
	} else {
		w.u(1, 1)
		w.ue(0)                  // frame_crop_left_offset
		w.ue(uint32(cropRight))  // frame_crop_right_offset, in CropUnitX = 2
		w.ue(0)                  // frame_crop_top_offset
		w.ue(uint32(cropBottom)) // frame_crop_bottom_offset, in CropUnitY = 2
	}
	w.u(1, 0) // vui_parameters_present_flag
	w.trailing()
	return escapedNAL(h264HeaderSPS, w.bytes())
}

// h264PPSNAL returns the NAL unit of the picture parameter set (§7.3.2.2)
// the slices use: CAVLC, one slice group, one reference, no weighted
// prediction, QP 26, no deblocking control in slice headers.
func h264PPSNAL() []byte {
	var w rbspWriter
	w.ue(0)   // pic_parameter_set_id
	w.ue(0)   // seq_parameter_set_id
	w.u(1, 0) // entropy_coding_mode_flag: CAVLC
	w.u(1, 0) // bottom_field_pic_order_in_frame_present_flag
	w.ue(0)   // num_slice_groups_minus1
	w.ue(0)   // num_ref_idx_l0_default_active_minus1
	w.ue(0)   // num_ref_idx_l1_default_active_minus1
	w.u(1, 0) // weighted_pred_flag
	w.u(2, 0) // weighted_bipred_idc
	w.se(0)   // pic_init_qp_minus26
	w.se(0)   // pic_init_qs_minus26
	w.se(0)   // chroma_qp_index_offset
	w.u(1, 0) // deblocking_filter_control_present_flag
	w.u(1, 0) // constrained_intra_pred_flag
	w.u(1, 0) // redundant_pic_cnt_present_flag
	w.trailing()
	return escapedNAL(h264HeaderPPS, w.bytes())
}

// escapedNAL returns a NAL unit: header, then rbsp with emulation
// prevention.
func escapedNAL(header byte, rbsp []byte) []byte {
	out := make([]byte, 1+len(rbsp)*3/2+1)
	out[0] = header
	return out[:1+escapeRBSP(out[1:], rbsp)]
}

// h264Frame builds the RTP payloads of synthetic H.264 frames into reused
// buffers: no allocation per frame or packet.
type h264Frame struct {
	stap     []byte // the STAP-A packet of the SPS and PPS
	sps, pps []byte // their NAL units (within stap)
	slice    []byte // the frame's slice NAL unit: header, slice header, filler
	filler   []byte // as long as slice: what follows the slice header
	pkt      []byte // one packet's payload
	key      bool   // the frame begun last is a keyframe
	frameNum uint32 // frame_num of the last slice, 4 bits
	idrPicID uint32 // idr_pic_id of the last IDR slice
}

// newH264Frame returns a builder of frames whose slice NAL unit is size
// bytes (at least a slice header and some filler), showing width×height;
// a keyframe's SPS and PPS come on top.
func newH264Frame(width, height, size int) *h264Frame {
	f := &h264Frame{sps: h264SPSNAL(width, height), pps: h264PPSNAL(), pkt: make([]byte, maxVideoPayload)}
	// STAP-A (RFC 6184 §5.7.1): the STAP-A NAL unit header, then each
	// unit's 16-bit size and the unit.
	f.stap = make([]byte, 0, 1+2+len(f.sps)+2+len(f.pps))
	f.stap = append(f.stap, h264HeaderSTAPA, byte(len(f.sps)>>8), byte(len(f.sps)))
	f.stap = append(f.stap, f.sps...)
	f.stap = append(f.stap, byte(len(f.pps)>>8), byte(len(f.pps)))
	f.stap = append(f.stap, f.pps...)
	f.sps, f.pps = f.stap[3:3+len(f.sps)], f.stap[3+len(f.sps)+2:]

	size = max(size, 1+h264MaxSliceHeader+1)
	f.slice, f.filler = make([]byte, size), make([]byte, size)
	// Deterministic filler that looks like entropy-coded data, with no
	// zero byte: no run of zeros, hence no start code or emulation
	// prevention sequence, can appear in it.
	x := uint32(width)<<16 ^ uint32(height) ^ 0x85ebca6b
	for i := range f.filler {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		if f.filler[i] = byte(x); f.filler[i] == 0 {
			f.filler[i] = 0x5a
		}
	}
	copy(f.slice, f.filler)
	return f
}

// begin writes the slice's NAL unit header and slice header (§7.3.3) for
// a keyframe (an IDR slice, I) or an interframe (a non-IDR slice, P,
// referencing the previous frame) and returns the number of packets the
// frame takes.
func (f *h264Frame) begin(key bool) int {
	f.key = key
	var w rbspWriter
	w.ue(0) // first_mb_in_slice
	if key {
		f.frameNum = 0
		f.idrPicID ^= 1 // consecutive IDR pictures differ (§7.4.3)
		w.ue(h264SliceI)
	} else {
		f.frameNum = (f.frameNum + 1) % (1 << h264Log2MaxFrameNum)
		w.ue(h264SliceP)
	}
	w.ue(0)                              // pic_parameter_set_id
	w.u(h264Log2MaxFrameNum, f.frameNum) // frame_num
	if key {
		w.ue(f.idrPicID) // idr_pic_id
		w.u(1, 0)        // dec_ref_pic_marking: no_output_of_prior_pics_flag
		w.u(1, 0)        // long_term_reference_flag
	} else {
		w.u(1, 0) // num_ref_idx_active_override_flag
		w.u(1, 0) // ref_pic_list_modification_flag_l0
		w.u(1, 0) // dec_ref_pic_marking: adaptive_ref_pic_marking_mode_flag
	}
	w.se(0) // slice_qp_delta
	// The slice data (filler) starts at a byte boundary; the one bit
	// closing the header keeps its last byte nonzero, so no zero run
	// spans the header and the filler.
	w.trailing()
	f.slice[0] = h264HeaderNonIDR
	if key {
		f.slice[0] = h264HeaderIDR
	}
	n := 1 + escapeRBSP(f.slice[1:], w.bytes())
	copy(f.slice[n:1+h264MaxSliceHeader], f.filler[n:]) // what a longer header overwrote
	packets := f.slicePackets()
	if key {
		packets++ // the STAP-A first
	}
	return packets
}

// slicePackets is the number of packets of the slice: one single NAL unit
// packet (RFC 6184 §5.6) if it fits, else FU-A fragments.
func (f *h264Frame) slicePackets() int {
	if len(f.slice) <= maxVideoPayload {
		return 1
	}
	chunk := maxVideoPayload - h264FUAHeader
	return (len(f.slice) - 1 + chunk - 1) / chunk
}

// packet returns the RTP payload of packet i of the frame begun last; the
// slice is reused by the next call.
func (f *h264Frame) packet(i int) []byte {
	if f.key {
		if i == 0 {
			return f.pkt[:copy(f.pkt, f.stap)]
		}
		i--
	}
	if len(f.slice) <= maxVideoPayload {
		return f.pkt[:copy(f.pkt, f.slice)]
	}
	// FU-A (RFC 6184 §5.8): the FU indicator takes the NAL unit header's
	// F and NRI bits, the FU header its type with the start and end bits;
	// the fragments carry the rest of the NAL unit.
	chunk := maxVideoPayload - h264FUAHeader
	start := 1 + i*chunk
	end := min(start+chunk, len(f.slice))
	hdr := f.slice[0]
	f.pkt[0] = hdr&^h264TypeMask | h264FUA
	f.pkt[1] = hdr & h264TypeMask
	if i == 0 {
		f.pkt[1] |= h264FUStart
	}
	if end == len(f.slice) {
		f.pkt[1] |= h264FUEnd
	}
	n := copy(f.pkt[h264FUAHeader:], f.slice[start:end])
	return f.pkt[:h264FUAHeader+n]
}
