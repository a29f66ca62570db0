package protocol

import (
	"errors"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
)

// TestDecodeElementLimit: a frame within MaxFrameSize but with more than
// MaxElements fields (200,000 tiny data messages; packed stream ids) is
// refused before it is decoded; the same shapes at a normal size decode.
func TestDecodeElementLimit(t *testing.T) {
	data := func(n int) []byte {
		f := NewFrame(SdkSignalFrame_DATA_MESSAGE, time.Now())
		f.DataMessage = &SdkDataMessageFrame{}
		for range n {
			f.DataMessage.Messages = append(f.DataMessage.Messages, &SdkDataMessagePayload{Topic: proto.String("t")})
		}
		b, err := Encode(f)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	// A PAUSE whose stream ids are packed (the encoder writes them unpacked).
	pause := func(n int) []byte {
		f := NewFrame(SdkSignalFrame_PAUSE, time.Now())
		b, _ := Encode(f)
		var ids []byte
		for i := range n {
			ids = protowire.AppendVarint(ids, uint64(i%100))
		}
		var p []byte
		p = protowire.AppendTag(p, 1, protowire.BytesType)
		p = protowire.AppendBytes(p, ids)
		b = protowire.AppendTag(b, 10, protowire.BytesType)
		return protowire.AppendBytes(b, p)
	}
	for _, tc := range []struct {
		name string
		b    []byte
		ok   bool
	}{
		{"16 data messages", data(16), true},
		{"3000 data messages", data(3000), true},
		{"200000 data messages", data(200_000), false},
		{"100 packed stream ids", pause(100), true},
		{"20000 packed stream ids", pause(20_000), false},
	} {
		f, err := Decode(tc.b)
		switch {
		case tc.ok && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case !tc.ok && !errors.Is(err, ErrTooLarge):
			t.Errorf("%s: err %v, frame %v", tc.name, err, f != nil)
		case tc.ok && f.GetType() == SdkSignalFrame_PAUSE && len(f.GetPause().GetStreamIds()) != 100:
			t.Errorf("%s: %d ids", tc.name, len(f.GetPause().GetStreamIds()))
		}
	}
}
