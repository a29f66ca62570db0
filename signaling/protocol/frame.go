// Package protocol is Confab's client-signaling wire schema and frame codec:
// the protobuf messages exchanged on the signaling WebSocket with the
// unmodified amazon-chime-sdk-js 3.x browser client.
//
// Framing (fact sheet /work/shared/docs/chime-signaling.md, section 2; the
// schema is section 3): every WebSocket message is BINARY and consists of one
// prefix byte, 0x05 ([FramePrefix]), followed by a proto2-encoded
// [SdkSignalFrame]. The client also accepts 0x02 ([LegacyFramePrefix]), so
// [Decode] does too; [Encode] always writes 0x05. Text messages are not
// part of the protocol. Every frame must carry timestamp_ms (milliseconds
// since the Unix epoch; the client derives clock skew from it) and type;
// the client rejects frames without them, so [Encode] refuses to produce
// them. There is no error frame type: an [SdkErrorFrame] rides in the error
// field of any frame.
//
// The Go types in signaling.pb.go are generated from signaling.proto (see
// generate.go). The schema is proto2 with required fields, and both
// directions enforce them: the client's decoder rejects a server frame
// missing one, and [Decode] rejects a client frame missing one.
package protocol

import (
	"fmt"
	"time"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
)

const (
	// FramePrefix is the first byte of every signaling message.
	FramePrefix byte = 0x05
	// LegacyFramePrefix is an older prefix the client also accepts; Decode
	// accepts it, Encode never writes it.
	LegacyFramePrefix byte = 0x02
	// MaxFrameSize is the largest message, prefix byte included, that Decode
	// accepts. The client's largest frames are SUBSCRIBE with a full SDP
	// offer (tens of KiB) and CLIENT_METRIC; 1 MiB leaves ample room while
	// bounding the memory one message can cost.
	MaxFrameSize = 1 << 20
)

// Decode parses one WebSocket message: a 0x05 (or 0x02) prefix byte and an
// SdkSignalFrame. It fails with an error wrapping ErrEmpty, ErrTooLarge
// (over MaxFrameSize bytes or MaxElements fields, checked before decoding),
// ErrPrefix, ErrMalformed (bad wire format or a missing required field, at
// any depth; the protobuf error is wrapped as well) or ErrUnknownType (a
// well-formed frame whose type this package does not know).
//
// A returned frame always has timestamp_ms and a known type. Unknown fields
// are kept in the message's unknown fields, unknown values of other enum
// fields are kept in the field as numbers (protobuf-go treats proto2 enums
// as open), and both survive a re-encode. The returned frame does not
// alias b.
func Decode(b []byte) (*SdkSignalFrame, error) {
	switch {
	case len(b) == 0:
		return nil, ErrEmpty
	case len(b) > MaxFrameSize:
		return nil, fmt.Errorf("%w: %d bytes, max %d", ErrTooLarge, len(b), MaxFrameSize)
	case b[0] != FramePrefix && b[0] != LegacyFramePrefix:
		return nil, fmt.Errorf("%w: 0x%02x", ErrPrefix, b[0])
	}
	budget := MaxElements
	if err := checkElements(b[1:], (*SdkSignalFrame)(nil).ProtoReflect().Descriptor(), &budget); err != nil {
		return nil, err
	}
	f := new(SdkSignalFrame)
	// Decode first and check required fields second (the same checks
	// proto.Unmarshal does by default), so that a frame whose only fault is
	// an unknown type can be told apart from a malformed one.
	if err := (proto.UnmarshalOptions{AllowPartial: true}).Unmarshal(b[1:], f); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	if err := proto.CheckInitialized(f); err != nil {
		// Spec-conformant proto2 (closed enum) decoding leaves an unknown
		// type in the unknown fields, so the required type reads as missing.
		if f.Type == nil {
			if t, ok := unknownType(f.ProtoReflect().GetUnknown()); ok {
				f.Type = SdkSignalFrame_JOIN.Enum() // any known value
				if proto.CheckInitialized(f) == nil {
					return nil, fmt.Errorf("%w: %d", ErrUnknownType, t)
				}
			}
		}
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	// protobuf-go decodes proto2 enums as open (a documented deviation from
	// the spec): an unknown type is kept in the field as a number.
	if t := f.GetType(); t.Descriptor().Values().ByNumber(t.Number()) == nil {
		return nil, fmt.Errorf("%w: %d", ErrUnknownType, t)
	}
	return f, nil
}

// unknownType returns the value of the last varint field 2 (type) in a
// message's unknown fields: where a decoder that treats proto2 enums as
// closed puts a value it does not know.
func unknownType(unknown []byte) (v uint64, found bool) {
	for len(unknown) > 0 {
		num, typ, n := protowire.ConsumeTag(unknown)
		if n < 0 {
			return v, found
		}
		unknown = unknown[n:]
		if num == 2 && typ == protowire.VarintType {
			x, m := protowire.ConsumeVarint(unknown)
			if m < 0 {
				return v, found
			}
			v, found = x, true
			unknown = unknown[m:]
			continue
		}
		m := protowire.ConsumeFieldValue(num, typ, unknown)
		if m < 0 {
			return v, found
		}
		unknown = unknown[m:]
	}
	return v, found
}

// Encode returns f as one WebSocket message: FramePrefix followed by the
// protobuf encoding of f. f must have timestamp_ms and type set, and every
// required field of its sub-messages (ping_pong.type and ping_id,
// video subscription mid); otherwise Encode fails with an error wrapping
// ErrIncomplete, since the client would reject the frame.
func Encode(f *SdkSignalFrame) ([]byte, error) {
	return AppendEncode(nil, f)
}

// AppendEncode is Encode appending to dst. On error it returns dst
// unchanged (its length; bytes past it may have been written).
func AppendEncode(dst []byte, f *SdkSignalFrame) ([]byte, error) {
	switch {
	case f == nil:
		return dst, fmt.Errorf("%w: nil frame", ErrIncomplete)
	case f.TimestampMs == nil:
		return dst, fmt.Errorf("%w: timestamp_ms not set", ErrIncomplete)
	case f.Type == nil:
		return dst, fmt.Errorf("%w: type not set", ErrIncomplete)
	}
	if err := proto.CheckInitialized(f); err != nil {
		return dst, fmt.Errorf("%w: %w", ErrIncomplete, err)
	}
	out, err := (proto.MarshalOptions{AllowPartial: true}).MarshalAppend(append(dst, FramePrefix), f)
	if err != nil {
		return dst, fmt.Errorf("signaling protocol: encode: %w", err)
	}
	return out, nil
}

// NewFrame returns a frame with type t and timestamp_ms set from now
// (milliseconds since the Unix epoch, 0 for times before it): the two fields
// every frame needs. Set the payload field that goes with t, e.g.
//
//	f := protocol.NewFrame(protocol.SdkSignalFrame_PING_PONG, time.Now())
//	f.PingPong = &protocol.SdkPingPongFrame{Type: protocol.SdkPingPongType_PONG.Enum(), PingId: ping.PingId}
func NewFrame(t SdkSignalFrame_Type, now time.Time) *SdkSignalFrame {
	ms := now.UnixMilli()
	if ms < 0 {
		ms = 0
	}
	return &SdkSignalFrame{TimestampMs: proto.Uint64(uint64(ms)), Type: t.Enum()}
}
