package sfu

import (
	"encoding/binary"
	"strings"

	"github.com/pion/webrtc/v4"
)

// vp8Size returns the frame size carried by the first packet of a VP8
// keyframe: after the RTP payload descriptor (RFC 7741 §4.2), the
// keyframe's uncompressed data chunk holds a 3-byte frame tag, the start
// code 9d 01 2a and 14-bit width and height (RFC 6386 §9.1).
func vp8Size(mime string, p []byte) (w, h uint32, ok bool) {
	if !strings.EqualFold(mime, webrtc.MimeTypeVP8) || len(p) < 1 {
		return 0, 0, false
	}
	i := 1
	if p[0]&0x80 != 0 { // X: extension byte
		if len(p) < 2 {
			return 0, 0, false
		}
		x := p[1]
		i = 2
		if x&0x80 != 0 { // I: PictureID, 7 or 15 bits
			if len(p) <= i {
				return 0, 0, false
			}
			if p[i]&0x80 != 0 {
				i++
			}
			i++
		}
		if x&0x40 != 0 { // L: TL0PICIDX
			i++
		}
		if x&0x30 != 0 { // T or K: TID/Y/KEYIDX
			i++
		}
	}
	b := p[min(i, len(p)):]
	if len(b) < 10 || b[0]&0x01 != 0 || b[3] != 0x9d || b[4] != 0x01 || b[5] != 0x2a {
		return 0, 0, false
	}
	w = uint32(binary.LittleEndian.Uint16(b[6:8]) & 0x3fff)
	h = uint32(binary.LittleEndian.Uint16(b[8:10]) & 0x3fff)
	return w, h, w > 0 && h > 0
}
