package protocol

import (
	"time"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
)

// testTime is the timestamp of every fixture frame.
var testTime = time.Date(2026, 5, 6, 7, 8, 9, 123_000_000, time.UTC)

// fixture is one frame of the conversation between the client and Confab.
type fixture struct {
	name  string
	frame *SdkSignalFrame
}

func frame(t SdkSignalFrame_Type, fill func(f *SdkSignalFrame)) *SdkSignalFrame {
	f := NewFrame(t, testTime)
	if fill != nil {
		fill(f)
	}
	return f
}

func u32(v uint32) *uint32 { return proto.Uint32(v) }
func str(v string) *string { return proto.String(v) }
func yes() *bool           { return proto.Bool(true) }
func no() *bool            { return proto.Bool(false) }

// serverFrames lists every kind of frame Confab sends.
func serverFrames() []fixture {
	video := SdkStreamMediaType_VIDEO
	return []fixture{
		{"JOIN_ACK with TURN credentials", frame(SdkSignalFrame_JOIN_ACK, func(f *SdkSignalFrame) {
			f.Joinack = &SdkJoinAckFrame{
				TurnCredentials: &SdkTurnCredentials{
					Username: str("1778137689:ab1c2d3e-attendee"),
					Password: str("bV3hbXBsZS1wYXNzd29yZA"),
					Ttl:      u32(86400),
					Uris: []string{
						"turn:127.0.0.1:3478?transport=udp",
						"turn:127.0.0.1:3478?transport=tcp",
						"turns:turn.example.com:443?transport=tcp",
					},
				},
				VideoSubscriptionLimit: u32(25),
				WantsCompressedSdp:     no(),
			}
		})},
		{"INDEX with video sources", frame(SdkSignalFrame_INDEX, func(f *SdkSignalFrame) {
			f.Index = &SdkIndexFrame{
				AtCapacity: no(),
				Sources: []*SdkStreamDescriptor{
					{StreamId: u32(11), GroupId: u32(10), AttendeeId: str("a-1"), ExternalUserId: str("alice"),
						MediaType: video.Enum(), MaxBitrateKbps: u32(300), AvgBitrateBps: u32(250_000),
						Framerate: u32(15), Width: u32(320), Height: u32(180)},
					{StreamId: u32(12), GroupId: u32(10), AttendeeId: str("a-1"), ExternalUserId: str("alice"),
						MediaType: video.Enum(), MaxBitrateKbps: u32(1200), AvgBitrateBps: u32(1_100_000),
						Framerate: u32(30), Width: u32(1280), Height: u32(720)},
					{StreamId: u32(21), GroupId: u32(20), AttendeeId: str("a-2#content"), ExternalUserId: str("bob"),
						MediaType: video.Enum(), MaxBitrateKbps: u32(2500), Framerate: u32(15), Width: u32(1920), Height: u32(1080)},
				},
				PausedAtSourceIds: []uint32{21},
				NumParticipants:   u32(3),
				SupportedReceiveCodecIntersection: []SdkVideoCodecCapability{
					SdkVideoCodecCapability_VP8, SdkVideoCodecCapability_H264_CONSTRAINED_BASELINE_PROFILE,
				},
			}
		})},
		{"empty INDEX", frame(SdkSignalFrame_INDEX, func(f *SdkSignalFrame) {
			f.Index = &SdkIndexFrame{NumParticipants: u32(1)}
		})},
		{"SUBSCRIBE_ACK", frame(SdkSignalFrame_SUBSCRIBE_ACK, func(f *SdkSignalFrame) {
			f.Suback = &SdkSubscribeAckFrame{
				Duplex: SdkStreamServiceType_DUPLEX.Enum(),
				Allocations: []*SdkStreamAllocation{
					{TrackLabel: str("AmazonChimeExpressVideo"), StreamId: u32(31), GroupId: u32(30)},
					{TrackLabel: str("AmazonChimeExpressVideo"), StreamId: u32(32), GroupId: u32(30)},
				},
				SdpAnswer: str("v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0 1 2\r\n" +
					"m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\na=setup:passive\r\n" +
					"a=candidate:1 1 udp 2130706431 127.0.0.1 50000 typ host\r\n"),
				Tracks: []*SdkTrackMapping{
					{StreamId: u32(12), Ssrc: u32(0xDEADBEEF), TrackLabel: str("v_2")},
					{StreamId: u32(21), Ssrc: u32(12345), TrackLabel: str("v_3")},
				},
			}
		})},
		{"AUDIO_STREAM_ID_INFO presence, mute, drop", frame(SdkSignalFrame_AUDIO_STREAM_ID_INFO, func(f *SdkSignalFrame) {
			f.AudioStreamIdInfo = &SdkAudioStreamIdInfoFrame{Streams: []*SdkAudioStreamIdInfo{
				{AudioStreamId: u32(1), AttendeeId: str("a-1"), ExternalUserId: str("alice")},
				{AudioStreamId: u32(2), AttendeeId: str("a-2"), ExternalUserId: str("bob"), Muted: no()},
				{AudioStreamId: u32(2), Muted: yes()},
				{AudioStreamId: u32(3), Dropped: yes()},
			}}
		})},
		{"AUDIO_METADATA", frame(SdkSignalFrame_AUDIO_METADATA, func(f *SdkSignalFrame) {
			f.AudioMetadata = &SdkAudioMetadataFrame{AttendeeStates: []*SdkAudioAttendeeState{
				{AudioStreamId: u32(1), Volume: u32(14), SignalStrength: u32(2)},
				{AudioStreamId: u32(2), Volume: u32(42), SignalStrength: u32(0), Muted: yes()},
			}}
		})},
		{"PONG", frame(SdkSignalFrame_PING_PONG, func(f *SdkSignalFrame) {
			f.PingPong = &SdkPingPongFrame{Type: SdkPingPongType_PONG.Enum(), PingId: u32(7)}
		})},
		{"server PING", frame(SdkSignalFrame_PING_PONG, func(f *SdkSignalFrame) {
			f.PingPong = &SdkPingPongFrame{Type: SdkPingPongType_PING.Enum(), PingId: u32(0xFFFFFFFF)}
		})},
		{"relayed DATA_MESSAGE", frame(SdkSignalFrame_DATA_MESSAGE, func(f *SdkSignalFrame) {
			f.DataMessage = &SdkDataMessageFrame{Messages: []*SdkDataMessagePayload{
				{Topic: str("chat"), Data: []byte(`{"text":"hi"}`), LifetimeMs: u32(300_000),
					SenderAttendeeId: str("a-1"), SenderExternalUserId: str("alice"),
					IngestTimeNs: proto.Int64(1_778_137_689_123_456_789)},
				{Topic: str("aws:chime:transcription"), Data: []byte{0, 1, 2, 0xFF}, SenderAttendeeId: str("a-2"),
					IngestTimeNs: proto.Int64(1_778_137_689_123_456_790)},
			}}
		})},
		{"throttled DATA_MESSAGE bounce", frame(SdkSignalFrame_DATA_MESSAGE, func(f *SdkSignalFrame) {
			f.DataMessage = &SdkDataMessageFrame{Messages: []*SdkDataMessagePayload{
				{Topic: str("chat"), Data: []byte("x"), SenderAttendeeId: str("a-1"), IngestTimeNs: proto.Int64(0)},
			}}
		})},
		{"BITRATES", frame(SdkSignalFrame_BITRATES, func(f *SdkSignalFrame) {
			f.Bitrates = &SdkBitrateFrame{
				Bitrates: []*SdkBitrate{
					{SourceStreamId: u32(11), AvgBitrateBps: u32(240_000)},
					{SourceStreamId: u32(12), AvgBitrateBps: u32(0)},
				},
				ServerAvailableOutgoingBitrate: u32(2_500_000),
			}
		})},
		{"LEAVE_ACK", frame(SdkSignalFrame_LEAVE_ACK, func(f *SdkSignalFrame) { f.LeaveAck = &SdkLeaveAckFrame{} })},
		{"error on JOIN_ACK (auth rejected)", frame(SdkSignalFrame_JOIN_ACK, func(f *SdkSignalFrame) {
			f.Error = &SdkErrorFrame{Status: u32(403), Description: str("join token rejected")}
		})},
		{"error on SUBSCRIBE_ACK (at capacity)", frame(SdkSignalFrame_SUBSCRIBE_ACK, func(f *SdkSignalFrame) {
			f.Error = &SdkErrorFrame{Status: u32(409), Description: str("meeting at capacity")}
		})},
		{"error on INDEX (internal)", frame(SdkSignalFrame_INDEX, func(f *SdkSignalFrame) {
			f.Error = &SdkErrorFrame{Status: u32(500)}
		})},
		{"AUDIO_STATUS", frame(SdkSignalFrame_AUDIO_STATUS, func(f *SdkSignalFrame) {
			f.AudioStatus = &SdkAudioStatusFrame{AudioStatus: u32(200)}
		})},
		{"NOTIFICATION", frame(SdkSignalFrame_NOTIFICATION, func(f *SdkSignalFrame) {
			f.Notification = &SdkNotificationFrame{Level: SdkNotificationFrame_WARNING.Enum(), Message: str("meeting ends in 5 minutes")}
		})},
		{"PRIMARY_MEETING_JOIN_ACK", frame(SdkSignalFrame_PRIMARY_MEETING_JOIN_ACK, func(f *SdkSignalFrame) {
			f.PrimaryMeetingJoinAck = &SdkPrimaryMeetingJoinAckFrame{}
		})},
	}
}

// clientFrames lists every kind of frame the client sends, as the SDK fills
// them (fact sheet sections 4, 6 and 7).
func clientFrames() []fixture {
	audio, video := SdkStreamMediaType_AUDIO, SdkStreamMediaType_VIDEO
	return []fixture{
		{"JOIN", frame(SdkSignalFrame_JOIN, func(f *SdkSignalFrame) {
			f.Join = &SdkJoinFrame{
				ProtocolVersion: u32(2),
				MaxNumOfVideos:  u32(25),
				Flags:           u32(uint32(SdkJoinFlags_HAS_STREAM_UPDATE) | uint32(SdkJoinFlags_COMPLETE_VIDEO_SOURCES_LIST)),
				ClientDetails: &SdkClientDetails{
					AppName: str("confab-demo"), AppVersion: str("1.0.0"), DeviceModel: str("Linux x86_64"),
					DeviceMake: str("Linux x86_64"), PlatformName: str("Chrome"), PlatformVersion: str("156.0.0.0"),
					ClientSource: str("amazon-chime-sdk-js"), ChimeSdkVersion: str("3.33.0"),
					ClientUtcOffset: str("+02:00"), OsName: str("Linux"), OsVersion: str("x86_64"),
				},
				AudioSessionId:            proto.Uint64(0xDEADBEEFCAFEF00D),
				WantsCompressedSdp:        yes(),
				ServerSideNetworkAdaption: SdkServerSideNetworkAdaption_DEFAULT.Enum(),
				SupportedServerSideNetworkAdaptions: []SdkServerSideNetworkAdaption{
					SdkServerSideNetworkAdaption_BANDWIDTH_PROBING,
					SdkServerSideNetworkAdaption_BANDWIDTH_PROBING_AND_VIDEO_QUALITY_ADAPTION,
				},
				WantsAllTemporalLayersInIndex:                 no(),
				DisablePeriodicKeyframeRequestOnContentSender: no(),
			}
		})},
		{"first SUBSCRIBE (audio only)", frame(SdkSignalFrame_SUBSCRIBE, func(f *SdkSignalFrame) {
			f.Sub = &SdkSubscribeFrame{
				Duplex: SdkStreamServiceType_RX.Enum(),
				SendStreams: []*SdkStreamDescriptor{
					{StreamId: u32(1), GroupId: u32(1), TrackLabel: str("AmazonChimeExpressAudio"), MediaType: audio.Enum()},
				},
				ReceiveStreamIds: []uint32{0},
				SdpOffer:         str("v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"),
				AudioHost:        str("127.0.0.1:3478"),
				AudioCheckin:     no(),
				AudioMuted:       yes(),
			}
		})},
		{"SUBSCRIBE with simulcast and remote videos", frame(SdkSignalFrame_SUBSCRIBE, func(f *SdkSignalFrame) {
			f.Sub = &SdkSubscribeFrame{
				Duplex: SdkStreamServiceType_DUPLEX.Enum(),
				SendStreams: []*SdkStreamDescriptor{
					{StreamId: u32(1), GroupId: u32(1), TrackLabel: str("AmazonChimeExpressAudio"), MediaType: audio.Enum()},
					{StreamId: u32(2), GroupId: u32(2), TrackLabel: str("AmazonChimeExpressVideo"), MediaType: video.Enum(), MaxBitrateKbps: u32(300), Framerate: u32(15)},
					{StreamId: u32(2), GroupId: u32(2), TrackLabel: str("AmazonChimeExpressVideo"), MediaType: video.Enum(), MaxBitrateKbps: u32(0)},
					{StreamId: u32(2), GroupId: u32(2), TrackLabel: str("AmazonChimeExpressVideo"), MediaType: video.Enum(), MaxBitrateKbps: u32(1200), Framerate: u32(30)},
				},
				ReceiveStreamIds:   []uint32{0, 12, 21},
				SdpOffer:           str("v=0\r\na=group:BUNDLE 0 1 2 3\r\n"),
				CompressedSdpOffer: []byte{0x78, 0x9c, 0x01, 0x02},
				AudioMuted:         no(),
				VideoSubscriptionConfiguration: []*SdkVideoSubscriptionConfiguration{
					{Mid: str("2"), AttendeeId: str("a-1"), StreamId: u32(12), GroupId: u32(10), Priority: u32(1),
						TargetBitrateKbps: u32(1200), QualityAdaptationPreference: SdkVideoQualityAdaptationPreference_BALANCED.Enum()},
					{Mid: str("3"), AttendeeId: str("a-2#content"), StreamId: u32(21), GroupId: u32(20)},
				},
			}
		})},
		{"AUDIO_CONTROL", frame(SdkSignalFrame_AUDIO_CONTROL, func(f *SdkSignalFrame) {
			f.AudioControl = &SdkAudioControlFrame{Muted: yes()}
		})},
		{"PAUSE", frame(SdkSignalFrame_PAUSE, func(f *SdkSignalFrame) {
			f.Pause = &SdkPauseResumeFrame{StreamIds: []uint32{12, 21}}
		})},
		{"RESUME", frame(SdkSignalFrame_RESUME, func(f *SdkSignalFrame) {
			f.Pause = &SdkPauseResumeFrame{StreamIds: []uint32{12}, GroupIds: []uint32{10}}
		})},
		{"REMOTE_VIDEO_UPDATE", frame(SdkSignalFrame_REMOTE_VIDEO_UPDATE, func(f *SdkSignalFrame) {
			f.RemoteVideoUpdate = &SdkRemoteVideoUpdateFrame{
				AddedOrUpdatedVideoSubscriptions: []*SdkVideoSubscriptionConfiguration{
					{Mid: str("2"), AttendeeId: str("a-1"), StreamId: u32(11), GroupId: u32(10),
						QualityAdaptationPreference: SdkVideoQualityAdaptationPreference_MAINTAIN_FRAMERATE.Enum()},
				},
				RemovedVideoSubscriptionMids: []string{"3"},
			}
		})},
		{"CLIENT_METRIC", frame(SdkSignalFrame_CLIENT_METRIC, func(f *SdkSignalFrame) {
			f.ClientMetric = &SdkClientMetricFrame{
				GlobalMetrics: []*SdkMetric{
					{Type: u32(1), Value: proto.Float64(123.5)},
					{Type: u32(49), Value: proto.Float64(0)},
					{Type: u32(72), Value: proto.Float64(-1)},
					{Type: u32(128), Value: proto.Float64(3.25)},
					{Type: u32(1000), Value: proto.Float64(1e300)}, // a value from a future SDK
				},
				StreamMetricFrames: []*SdkStreamMetricFrame{
					{StreamId: u32(2), GroupId: u32(2), MediaType: video.Enum(),
						Metrics: []*SdkMetric{{Type: u32(86), Value: proto.Float64(30)}},
						Dimensions: []*SdkStreamDimension{
							{Type: u32(uint32(SdkStreamDimension_VIDEO_ENCODER_NAME)), Value: &SdkDimensionValue{StringValue: str("libvpx")}},
							{Type: u32(uint32(SdkStreamDimension_VIDEO_PROCESSOR_NAME)), Value: &SdkDimensionValue{BoolValue: yes()}},
							{Type: u32(9), Value: &SdkDimensionValue{UintValue: proto.Uint64(1 << 40)}},
						}},
					{StreamId: u32(1), MediaType: audio.Enum()},
				},
			}
		})},
		{"MEETING_SESSION_TIMING", frame(SdkSignalFrame_MEETING_SESSION_TIMING, func(f *SdkSignalFrame) {
			// The client sends sub-messages of millisecond timestamps and
			// flags; opaque here.
			sub := protowire.AppendTag(nil, 1, protowire.VarintType)
			sub = protowire.AppendVarint(sub, 1_778_137_689_000)
			sub = protowire.AppendTag(sub, 4, protowire.VarintType)
			sub = protowire.AppendVarint(sub, 1)
			video := protowire.AppendTag(nil, 1, protowire.VarintType)
			video = protowire.AppendVarint(video, 10)
			video = protowire.AppendTag(video, 2, protowire.VarintType)
			video = protowire.AppendVarint(video, 1_778_137_689_000)
			f.MeetingSessionTiming = &SdkMeetingSessionTimingFrame{
				Signaling:    [][]byte{sub},
				RemoteAudio:  [][]byte{sub, sub},
				LocalAudio:   [][]byte{{}},
				LocalVideo:   [][]byte{sub},
				RemoteVideos: [][]byte{video, {}, video},
			}
		})},
		{"client DATA_MESSAGE", frame(SdkSignalFrame_DATA_MESSAGE, func(f *SdkSignalFrame) {
			f.DataMessage = &SdkDataMessageFrame{Messages: []*SdkDataMessagePayload{
				{Topic: str("chat"), Data: []byte(`{"text":"hello"}`), LifetimeMs: u32(0)},
			}}
		})},
		{"PING", frame(SdkSignalFrame_PING_PONG, func(f *SdkSignalFrame) {
			f.PingPong = &SdkPingPongFrame{Type: SdkPingPongType_PING.Enum(), PingId: u32(1)}
		})},
		{"LEAVE", frame(SdkSignalFrame_LEAVE, func(f *SdkSignalFrame) { f.Leave = &SdkLeaveFrame{} })},
		{"PRIMARY_MEETING_JOIN", frame(SdkSignalFrame_PRIMARY_MEETING_JOIN, func(f *SdkSignalFrame) {
			f.PrimaryMeetingJoin = &SdkPrimaryMeetingJoinFrame{Credentials: &SdkMeetingSessionCredentials{
				AttendeeId: str("a-9"), ExternalUserId: str("promoted"), JoinToken: str("dG9rZW4")}}
		})},
		{"PRIMARY_MEETING_LEAVE", frame(SdkSignalFrame_PRIMARY_MEETING_LEAVE, func(f *SdkSignalFrame) {
			f.PrimaryMeetingLeave = &SdkPrimaryMeetingLeaveFrame{}
		})},
	}
}

// goldenJoin is a JOIN encoded by hand, field by field, the way the SDK
// sends it (fact sheet section 4 step 2): protocol_version=2,
// flags=HAS_STREAM_UPDATE, a random 64-bit audio_session_id,
// wants_compressed_sdp=true, plus client details and the network adaption
// fields.
func goldenJoin() []byte {
	var details []byte
	details = protowire.AppendTag(details, 1, protowire.BytesType) // app_name
	details = protowire.AppendString(details, "demo")
	details = protowire.AppendTag(details, 8, protowire.BytesType) // chime_sdk_version
	details = protowire.AppendString(details, "3.33.0")

	var join []byte
	join = protowire.AppendTag(join, 1, protowire.VarintType) // protocol_version
	join = protowire.AppendVarint(join, 2)
	join = protowire.AppendTag(join, 2, protowire.VarintType) // max_num_of_videos
	join = protowire.AppendVarint(join, 25)
	join = protowire.AppendTag(join, 3, protowire.VarintType) // flags
	join = protowire.AppendVarint(join, 2)
	join = protowire.AppendTag(join, 4, protowire.BytesType) // client_details
	join = protowire.AppendBytes(join, details)
	join = protowire.AppendTag(join, 6, protowire.VarintType) // audio_session_id
	join = protowire.AppendVarint(join, goldenAudioSessionID)
	join = protowire.AppendTag(join, 7, protowire.VarintType) // wants_compressed_sdp
	join = protowire.AppendVarint(join, 1)
	join = protowire.AppendTag(join, 10, protowire.VarintType) // server_side_network_adaption
	join = protowire.AppendVarint(join, 1)
	join = protowire.AppendTag(join, 11, protowire.VarintType) // supported_..._adaptions[0]
	join = protowire.AppendVarint(join, 4)

	b := []byte{0x05}
	b = protowire.AppendTag(b, 1, protowire.VarintType) // timestamp_ms
	b = protowire.AppendVarint(b, goldenTimestampMs)
	b = protowire.AppendTag(b, 2, protowire.VarintType) // type = JOIN
	b = protowire.AppendVarint(b, 1)
	b = protowire.AppendTag(b, 4, protowire.BytesType) // join
	b = protowire.AppendBytes(b, join)
	return b
}

// goldenPing is the PING the client sends before JOIN (id 1) and every 10 s.
func goldenPing(id uint32) []byte {
	var pp []byte
	pp = protowire.AppendTag(pp, 1, protowire.VarintType) // type = PING
	pp = protowire.AppendVarint(pp, 1)
	pp = protowire.AppendTag(pp, 2, protowire.VarintType) // ping_id
	pp = protowire.AppendVarint(pp, uint64(id))

	b := []byte{0x05}
	b = protowire.AppendTag(b, 1, protowire.VarintType)
	b = protowire.AppendVarint(b, goldenTimestampMs)
	b = protowire.AppendTag(b, 2, protowire.VarintType) // type = PING_PONG
	b = protowire.AppendVarint(b, 19)
	b = protowire.AppendTag(b, 20, protowire.BytesType) // ping_pong
	b = protowire.AppendBytes(b, pp)
	return b
}

const (
	goldenTimestampMs = 1_778_051_289_123
	// > 2^63, to exercise all 64 bits of the Go decoder. The JS client holds
	// 64-bit fields as float64 numbers, so the ids it really sends (and the
	// ingest_time_ns values it reads) are exact only below 2^53.
	goldenAudioSessionID = 0x9E3779B97F4A7C15
)
