package protocol

import (
	"errors"
	"testing"

	"google.golang.org/protobuf/proto"
)

// FuzzDecode feeds arbitrary WebSocket messages to Decode. It must never
// panic; every failure wraps exactly one sentinel; and every frame it
// accepts re-encodes to a message that decodes to an equal frame.
//
// Seeds: the hand-encoded golden frames, the SDK-encoded vectors and every
// fixture of the conversation, as the client and the server send them.
func FuzzDecode(f *testing.F) {
	f.Add(goldenJoin())
	f.Add(goldenPing(1))
	f.Add(goldenPing(0xFFFFFFFF))
	for name := range sdkVectors {
		f.Add(sdkVector(f, name))
	}
	for _, fx := range append(serverFrames(), clientFrames()...) {
		b, err := Encode(fx.frame)
		if err != nil {
			f.Fatalf("%s: %v", fx.name, err)
		}
		f.Add(b)
	}
	f.Add([]byte{})
	f.Add([]byte{0x05})
	f.Add([]byte{0x02, 0x08, 0x01, 0x10, 0x13})
	f.Add([]byte{0x05, 0x08, 0x01, 0x10, 99})

	sentinels := []error{ErrEmpty, ErrPrefix, ErrTooLarge, ErrMalformed, ErrUnknownType}
	f.Fuzz(func(t *testing.T, b []byte) {
		fr, err := Decode(b)
		if err != nil {
			if fr != nil {
				t.Fatalf("frame returned with error %v", err)
			}
			n := 0
			for _, s := range sentinels {
				if errors.Is(err, s) {
					n++
				}
			}
			if n != 1 {
				t.Fatalf("error %v wraps %d sentinels", err, n)
			}
			return
		}
		enc, err := Encode(fr)
		if err != nil {
			t.Fatalf("decoded frame does not encode: %v\n%v", err, fr)
		}
		if enc[0] != FramePrefix {
			t.Fatalf("prefix 0x%02x", enc[0])
		}
		if len(enc) > MaxFrameSize {
			return // packed input re-encoded unpacked can grow past the limit
		}
		fr2, err := Decode(enc)
		if err != nil {
			t.Fatalf("re-encoded frame does not decode: %v\n%x", err, enc)
		}
		if !proto.Equal(fr, fr2) {
			t.Fatalf("re-encode changed the frame:\n got %v\nwant %v", fr2, fr)
		}
	})
}
