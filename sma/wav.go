package sma

import (
	"encoding/binary"
	"errors"
	"math"
)

// maxAudioBytes is the largest prompt file the guide allows (50 MB).
const maxAudioBytes = 50 << 20

var errWAV = errors.New("sma: not a 16-bit PCM mono WAV at 8 or 16 kHz")

// decodeWAV parses a RIFF/WAVE file of 16-bit little-endian PCM, mono, at
// 8 or 16 kHz, and returns its samples at 8 kHz (16 kHz is low-pass
// filtered and decimated by 2). Anything else is errWAV.
func decodeWAV(b []byte) ([]int16, error) {
	if len(b) < 12 || string(b[0:4]) != "RIFF" || string(b[8:12]) != "WAVE" {
		return nil, errWAV
	}
	var rate uint32
	var haveFmt bool
	for p := 12; p+8 <= len(b); {
		id, size := string(b[p:p+4]), int(binary.LittleEndian.Uint32(b[p+4:p+8]))
		p += 8
		if size < 0 || size > len(b)-p {
			if id == "data" { // a streamed file may give a bogus size: take the rest
				size = len(b) - p
			} else {
				return nil, errWAV
			}
		}
		chunk := b[p : p+size]
		switch id {
		case "fmt ":
			if size < 16 {
				return nil, errWAV
			}
			format := binary.LittleEndian.Uint16(chunk[0:2])
			channels := binary.LittleEndian.Uint16(chunk[2:4])
			rate = binary.LittleEndian.Uint32(chunk[4:8])
			bits := binary.LittleEndian.Uint16(chunk[14:16])
			if format == 0xFFFE && size >= 40 { // WAVE_FORMAT_EXTENSIBLE: the sub-format's first two bytes
				format = binary.LittleEndian.Uint16(chunk[24:26])
			}
			if format != 1 || channels != 1 || bits != 16 || (rate != 8000 && rate != 16000) {
				return nil, errWAV
			}
			haveFmt = true
		case "data":
			if !haveFmt {
				return nil, errWAV
			}
			pcm := make([]int16, size/2)
			for i := range pcm {
				pcm[i] = int16(binary.LittleEndian.Uint16(chunk[2*i:]))
			}
			if rate == 16000 {
				pcm = decimate2(pcm)
			}
			return pcm, nil
		}
		p += size + size&1 // chunks are padded to even sizes
	}
	return nil, errWAV
}

// EncodeWAV writes 8 kHz mono 16-bit PCM as a RIFF/WAVE file.
func EncodeWAV(pcm []int16, rate uint32) []byte {
	b := make([]byte, 44+2*len(pcm))
	copy(b[0:], "RIFF")
	binary.LittleEndian.PutUint32(b[4:], uint32(36+2*len(pcm)))
	copy(b[8:], "WAVEfmt ")
	binary.LittleEndian.PutUint32(b[16:], 16)
	binary.LittleEndian.PutUint16(b[20:], 1) // PCM
	binary.LittleEndian.PutUint16(b[22:], 1) // mono
	binary.LittleEndian.PutUint32(b[24:], rate)
	binary.LittleEndian.PutUint32(b[28:], rate*2)
	binary.LittleEndian.PutUint16(b[32:], 2)
	binary.LittleEndian.PutUint16(b[34:], 16)
	copy(b[36:], "data")
	binary.LittleEndian.PutUint32(b[40:], uint32(2*len(pcm)))
	for i, s := range pcm {
		binary.LittleEndian.PutUint16(b[44+2*i:], uint16(s))
	}
	return b
}

// decimate2 halves the sample rate: a 63-tap Hann-windowed sinc low-pass
// at 3.6 kHz (of 16 kHz), then every other sample.
func decimate2(in []int16) []int16 {
	const taps = 63
	var h [taps]float64
	var sum float64
	for i := range h {
		n := float64(i - taps/2)
		x := 2 * 3600.0 / 16000 * n
		s := 1.0
		if n != 0 {
			s = math.Sin(math.Pi*x) / (math.Pi * x)
		}
		w := 0.5 - 0.5*math.Cos(2*math.Pi*float64(i)/(taps-1))
		h[i] = s * w
		sum += h[i]
	}
	out := make([]int16, len(in)/2)
	for o := range out {
		c := 2 * o
		var acc float64
		for k := range h {
			j := c + k - taps/2
			if j >= 0 && j < len(in) {
				acc += h[k] / sum * float64(in[j])
			}
		}
		out[o] = int16(max(-32768, min(32767, math.Round(acc))))
	}
	return out
}
