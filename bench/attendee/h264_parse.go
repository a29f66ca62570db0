package attendee

// Reading received H.264 (RFC 6184 payloads, ITU-T H.264 parameter sets):
// whether a packet starts a keyframe, as the SFU's forwarder decides it
// (sfu/rtpfwd), and the frame size an SPS describes. The input is what the
// network delivered: every length is checked, every loop bounded, and
// nothing allocates.

// H264Packet describes one RTP payload of an H.264 stream.
type H264Packet struct {
	// Key: the payload is, aggregates, or starts a fragment of, an IDR
	// slice or a sequence parameter set (which precedes the IDR picture).
	// Chrome sends a keyframe as an STAP-A of SPS and PPS, then the IDR
	// slice's fragments: both packets are Key.
	Key bool
	// Width and Height are the cropped frame size of the first valid SPS
	// the payload carries whole (single NAL unit or STAP-A), 0 otherwise.
	Width, Height int
}

// ParseH264 reads an RTP payload of H.264 in packetization mode 0 or 1
// (RFC 6184 §5.6 single NAL unit, §5.7.1 STAP-A, §5.8 FU-A): the
// interleaved types (STAP-B, MTAP, FU-B) and reserved ones give a zero
// H264Packet, as do malformed payloads. It never panics or allocates.
func ParseH264(p []byte) H264Packet {
	var out H264Packet
	if len(p) < 1 {
		return out
	}
	switch t := p[0] & h264TypeMask; {
	case t >= 1 && t <= 23:
		out.nal(p)
	case t == h264STAPA:
		// Aggregation units: a 16-bit size, then the NAL unit. A malformed
		// unit ends the walk; what came before it counts.
		for units := p[1:]; len(units) >= 2; {
			size := int(units[0])<<8 | int(units[1])
			units = units[2:]
			if size == 0 || size > len(units) {
				break
			}
			out.nal(units[:size])
			units = units[size:]
		}
	case t == h264FUA:
		// FU indicator, then the FU header |S|E|R|Type|.
		if len(p) >= 2 && p[1]&h264FUStart != 0 {
			ft := p[1] & h264TypeMask
			out.Key = ft == h264IDR || ft == h264SPS
		}
	}
	return out
}

// nal folds one whole NAL unit (header first) into out.
func (out *H264Packet) nal(u []byte) {
	switch u[0] & h264TypeMask {
	case h264IDR:
		out.Key = true
	case h264SPS:
		out.Key = true
		if out.Width == 0 {
			out.Width, out.Height, _ = parseSPS(u[1:])
		}
	}
}

// Bounds on what parseSPS accepts: a frame at most 16384 pixels (1024
// macroblocks) either way, beyond any level of Table A-1.
const (
	spsMaxMbs         = 1024
	spsMaxRefInCycle  = 255 // num_ref_frames_in_pic_order_cnt_cycle (§7.4.2.1.1)
	spsMaxLog2Minus4  = 12  // log2_max_frame_num_minus4, log2_max_pic_order_cnt_lsb_minus4
	spsMaxBitDepthExt = 6   // bit_depth_*_minus8 (up to 14 bits)
)

// parseSPS reads the frame size from a sequence parameter set RBSP with
// its emulation prevention bytes (the NAL unit after its header), ITU-T
// H.264 §7.3.2.1.1: pic_width_in_mbs_minus1, pic_height_in_map_units_minus1
// and frame_mbs_only_flag give the decoded size in macroblocks, the
// frame_crop_*_offset values (in CropUnitX and CropUnitY, §7.4.2.1.1)
// what is cut off it. ok is false for a truncated or out-of-range SPS.
func parseSPS(b []byte) (width, height int, ok bool) {
	r := bitReader{b: b}
	profile := r.u(8)
	r.u(8)           // constraint_set flags, reserved_zero_2bits
	r.u(8)           // level_idc
	if r.ue() > 31 { // seq_parameter_set_id
		return 0, 0, false
	}
	chromaFormat, separateColour := uint32(1), uint32(0) // 4:2:0 unless said
	switch profile {
	case 100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135:
		if chromaFormat = r.ue(); chromaFormat > 3 {
			return 0, 0, false
		}
		if chromaFormat == 3 {
			separateColour = r.u(1)
		}
		lumaDepth, chromaDepth := r.ue(), r.ue() // bit_depth_luma/chroma_minus8
		if lumaDepth > spsMaxBitDepthExt || chromaDepth > spsMaxBitDepthExt {
			return 0, 0, false
		}
		r.u(1)           // qpprime_y_zero_transform_bypass_flag
		if r.u(1) == 1 { // seq_scaling_matrix_present_flag
			lists := 8
			if chromaFormat == 3 {
				lists = 12
			}
			for i := range lists {
				if r.u(1) == 1 { // seq_scaling_list_present_flag[i]
					size := 16
					if i >= 6 {
						size = 64
					}
					if !r.skipScalingList(size) {
						return 0, 0, false
					}
				}
			}
		}
	}
	if r.ue() > spsMaxLog2Minus4 { // log2_max_frame_num_minus4
		return 0, 0, false
	}
	switch r.ue() { // pic_order_cnt_type
	case 0:
		if r.ue() > spsMaxLog2Minus4 { // log2_max_pic_order_cnt_lsb_minus4
			return 0, 0, false
		}
	case 1:
		r.u(1)      // delta_pic_order_always_zero_flag
		r.se()      // offset_for_non_ref_pic
		r.se()      // offset_for_top_to_bottom_field
		n := r.ue() // num_ref_frames_in_pic_order_cnt_cycle
		if n > spsMaxRefInCycle {
			return 0, 0, false
		}
		for range n {
			r.se() // offset_for_ref_frame[i]
		}
	case 2:
	default:
		return 0, 0, false
	}
	r.ue()               // max_num_ref_frames
	r.u(1)               // gaps_in_frame_num_value_allowed_flag
	wMbs := r.ue() + 1   // pic_width_in_mbs_minus1
	hUnits := r.ue() + 1 // pic_height_in_map_units_minus1
	frameMbsOnly := r.u(1)
	if frameMbsOnly == 0 {
		r.u(1) // mb_adaptive_frame_field_flag
	}
	r.u(1) // direct_8x8_inference_flag
	var cropL, cropR, cropT, cropB uint32
	if r.u(1) == 1 { // frame_cropping_flag
		cropL, cropR, cropT, cropB = r.ue(), r.ue(), r.ue(), r.ue()
	}
	if r.err || wMbs == 0 || hUnits == 0 || wMbs > spsMaxMbs || hUnits > spsMaxMbs {
		return 0, 0, false
	}
	// CropUnitX and CropUnitY (equations 7-19 to 7-22).
	chromaArray := chromaFormat
	if separateColour == 1 {
		chromaArray = 0
	}
	fieldFactor := int64(2 - frameMbsOnly)
	unitX, unitY := int64(1), fieldFactor
	if chromaArray != 0 {
		subW, subH := int64(2), int64(2) // 4:2:0
		switch chromaArray {
		case 2: // 4:2:2
			subH = 1
		case 3: // 4:4:4
			subW, subH = 1, 1
		}
		unitX, unitY = subW, subH*fieldFactor
	}
	w := int64(wMbs)*16 - unitX*(int64(cropL)+int64(cropR))
	h := fieldFactor*int64(hUnits)*16 - unitY*(int64(cropT)+int64(cropB))
	if w <= 0 || h <= 0 {
		return 0, 0, false
	}
	return int(w), int(h), true
}

// bitReader reads an RBSP's bits most significant first from a NAL
// unit's bytes, dropping the emulation prevention bytes (a 0x03 after two
// zero bytes, §7.4.1). Reading past the end sets err and gives zeros.
type bitReader struct {
	b     []byte
	i     int  // next byte of b
	zeros int  // zero bytes just read, for emulation prevention
	cur   byte // the byte being read
	left  int  // its bits not read yet
	err   bool
}

func (r *bitReader) bit() uint32 {
	if r.left == 0 {
		for {
			if r.i >= len(r.b) {
				r.err = true
				return 0
			}
			c := r.b[r.i]
			r.i++
			if r.zeros >= 2 && c == 3 {
				r.zeros = 0
				continue // emulation_prevention_three_byte
			}
			if c == 0 {
				r.zeros++
			} else {
				r.zeros = 0
			}
			r.cur, r.left = c, 8
			break
		}
	}
	r.left--
	return uint32(r.cur>>uint(r.left)) & 1
}

// u reads n bits (n at most 32).
func (r *bitReader) u(n int) uint32 {
	var v uint32
	for range n {
		v = v<<1 | r.bit()
	}
	return v
}

// ue reads an unsigned exp-Golomb code (§9.1); more than 31 leading zeros
// (a value beyond 32 bits) is an error.
func (r *bitReader) ue() uint32 {
	zeros := 0
	for r.bit() == 0 {
		if zeros++; zeros > 31 || r.err {
			r.err = true
			return 0
		}
	}
	return 1<<uint(zeros) - 1 + r.u(zeros)
}

// se reads a signed exp-Golomb code (§9.1.1).
func (r *bitReader) se() int64 {
	k := int64(r.ue())
	if k&1 == 1 {
		return (k + 1) / 2
	}
	return -k / 2
}

// skipScalingList reads past a scaling_list of size entries (§7.3.2.1.1.1);
// a delta_scale outside -128..127 is an error.
func (r *bitReader) skipScalingList(size int) bool {
	last, next := int64(8), int64(8)
	for range size {
		if next != 0 {
			d := r.se()
			if d < -128 || d > 127 || r.err {
				return false
			}
			next = (last + d + 256) % 256
		}
		if next != 0 {
			last = next
		}
	}
	return !r.err
}
