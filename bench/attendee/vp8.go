package attendee

import "encoding/binary"

// Synthetic VP8 over RTP. The frames are not decodable: they carry what an
// SFU reads (RFC 7741 payload descriptors, the RFC 6386 frame tag and, in
// keyframes, the start code and the frame size) followed by filler.

// VP8 payload descriptor, RFC 7741 §4.2: the attendee always sends the
// extended form with a 15-bit PictureID (4 bytes), as Chrome does.
const (
	vp8BitX    = 0x80 // extended control bits present
	vp8BitS    = 0x10 // start of a VP8 partition
	vp8MaskPID = 0x07 // partition index
	vp8BitI    = 0x80 // PictureID present
	vp8BitL    = 0x40 // TL0PICIDX present
	vp8BitT    = 0x20 // TID present
	vp8BitK    = 0x10 // KEYIDX present
	vp8BitM    = 0x80 // 15-bit PictureID

	vp8DescriptorLen = 4
	// vp8KeyHeaderLen is the frame tag (3 bytes), the start code (3) and
	// the 14-bit width and height with their scale bits (2 + 2).
	vp8KeyHeaderLen   = 10
	vp8InterHeaderLen = 3 // the frame tag
)

// maxVideoPayload is the largest RTP payload the attendee sends, as a
// browser keeps packets under a typical 1200-byte path MTU budget.
const maxVideoPayload = 1200

// vp8Frame builds the RTP payloads of synthetic VP8 frames into reused
// buffers: no allocation per frame or packet.
type vp8Frame struct {
	width, height uint16
	data          []byte // one frame's VP8 bytes: header, then filler
	pkt           []byte // one packet's payload: descriptor, then a chunk
	pictureID     uint16 // 15 bits
}

// newVP8Frame returns a builder of frames of size bytes (at least a
// keyframe header) showing width×height.
func newVP8Frame(width, height, size int) *vp8Frame {
	size = max(size, vp8KeyHeaderLen+1)
	f := &vp8Frame{
		width: uint16(width), height: uint16(height),
		data: make([]byte, size), pkt: make([]byte, maxVideoPayload),
	}
	// Deterministic filler that looks like entropy-coded data.
	x := uint32(width)<<16 ^ uint32(height) ^ 0x9e3779b9
	for i := range f.data {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		f.data[i] = byte(x)
	}
	return f
}

// begin writes the frame header for a keyframe or an interframe and
// returns the number of packets the frame takes.
func (f *vp8Frame) begin(key bool) int {
	f.pictureID = (f.pictureID + 1) & 0x7fff
	// Frame tag, RFC 6386 §9.1: P (inverse key frame flag) in bit 0,
	// version in bits 1–3, show_frame in bit 4, then the 19-bit size of
	// the first partition.
	first := uint32(len(f.data)-vp8KeyHeaderLen) / 2
	tag := first<<5 | 1<<4 // version 0, shown
	if !key {
		tag |= 1
	}
	f.data[0], f.data[1], f.data[2] = byte(tag), byte(tag>>8), byte(tag>>16)
	if key {
		f.data[3], f.data[4], f.data[5] = 0x9d, 0x01, 0x2a
		binary.LittleEndian.PutUint16(f.data[6:], f.width&0x3fff) // scale 0
		binary.LittleEndian.PutUint16(f.data[8:], f.height&0x3fff)
	}
	chunk := maxVideoPayload - vp8DescriptorLen
	return (len(f.data) + chunk - 1) / chunk
}

// packet returns the RTP payload of packet i of the frame begun last; the
// slice is reused by the next call.
func (f *vp8Frame) packet(i int) []byte {
	chunk := maxVideoPayload - vp8DescriptorLen
	start := i * chunk
	end := min(start+chunk, len(f.data))
	f.pkt[0] = vp8BitX
	if i == 0 {
		f.pkt[0] |= vp8BitS // PID 0: the frame's first partition starts here
	}
	f.pkt[1] = vp8BitI
	f.pkt[2] = vp8BitM | byte(f.pictureID>>8)
	f.pkt[3] = byte(f.pictureID)
	n := copy(f.pkt[vp8DescriptorLen:], f.data[start:end])
	return f.pkt[:vp8DescriptorLen+n]
}

// VP8Frame describes the first packet of a VP8 frame: whether it is a
// keyframe and, if so, the frame size from its header.
type VP8Frame struct {
	Start         bool // S set and PID 0: the first packet of a frame
	Key           bool // a keyframe (frame tag P bit clear)
	Width, Height int  // from a keyframe's header, 0 otherwise
}

// ParseVP8 reads the RFC 7741 payload descriptor of an RTP payload and,
// for the first packet of a frame, the RFC 6386 frame tag and keyframe
// header. It never allocates; malformed payloads give a zero VP8Frame.
func ParseVP8(p []byte) VP8Frame {
	if len(p) < 1 || p[0]&vp8BitS == 0 || p[0]&vp8MaskPID != 0 {
		return VP8Frame{}
	}
	i := 1
	if p[0]&vp8BitX != 0 {
		if len(p) < 2 {
			return VP8Frame{}
		}
		x := p[1]
		i = 2
		if x&vp8BitI != 0 {
			if len(p) <= i {
				return VP8Frame{}
			}
			if p[i]&vp8BitM != 0 {
				i++
			}
			i++
		}
		if x&vp8BitL != 0 {
			i++
		}
		if x&(vp8BitT|vp8BitK) != 0 {
			i++
		}
	}
	if len(p) < i+vp8InterHeaderLen {
		return VP8Frame{}
	}
	b := p[i:]
	f := VP8Frame{Start: true, Key: b[0]&1 == 0}
	if f.Key && len(b) >= vp8KeyHeaderLen && b[3] == 0x9d && b[4] == 0x01 && b[5] == 0x2a {
		f.Width = int(binary.LittleEndian.Uint16(b[6:]) & 0x3fff)
		f.Height = int(binary.LittleEndian.Uint16(b[8:]) & 0x3fff)
	}
	return f
}
