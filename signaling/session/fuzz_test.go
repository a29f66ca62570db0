package session

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/coder/websocket"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/confab-media/confab/signaling/protocol"
)

// FuzzSession drives a real joined session (a WebSocket through httptest,
// JOIN first, a second attendee watching) with up to 64 frames built from
// the input: any frame type (and an unknown one), with its payload present
// or absent, other payload fields and the error field at random, every
// field of those filled or not with random values (protobuf reflection, so
// new schema fields are covered), and now and then raw bytes.
//
// It must hold that: no panic is contained (Params.Panics stays 0: a
// contained panic is still a bug); Media never gets a frame without the
// payload it needs (strictMedia); the fuzzed session either still answers
// a PING or ended with 1000 (LEAVE), 4400 or a drop; and the watcher's
// session goes on.
//
// The checked-in corpus (testdata/fuzz/FuzzSession) has, per frame type,
// the frame with no payload, with an empty one and with every field set;
// `make fuzz` explores further.
func FuzzSession(f *testing.F) {
	f.Add([]byte{2, 0})                              // SUBSCRIBE, no sub: the 10-byte frame
	f.Add([]byte{16, 1, 0xff, 0xff, 0xff, 0xff, 40}) // DATA_MESSAGE with messages
	f.Fuzz(func(t *testing.T, data []byte) {
		panics := &counter{}
		media := &strictMedia{t: t}
		fx := newFixture(t, func(c *Config, p *Params) { p.Media, p.Panics = media, panics })
		m := fx.meeting("fuzz")
		cs := joinAll(t, fx, m.MeetingId, "user-watch", "user-fuzz")
		watch, fz := cs[0], cs[1]

		r := &fuzzBytes{b: data}
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		defer cancel()
		for n := 0; n < 64 && r.more(); n++ {
			if fz.c.Write(ctx, websocket.MessageBinary, r.message()) != nil {
				break // the server closed the session
			}
		}
		settle(t, fz.client)
		watch.sync()
		if n := panics.n.Load(); n != 0 {
			t.Fatalf("%d panics contained", n)
		}
	})
}

// settle checks that cl's session still answers a PING, or that it ended
// the way a misbehaving client's session may end.
func settle(t *testing.T, cl *client) {
	t.Helper()
	b, _ := protocol.Encode(ping(4242))
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	_ = cl.c.Write(ctx, websocket.MessageBinary, b)
	timeout := time.After(wait)
	for {
		select {
		case fr, ok := <-cl.frames:
			if !ok {
				switch code := websocket.CloseStatus(cl.err); code {
				case -1, CloseNormal, CloseBadRequest:
					return
				default:
					t.Fatalf("session closed with %d: %v", code, cl.err)
				}
			}
			if fr.GetType() == protocol.SdkSignalFrame_PING_PONG && fr.GetPingPong().GetPingId() == 4242 {
				return
			}
		case <-timeout:
			t.Fatal("no PONG and no close")
		}
	}
}

// fuzzBytes hands out the input a bit, a byte or a number at a time; past
// its end everything reads as zero.
type fuzzBytes struct {
	b    []byte
	bits byte
	nbit int
}

func (r *fuzzBytes) more() bool { return len(r.b) > 0 }

func (r *fuzzBytes) byte() byte {
	if len(r.b) == 0 {
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

func (r *fuzzBytes) bit() bool {
	if r.nbit == 0 {
		r.bits, r.nbit = r.byte(), 8
	}
	v := r.bits&1 == 1
	r.bits >>= 1
	r.nbit--
	return v
}

// number is small most of the time, now and then a full 64-bit value.
func (r *fuzzBytes) number() uint64 {
	switch c := r.byte(); c {
	case 0xff:
		var v uint64
		for range 8 {
			v = v<<8 | uint64(r.byte())
		}
		return v
	case 0xfe:
		return math.MaxUint32
	default:
		return uint64(c)
	}
}

var fuzzStrings = []string{"", "chat", "a-topic_1", "aws:chime:x", "v=0\r\n", "\x00\xff\xfe", string(make([]byte, 40))}

func (r *fuzzBytes) str() string {
	c := int(r.byte())
	if c < len(fuzzStrings) {
		return fuzzStrings[c]
	}
	return string(r.raw(c % 64))
}

func (r *fuzzBytes) raw(n int) []byte {
	n = min(n, len(r.b))
	out := r.b[:n:n]
	r.b = r.b[n:]
	return out
}

// message is one WebSocket message: mostly a frame (see FuzzSession), raw
// bytes after a 0xff op.
func (r *fuzzBytes) message() []byte {
	op := r.byte()
	if op == 0xff {
		return r.raw(int(r.byte()))
	}
	types := protocol.SdkSignalFrame_JOIN.Descriptor().Values()
	typ := protocol.SdkSignalFrame_Type(99) // unknown
	if i := int(op) % (types.Len() + 1); i < types.Len() {
		typ = protocol.SdkSignalFrame_Type(types.Get(i).Number())
	}
	f := protocol.NewFrame(typ, time.Now())
	fm := f.ProtoReflect()
	fields := fm.Descriptor().Fields()
	if r.bit() { // the payload that goes with the type
		if fd := fields.ByName(payloadField[typ]); fd != nil {
			fillMessage(fm.Mutable(fd).Message(), r, 0)
		}
	}
	if r.bit() { // another payload field
		if fd := fields.Get(int(r.byte()) % fields.Len()); fd.Message() != nil {
			fillMessage(fm.Mutable(fd).Message(), r, 0)
		}
	}
	b, _ := proto.MarshalOptions{AllowPartial: true}.Marshal(f)
	return append([]byte{protocol.FramePrefix}, b...)
}

// payloadField names the SdkSignalFrame field each type carries.
var payloadField = map[protocol.SdkSignalFrame_Type]protoreflect.Name{
	protocol.SdkSignalFrame_JOIN: "join", protocol.SdkSignalFrame_JOIN_ACK: "joinack",
	protocol.SdkSignalFrame_SUBSCRIBE: "sub", protocol.SdkSignalFrame_SUBSCRIBE_ACK: "suback",
	protocol.SdkSignalFrame_INDEX: "index", protocol.SdkSignalFrame_PAUSE: "pause", protocol.SdkSignalFrame_RESUME: "pause",
	protocol.SdkSignalFrame_LEAVE: "leave", protocol.SdkSignalFrame_LEAVE_ACK: "leave_ack",
	protocol.SdkSignalFrame_BITRATES: "bitrates", protocol.SdkSignalFrame_AUDIO_CONTROL: "audio_control",
	protocol.SdkSignalFrame_AUDIO_METADATA: "audio_metadata", protocol.SdkSignalFrame_AUDIO_STREAM_ID_INFO: "audio_stream_id_info",
	protocol.SdkSignalFrame_PING_PONG: "ping_pong", protocol.SdkSignalFrame_AUDIO_STATUS: "audio_status",
	protocol.SdkSignalFrame_CLIENT_METRIC: "client_metric", protocol.SdkSignalFrame_DATA_MESSAGE: "data_message",
	protocol.SdkSignalFrame_REMOTE_VIDEO_UPDATE:      "remote_video_update",
	protocol.SdkSignalFrame_PRIMARY_MEETING_JOIN:     "primary_meeting_join",
	protocol.SdkSignalFrame_PRIMARY_MEETING_JOIN_ACK: "primary_meeting_join_ack",
	protocol.SdkSignalFrame_PRIMARY_MEETING_LEAVE:    "primary_meeting_leave",
	protocol.SdkSignalFrame_NOTIFICATION:             "notification",
	protocol.SdkSignalFrame_MEETING_SESSION_TIMING:   "meeting_session_timing",
}

// fillMessage sets each field of m or not, one input bit each, with values
// from r; lists get 0–3 elements (0–15 for lists of messages one level
// down, so that DATA_MESSAGE can exceed its per-frame cap).
func fillMessage(m protoreflect.Message, r *fuzzBytes, depth int) {
	fields := m.Descriptor().Fields()
	for i := range fields.Len() {
		fd := fields.Get(i)
		if !r.bit() {
			continue
		}
		switch {
		case fd.IsList():
			l := m.Mutable(fd).List()
			n := int(r.byte() % 4)
			if fd.Message() != nil && depth == 0 {
				n = int(r.byte() % 20)
			}
			for range n {
				if fd.Message() != nil {
					if depth >= 3 {
						break
					}
					e := l.NewElement()
					fillMessage(e.Message(), r, depth+1)
					l.Append(e)
				} else {
					l.Append(scalar(fd, r))
				}
			}
		case fd.IsMap():
			// The schema has none.
		case fd.Message() != nil:
			if depth < 3 {
				fillMessage(m.Mutable(fd).Message(), r, depth+1)
			}
		default:
			m.Set(fd, scalar(fd, r))
		}
	}
}

func scalar(fd protoreflect.FieldDescriptor, r *fuzzBytes) protoreflect.Value {
	switch fd.Kind() {
	case protoreflect.BoolKind:
		return protoreflect.ValueOfBool(r.bit())
	case protoreflect.EnumKind:
		vs := fd.Enum().Values()
		c := int(r.byte())
		if c == 0xff {
			return protoreflect.ValueOfEnum(99) // not in the enum
		}
		return protoreflect.ValueOfEnum(vs.Get(c % vs.Len()).Number())
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind:
		return protoreflect.ValueOfInt32(int32(r.number()))
	case protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		return protoreflect.ValueOfInt64(int64(r.number()))
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind:
		return protoreflect.ValueOfUint32(uint32(r.number()))
	case protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		return protoreflect.ValueOfUint64(r.number())
	case protoreflect.FloatKind:
		return protoreflect.ValueOfFloat32(math.Float32frombits(uint32(r.number())))
	case protoreflect.DoubleKind:
		return protoreflect.ValueOfFloat64(math.Float64frombits(r.number()))
	case protoreflect.StringKind:
		return protoreflect.ValueOfString(r.str())
	case protoreflect.BytesKind:
		if c := r.byte(); c == 0xff {
			return protoreflect.ValueOfBytes(make([]byte, 3000)) // over the 2048-byte data limit
		} else {
			return protoreflect.ValueOfBytes(r.raw(int(c)))
		}
	}
	return fd.Default()
}
