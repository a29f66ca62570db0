package rtpfwd

// VP8 payload descriptor, RFC 7741 §4.2
// (https://www.rfc-editor.org/rfc/rfc7741#section-4.2):
//
//	      0 1 2 3 4 5 6 7
//	     +-+-+-+-+-+-+-+-+
//	     |X|R|N|S|R| PID | (REQUIRED)
//	     +-+-+-+-+-+-+-+-+
//	X:   |I|L|T|K| RSV   | (OPTIONAL)
//	     +-+-+-+-+-+-+-+-+
//	I:   |M| PictureID   | (OPTIONAL, second byte if M: 15-bit PictureID)
//	     +-+-+-+-+-+-+-+-+
//	L:   |   TL0PICIDX   | (OPTIONAL)
//	     +-+-+-+-+-+-+-+-+
//	T/K: |TID|Y| KEYIDX  | (OPTIONAL, one byte if T or K)
//	     +-+-+-+-+-+-+-+-+
//
// It is followed by the VP8 payload, whose first packet of a frame starts
// with the VP8 payload header, RFC 7741 §4.3
// (https://www.rfc-editor.org/rfc/rfc7741#section-4.3):
//
//	|Size0|H| VER |P|   P: inverse key frame flag, 0 for a key frame
const (
	vp8BitX    = 0x80 // extended control bits present
	vp8BitS    = 0x10 // start of VP8 partition
	vp8MaskPID = 0x07 // partition index
	vp8BitI    = 0x80 // PictureID present
	vp8BitL    = 0x40 // TL0PICIDX present
	vp8BitT    = 0x20 // TID present
	vp8BitK    = 0x10 // KEYIDX present
	vp8BitM    = 0x80 // PictureID is 15 bits long
	vp8BitP    = 0x01 // inverse key frame flag
)

// vp8Keyframe reports whether payload (an RTP payload of a VP8 stream) is
// the first packet of a key frame: S set, PID 0 (the start of the frame) and
// the payload header's P bit clear.
func vp8Keyframe(payload []byte) bool {
	if len(payload) < 1 {
		return false
	}
	b := payload[0]
	if b&vp8BitS == 0 || b&vp8MaskPID != 0 {
		return false
	}
	i := 1
	if b&vp8BitX != 0 {
		if len(payload) < 2 {
			return false
		}
		x := payload[1]
		i = 2
		if x&vp8BitI != 0 {
			if len(payload) <= i {
				return false
			}
			if payload[i]&vp8BitM != 0 {
				i += 2
			} else {
				i++
			}
		}
		if x&vp8BitL != 0 {
			i++
		}
		if x&(vp8BitT|vp8BitK) != 0 {
			i++
		}
	}
	if len(payload) <= i {
		return false
	}
	return payload[i]&vp8BitP == 0
}
