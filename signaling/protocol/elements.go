package protocol

import (
	"fmt"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// MaxElements bounds the fields, at any depth, that one message Decode
// accepts may carry (each element of a repeated field, packed or not,
// counts as one). MaxFrameSize alone lets a 1 MiB message hold some 200,000
// tiny sub-messages, each an allocation when decoded; the client's busiest
// frames (CLIENT_METRIC, SUBSCRIBE with 25 videos) carry a few hundred.
const MaxElements = 8192

// checkElements counts the fields of b, a message of type md, and those of
// its known sub-messages, against budget, without decoding or allocating.
// Wire errors are left for the decoder to report.
func checkElements(b []byte, md protoreflect.MessageDescriptor, budget *int) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return nil
		}
		b = b[n:]
		m := protowire.ConsumeFieldValue(num, typ, b)
		if m < 0 {
			return nil
		}
		*budget--
		if typ == protowire.BytesType {
			if fd := md.Fields().ByNumber(num); fd != nil {
				v, _ := protowire.ConsumeBytes(b)
				switch {
				case fd.Message() != nil:
					if err := checkElements(v, fd.Message(), budget); err != nil {
						return err
					}
				case fd.IsList():
					*budget -= packedCount(fd.Kind(), v)
				}
			}
		}
		if *budget < 0 {
			return fmt.Errorf("%w: more than %d fields", ErrTooLarge, MaxElements)
		}
		b = b[m:]
	}
	return nil
}

// packedCount is about how many values a packed repeated field of kind k
// holds in v.
func packedCount(k protoreflect.Kind, v []byte) int {
	switch k {
	case protoreflect.Fixed32Kind, protoreflect.Sfixed32Kind, protoreflect.FloatKind:
		return len(v) / 4
	case protoreflect.Fixed64Kind, protoreflect.Sfixed64Kind, protoreflect.DoubleKind:
		return len(v) / 8
	case protoreflect.StringKind, protoreflect.BytesKind:
		return 0 // not packable: one element, counted by the caller
	}
	n := 0 // varints: one byte without the continuation bit each
	for _, c := range v {
		if c < 0x80 {
			n++
		}
	}
	return n
}
