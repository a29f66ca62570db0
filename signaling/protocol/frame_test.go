package protocol

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
)

// roundTrip encodes f, checks the framing and decodes it back.
func roundTrip(t *testing.T, f *SdkSignalFrame) *SdkSignalFrame {
	t.Helper()
	b, err := Encode(f)
	if err != nil {
		t.Fatalf("Encode: %v", err)
	}
	if b[0] != FramePrefix {
		t.Fatalf("prefix 0x%02x, want 0x05", b[0])
	}
	got, err := Decode(b)
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	if !proto.Equal(got, f) {
		t.Fatalf("round trip changed the frame:\n got %v\nwant %v", got, f)
	}
	if a, err := AppendEncode([]byte("xyz"), f); err != nil || !bytes.Equal(a, append([]byte("xyz"), b...)) {
		t.Fatalf("AppendEncode = %x, %v; want xyz+%x", a, err, b)
	}
	return got
}

func TestRoundTripServerFrames(t *testing.T) {
	for _, fx := range serverFrames() {
		t.Run(fx.name, func(t *testing.T) { roundTrip(t, fx.frame) })
	}
}

func TestRoundTripClientFrames(t *testing.T) {
	for _, fx := range clientFrames() {
		t.Run(fx.name, func(t *testing.T) { roundTrip(t, fx.frame) })
	}
}

// TestEveryTypeHasFixture keeps the fixtures complete as the Type enum grows.
func TestEveryTypeHasFixture(t *testing.T) {
	seen := map[SdkSignalFrame_Type]bool{}
	for _, fx := range append(serverFrames(), clientFrames()...) {
		seen[fx.frame.GetType()] = true
	}
	values := SdkSignalFrame_JOIN.Descriptor().Values()
	for i := range values.Len() {
		if ty := SdkSignalFrame_Type(values.Get(i).Number()); !seen[ty] {
			t.Errorf("no fixture of type %v", ty)
		}
	}
}

// Section 3, "decode defaults that bite": what an absent field reads as.
func TestDefaults(t *testing.T) {
	if v := (&SdkJoinFrame{}).GetProtocolVersion(); v != 2 {
		t.Errorf("absent protocol_version reads %d, want 2", v)
	}
	if v := (&SdkSubscribeFrame{}).GetDuplex(); v != SdkStreamServiceType_RX {
		t.Errorf("absent duplex reads %v, want RX", v)
	}
	if v := (&SdkNotificationFrame{}).GetLevel(); v != SdkNotificationFrame_ERROR {
		t.Errorf("absent level reads %v, want ERROR", v)
	}
	// Like the client, an absent media_type reads as AUDIO: video sources
	// must set it.
	if v := (&SdkStreamDescriptor{}).GetMediaType(); v != SdkStreamMediaType_AUDIO {
		t.Errorf("absent media_type reads %v, want AUDIO", v)
	}
	if v := (&SdkJoinAckFrame{}).GetDefaultServerSideNetworkAdaption(); v != SdkServerSideNetworkAdaption_DEFAULT {
		t.Errorf("absent default_server_side_network_adaption reads %v, want DEFAULT", v)
	}
	// Defaults are not written: an unset field stays off the wire.
	b, err := Encode(frame(SdkSignalFrame_JOIN, func(f *SdkSignalFrame) { f.Join = &SdkJoinFrame{} }))
	if err != nil {
		t.Fatal(err)
	}
	f, err := Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	if f.Join.ProtocolVersion != nil {
		t.Errorf("unset protocol_version came back set")
	}
}

// The client checks presence, not value, for muted (hasOwnProperty) and
// reads an absent media_type as AUDIO: explicit values must reach the wire.
func TestExplicitFieldsReachTheWire(t *testing.T) {
	var index, info *SdkSignalFrame
	for _, fx := range serverFrames() {
		switch fx.name {
		case "INDEX with video sources":
			index = fx.frame
		case "AUDIO_STREAM_ID_INFO presence, mute, drop":
			info = fx.frame
		}
	}
	got := roundTrip(t, index)
	for i, s := range got.GetIndex().GetSources() {
		if s.MediaType == nil || *s.MediaType != SdkStreamMediaType_VIDEO {
			t.Errorf("sources[%d].media_type = %v, want explicit VIDEO", i, s.MediaType)
		}
	}
	b, _ := Encode(index)
	if n := countField(t, subMessages(t, fieldBytes(t, b[1:], 8), 2), 9); n != 3 {
		t.Errorf("media_type on the wire in %d of 3 sources", n)
	}

	streams := roundTrip(t, info).GetAudioStreamIdInfo().GetStreams()
	if streams[0].Muted != nil {
		t.Errorf("streams[0]: unset muted came back present")
	}
	if streams[1].Muted == nil || *streams[1].Muted {
		t.Errorf("streams[1]: explicit muted=false lost: %v", streams[1].Muted)
	}
	if !streams[2].GetMuted() || streams[2].AttendeeId != nil {
		t.Errorf("streams[2]: want muted-only update, got %v", streams[2])
	}
	if !streams[3].GetDropped() {
		t.Errorf("streams[3]: want dropped")
	}
	b, _ = Encode(info)
	if n := countField(t, subMessages(t, fieldBytes(t, b[1:], 19), 1), 3); n != 2 {
		t.Errorf("muted on the wire in %d of 4 streams, want 2", n)
	}
}

// TestDecodeGoldenJoin decodes a JOIN encoded by hand as the SDK sends it.
func TestDecodeGoldenJoin(t *testing.T) {
	f, err := Decode(goldenJoin())
	if err != nil {
		t.Fatal(err)
	}
	if f.GetType() != SdkSignalFrame_JOIN || f.GetTimestampMs() != goldenTimestampMs {
		t.Fatalf("type %v ts %d", f.GetType(), f.GetTimestampMs())
	}
	j := f.GetJoin()
	switch {
	case j == nil:
		t.Fatal("no join")
	case j.ProtocolVersion == nil || j.GetProtocolVersion() != 2:
		t.Errorf("protocol_version %v", j.ProtocolVersion)
	case j.GetMaxNumOfVideos() != 25:
		t.Errorf("max_num_of_videos %d", j.GetMaxNumOfVideos())
	case j.GetFlags() != uint32(SdkJoinFlags_HAS_STREAM_UPDATE):
		t.Errorf("flags %d", j.GetFlags())
	case j.GetAudioSessionId() != goldenAudioSessionID:
		t.Errorf("audio_session_id %#x", j.GetAudioSessionId())
	case !j.GetWantsCompressedSdp():
		t.Errorf("wants_compressed_sdp false")
	case j.GetClientDetails().GetAppName() != "demo" || j.GetClientDetails().GetChimeSdkVersion() != "3.33.0":
		t.Errorf("client_details %v", j.GetClientDetails())
	case j.GetServerSideNetworkAdaption() != SdkServerSideNetworkAdaption_DEFAULT:
		t.Errorf("server_side_network_adaption %v", j.GetServerSideNetworkAdaption())
	case len(j.GetSupportedServerSideNetworkAdaptions()) != 1 ||
		j.GetSupportedServerSideNetworkAdaptions()[0] != SdkServerSideNetworkAdaption_BANDWIDTH_PROBING_AND_VIDEO_QUALITY_ADAPTION:
		t.Errorf("supported adaptions %v", j.GetSupportedServerSideNetworkAdaptions())
	case len(j.ProtoReflect().GetUnknown()) != 0 || len(f.ProtoReflect().GetUnknown()) != 0:
		t.Errorf("unknown fields left over")
	}
	// Encoding the decoded frame gives the SDK's bytes back: same fields,
	// same (ascending) order.
	b, err := Encode(f)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b, goldenJoin()) {
		t.Errorf("re-encoded JOIN differs:\n got %x\nwant %x", b, goldenJoin())
	}
}

func TestDecodeGoldenPing(t *testing.T) {
	for _, prefix := range []byte{FramePrefix, LegacyFramePrefix} {
		b := goldenPing(1)
		b[0] = prefix
		f, err := Decode(b)
		if err != nil {
			t.Fatalf("prefix 0x%02x: %v", prefix, err)
		}
		want := &SdkSignalFrame{
			TimestampMs: proto.Uint64(goldenTimestampMs),
			Type:        SdkSignalFrame_PING_PONG.Enum(),
			PingPong:    &SdkPingPongFrame{Type: SdkPingPongType_PING.Enum(), PingId: proto.Uint32(1)},
		}
		if !proto.Equal(f, want) {
			t.Errorf("prefix 0x%02x: got %v, want %v", prefix, f, want)
		}
	}
}

// TestEncodePongWire checks the bytes of a PONG field by field.
func TestEncodePongWire(t *testing.T) {
	now := time.UnixMilli(goldenTimestampMs)
	f := NewFrame(SdkSignalFrame_PING_PONG, now)
	f.PingPong = &SdkPingPongFrame{Type: SdkPingPongType_PONG.Enum(), PingId: proto.Uint32(300)}
	b, err := Encode(f)
	if err != nil {
		t.Fatal(err)
	}
	if b[0] != 0x05 {
		t.Fatalf("prefix 0x%02x", b[0])
	}
	fields := wireFields(t, b[1:])
	want := []wireField{
		{1, protowire.VarintType, goldenTimestampMs, nil},
		{2, protowire.VarintType, 19, nil},
		{20, protowire.BytesType, 0, nil},
	}
	if len(fields) != len(want) {
		t.Fatalf("got %d top-level fields, want %d: %v", len(fields), len(want), fields)
	}
	for i, w := range want {
		g := fields[i]
		if g.num != w.num || g.typ != w.typ || (w.typ == protowire.VarintType && g.v != w.v) {
			t.Errorf("field %d: got %d/%d/%d, want %d/%d/%d", i, g.num, g.typ, g.v, w.num, w.typ, w.v)
		}
	}
	pp := wireFields(t, fields[2].b)
	if len(pp) != 2 || pp[0].String() != (wireField{1, protowire.VarintType, 2, nil}).String() ||
		pp[1].String() != (wireField{2, protowire.VarintType, 300, nil}).String() {
		t.Errorf("ping_pong fields %v, want [{1 varint 2} {2 varint 300}]", pp)
	}
	// And the exact bytes, to catch an extra or reordered byte.
	wantBytes := []byte{0x05, 0x08}
	wantBytes = protowire.AppendVarint(wantBytes, goldenTimestampMs)
	wantBytes = append(wantBytes, 0x10, 19, 0xa2, 0x01, 5, 0x08, 2, 0x10, 0xac, 0x02)
	if !bytes.Equal(b, wantBytes) {
		t.Errorf("PONG bytes\n got %x\nwant %x", b, wantBytes)
	}
}

func TestNewFrame(t *testing.T) {
	f := NewFrame(SdkSignalFrame_INDEX, testTime)
	if f.TimestampMs == nil || *f.TimestampMs != uint64(testTime.UnixMilli()) || f.GetType() != SdkSignalFrame_INDEX {
		t.Errorf("NewFrame = %v", f)
	}
	if got := NewFrame(SdkSignalFrame_JOIN, time.Unix(-5, 0)).GetTimestampMs(); got != 0 {
		t.Errorf("pre-epoch timestamp = %d, want 0", got)
	}
	if _, err := Encode(NewFrame(SdkSignalFrame_LEAVE_ACK, time.Time{})); err != nil {
		t.Errorf("zero time: %v", err)
	}
}

func TestDecodeErrors(t *testing.T) {
	pingNoID := []byte{0x05}
	pingNoID = protowire.AppendTag(pingNoID, 1, protowire.VarintType)
	pingNoID = protowire.AppendVarint(pingNoID, 1)
	pingNoID = protowire.AppendTag(pingNoID, 2, protowire.VarintType)
	pingNoID = protowire.AppendVarint(pingNoID, 19)
	pingNoID = protowire.AppendTag(pingNoID, 20, protowire.BytesType)
	pingNoID = protowire.AppendBytes(pingNoID, []byte{0x08, 0x01}) // type only

	unknownType := func(withTimestamp bool, extra ...byte) []byte {
		b := []byte{0x05}
		if withTimestamp {
			b = append(b, 0x08, 0x01)
		}
		return append(append(b, 0x10, 99), extra...) // type = 99
	}

	oversized := make([]byte, MaxFrameSize+1)
	oversized[0] = 0x05

	join := goldenJoin()
	cases := []struct {
		name string
		in   []byte
		want error
	}{
		{"nil", nil, ErrEmpty},
		{"empty", []byte{}, ErrEmpty},
		{"text JSON", []byte(`{"type":"JOIN"}`), ErrPrefix},
		{"no prefix", join[1:], ErrPrefix},
		{"prefix 0x00", append([]byte{0x00}, join[1:]...), ErrPrefix},
		{"prefix 0x06", append([]byte{0x06}, join[1:]...), ErrPrefix},
		{"oversized", oversized, ErrTooLarge},
		{"prefix only", []byte{0x05}, ErrMalformed},
		{"truncated", join[:len(join)-3], ErrMalformed},
		{"truncated varint", []byte{0x05, 0x08, 0x80}, ErrMalformed},
		{"bad wire type", []byte{0x05, 0x0f}, ErrMalformed},
		{"field number 0", []byte{0x05, 0x00, 0x01}, ErrMalformed},
		{"no timestamp", []byte{0x05, 0x10, 0x13}, ErrMalformed},
		{"no type", []byte{0x05, 0x08, 0x01}, ErrMalformed},
		{"type with wrong wire type", []byte{0x05, 0x08, 0x01, 0x12, 0x00}, ErrMalformed},
		{"ping_pong without ping_id", pingNoID, ErrMalformed},
		{"unknown type", unknownType(true), ErrUnknownType},
		{"unknown type, no timestamp", unknownType(false), ErrMalformed},
		{"unknown type, bad sub-frame", unknownType(true, 0xa2, 0x01, 0x02, 0x08, 0x01), ErrMalformed},
	}
	sentinels := []error{ErrEmpty, ErrPrefix, ErrTooLarge, ErrMalformed, ErrUnknownType, ErrIncomplete}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f, err := Decode(c.in)
			if !errors.Is(err, c.want) {
				t.Fatalf("Decode = %v, %v; want %v", f, err, c.want)
			}
			if f != nil {
				t.Errorf("frame returned with error")
			}
			for _, s := range sentinels {
				if s != c.want && errors.Is(err, s) {
					t.Errorf("%v also wraps %v", err, s)
				}
			}
		})
	}

	// ErrMalformed wraps the protobuf error too.
	_, err := Decode(pingNoID)
	if err == nil || !strings.Contains(err.Error(), "ping_id") {
		t.Errorf("missing-field error does not name the field: %v", err)
	}
	var pe interface{ Unwrap() []error }
	if !errors.As(err, &pe) || len(pe.Unwrap()) != 2 {
		t.Errorf("error does not wrap the protobuf error: %v", err)
	}
	// MaxFrameSize itself is accepted.
	big := frame(SdkSignalFrame_DATA_MESSAGE, func(f *SdkSignalFrame) {
		f.DataMessage = &SdkDataMessageFrame{Messages: []*SdkDataMessagePayload{{Data: make([]byte, MaxFrameSize-32)}}}
	})
	b, err := Encode(big)
	if err != nil {
		t.Fatal(err)
	}
	b = padTo(t, b, MaxFrameSize)
	if _, err := Decode(b); err != nil {
		t.Errorf("frame of exactly MaxFrameSize: %v", err)
	}
	if _, err := Decode(append(b, 0)); !errors.Is(err, ErrTooLarge) {
		t.Errorf("frame of MaxFrameSize+1: %v", err)
	}
}

// padTo appends an unknown bytes field (number 1000) so that b is n bytes long.
func padTo(t *testing.T, b []byte, n int) []byte {
	t.Helper()
	for l := n - len(b); l >= 0; l-- {
		p := protowire.AppendTag(append([]byte(nil), b...), 1000, protowire.BytesType)
		p = protowire.AppendBytes(p, make([]byte, l))
		if len(p) == n {
			return p
		}
	}
	t.Fatalf("cannot pad %d bytes to %d", len(b), n)
	return nil
}

func TestEncodeErrors(t *testing.T) {
	pingNoID := NewFrame(SdkSignalFrame_PING_PONG, testTime)
	pingNoID.PingPong = &SdkPingPongFrame{Type: SdkPingPongType_PONG.Enum()}
	noMid := NewFrame(SdkSignalFrame_REMOTE_VIDEO_UPDATE, testTime)
	noMid.RemoteVideoUpdate = &SdkRemoteVideoUpdateFrame{
		AddedOrUpdatedVideoSubscriptions: []*SdkVideoSubscriptionConfiguration{{StreamId: proto.Uint32(3)}},
	}
	cases := []struct {
		name string
		f    *SdkSignalFrame
		want string
	}{
		{"nil", nil, "nil frame"},
		{"no timestamp", &SdkSignalFrame{Type: SdkSignalFrame_INDEX.Enum()}, "timestamp_ms"},
		{"no type", &SdkSignalFrame{TimestampMs: proto.Uint64(1)}, "type"},
		{"empty", &SdkSignalFrame{}, "timestamp_ms"},
		{"pong without ping_id", pingNoID, "ping_id"},
		{"subscription without mid", noMid, "mid"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dst := []byte("keep")
			b, err := AppendEncode(dst, c.f)
			if !errors.Is(err, ErrIncomplete) || !strings.Contains(err.Error(), c.want) {
				t.Errorf("AppendEncode error = %v, want ErrIncomplete naming %q", err, c.want)
			}
			if string(b) != "keep" {
				t.Errorf("dst changed to %q", b)
			}
			if b, err := Encode(c.f); b != nil || !errors.Is(err, ErrIncomplete) {
				t.Errorf("Encode = %x, %v", b, err)
			}
		})
	}
}

// Values the server does not know must not break decoding.
func TestUnknownValues(t *testing.T) {
	// CLIENT_METRIC: global_metrics [{type: 128, value: 1.5}, {type: 250}].
	var m1, m2 []byte
	m1 = protowire.AppendTag(m1, 1, protowire.VarintType)
	m1 = protowire.AppendVarint(m1, 128)
	m1 = protowire.AppendTag(m1, 2, protowire.Fixed64Type)
	m1 = protowire.AppendFixed64(m1, 0x3FF8000000000000) // 1.5
	m2 = protowire.AppendTag(m2, 1, protowire.VarintType)
	m2 = protowire.AppendVarint(m2, 250)
	var cm []byte
	cm = protowire.AppendTag(cm, 1, protowire.BytesType)
	cm = protowire.AppendBytes(cm, m1)
	cm = protowire.AppendTag(cm, 1, protowire.BytesType)
	cm = protowire.AppendBytes(cm, m2)
	b := []byte{0x05, 0x08, 0x01, 0x10, 21, 0xb2, 0x01} // type CLIENT_METRIC, field 22
	b = protowire.AppendBytes(b, cm)
	f, err := Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	gm := f.GetClientMetric().GetGlobalMetrics()
	if len(gm) != 2 || gm[0].GetType() != 128 || gm[0].GetValue() != 1.5 || gm[1].GetType() != 250 {
		t.Errorf("metrics = %v", gm)
	}

	// SUBSCRIBE whose send stream has media_type 7 (unknown), with packed
	// receive_stream_ids and an unknown top-level field 99.
	var sd []byte
	sd = protowire.AppendTag(sd, 1, protowire.VarintType)
	sd = protowire.AppendVarint(sd, 2)
	sd = protowire.AppendTag(sd, 9, protowire.VarintType)
	sd = protowire.AppendVarint(sd, 7)
	var sub []byte
	sub = protowire.AppendTag(sub, 2, protowire.BytesType)
	sub = protowire.AppendBytes(sub, sd)
	sub = protowire.AppendTag(sub, 3, protowire.BytesType) // packed
	sub = protowire.AppendBytes(sub, []byte{0, 12, 0x96, 0x01})
	b = []byte{0x05, 0x08, 0x01, 0x10, 3, 0x32}
	b = protowire.AppendBytes(b, sub)
	b = protowire.AppendTag(b, 99, protowire.BytesType)
	b = protowire.AppendString(b, "future")
	f, err = Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	s := f.GetSub()
	if got := s.GetReceiveStreamIds(); len(got) != 3 || got[0] != 0 || got[1] != 12 || got[2] != 150 {
		t.Errorf("packed receive_stream_ids = %v", got)
	}
	// protobuf-go keeps an unknown value of a proto2 enum in the field (a
	// spec-conformant decoder would move it to the unknown fields).
	if d := s.GetSendStreams()[0]; d.GetMediaType() != 7 || d.GetStreamId() != 2 {
		t.Errorf("unknown media_type: %v (unknown %x)", d, d.ProtoReflect().GetUnknown())
	}
	// Unknown data survives a re-encode.
	b2, err := Encode(f)
	if err != nil {
		t.Fatal(err)
	}
	f2, err := Decode(b2)
	if err != nil || !proto.Equal(f, f2) {
		t.Errorf("re-decode = %v, %v", f2, err)
	}
	if !bytes.Contains(b2, []byte("future")) {
		t.Errorf("unknown field dropped")
	}
}

// wireField is one decoded protobuf field: v for varints, b for bytes.
type wireField struct {
	num protowire.Number
	typ protowire.Type
	v   uint64
	b   []byte
}

func (w wireField) String() string {
	if w.typ == protowire.BytesType {
		return fmt.Sprintf("{%d bytes len %d}", w.num, len(w.b))
	}
	return fmt.Sprintf("{%d wiretype %d %d}", w.num, w.typ, w.v)
}

func wireFields(t *testing.T, b []byte) []wireField {
	t.Helper()
	var out []wireField
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			t.Fatalf("bad tag: %v", protowire.ParseError(n))
		}
		b = b[n:]
		f := wireField{num: num, typ: typ}
		switch typ {
		case protowire.VarintType:
			f.v, n = protowire.ConsumeVarint(b)
		case protowire.BytesType:
			f.b, n = protowire.ConsumeBytes(b)
		default:
			n = protowire.ConsumeFieldValue(num, typ, b)
		}
		if n < 0 {
			t.Fatalf("bad field %d: %v", num, protowire.ParseError(n))
		}
		b = b[n:]
		out = append(out, f)
	}
	return out
}

// fieldBytes returns the payload of the single bytes field num in b.
func fieldBytes(t *testing.T, b []byte, num protowire.Number) []byte {
	t.Helper()
	got := subMessages(t, b, num)
	if len(got) != 1 {
		t.Fatalf("field %d occurs %d times", num, len(got))
	}
	return got[0]
}

// subMessages returns the payloads of every bytes field num in b.
func subMessages(t *testing.T, b []byte, num protowire.Number) [][]byte {
	t.Helper()
	var out [][]byte
	for _, f := range wireFields(t, b) {
		if f.num == num && f.typ == protowire.BytesType {
			out = append(out, f.b)
		}
	}
	return out
}

// countField counts the messages in ms that carry field num.
func countField(t *testing.T, ms [][]byte, num protowire.Number) int {
	t.Helper()
	n := 0
	for _, m := range ms {
		for _, f := range wireFields(t, m) {
			if f.num == num {
				n++
				break
			}
		}
	}
	return n
}

// unknownType finds the type a closed-enum decoder leaves in the unknown
// fields (the path of Decode that protobuf-go's open enums never take).
func TestUnknownTypeInUnknownFields(t *testing.T) {
	var b []byte
	b = protowire.AppendTag(b, 3, protowire.BytesType)
	b = protowire.AppendString(b, "x")
	b = protowire.AppendTag(b, 2, protowire.VarintType)
	b = protowire.AppendVarint(b, 77)
	b = protowire.AppendTag(b, 2, protowire.Fixed32Type) // wrong wire type: not a type
	b = protowire.AppendFixed32(b, 5)
	b = protowire.AppendTag(b, 2, protowire.VarintType)
	b = protowire.AppendVarint(b, 99) // last one wins
	if v, ok := unknownType(b); !ok || v != 99 {
		t.Errorf("unknownType = %d, %v; want 99, true", v, ok)
	}
	if v, ok := unknownType(b[:5]); !ok || v != 77 {
		t.Errorf("unknownType(%x) = %d, %v; want 77, true", b[:5], v, ok)
	}
	if _, ok := unknownType(b[:3]); ok {
		t.Errorf("found a type in %x", b[:3])
	}
	if _, ok := unknownType([]byte{0x10}); ok { // truncated
		t.Errorf("found a type in a truncated varint")
	}
}
