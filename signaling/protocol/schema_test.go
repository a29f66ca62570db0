package protocol

import (
	"fmt"
	"strings"
	"testing"

	"google.golang.org/protobuf/reflect/protoreflect"
)

// factSheet is section 3 of /work/shared/docs/chime-signaling.md, transcribed
// a second time, independently of signaling.proto, in the notation
// name=number:type, R = required, [] = repeated, [default X].
var factSheet = map[string]string{
	"SdkSignalFrame": "timestamp_ms=1:uint64 R, type=2:Type R, error=3:SdkErrorFrame, join=4:SdkJoinFrame, " +
		"joinack=5:SdkJoinAckFrame, sub=6:SdkSubscribeFrame, suback=7:SdkSubscribeAckFrame, index=8:SdkIndexFrame, " +
		"pause=10:SdkPauseResumeFrame, leave=11:SdkLeaveFrame, leave_ack=12:SdkLeaveAckFrame, bitrates=14:SdkBitrateFrame, " +
		"audio_control=17:SdkAudioControlFrame, audio_metadata=18:SdkAudioMetadataFrame, " +
		"audio_stream_id_info=19:SdkAudioStreamIdInfoFrame, ping_pong=20:SdkPingPongFrame, audio_status=21:SdkAudioStatusFrame, " +
		"client_metric=22:SdkClientMetricFrame, data_message=23:SdkDataMessageFrame, remote_video_update=25:SdkRemoteVideoUpdateFrame, " +
		"primary_meeting_join=26:SdkPrimaryMeetingJoinFrame, primary_meeting_join_ack=27:SdkPrimaryMeetingJoinAckFrame, " +
		"primary_meeting_leave=28:SdkPrimaryMeetingLeaveFrame, notification=35:SdkNotificationFrame, " +
		"meeting_session_timing=44:SdkMeetingSessionTimingFrame",
	"SdkErrorFrame": "status=1:uint32, description=2:string",
	"SdkClientDetails": "app_name=1:string, app_version=2:string, device_model=3:string, device_make=4:string, " +
		"platform_name=5:string, platform_version=6:string, client_source=7:string, chime_sdk_version=8:string, " +
		"client_utc_offset=9:string, os_name=10:string, os_version=11:string",
	"SdkJoinFrame": "protocol_version=1:uint32 [default 2], max_num_of_videos=2:uint32, flags=3:uint32, " +
		"client_details=4:SdkClientDetails, audio_session_id=6:uint64, wants_compressed_sdp=7:bool, " +
		"server_side_network_adaption=10:SdkServerSideNetworkAdaption, " +
		"supported_server_side_network_adaptions=11:SdkServerSideNetworkAdaption[], " +
		"wants_all_temporal_layers_in_index=12:bool, disable_periodic_keyframe_request_on_content_sender=13:bool",
	"SdkJoinAckFrame": "turn_credentials=1:SdkTurnCredentials, video_subscription_limit=2:uint32, wants_compressed_sdp=3:bool, " +
		"default_server_side_network_adaption=4:SdkServerSideNetworkAdaption",
	"SdkLeaveFrame":      "",
	"SdkLeaveAckFrame":   "",
	"SdkTurnCredentials": "username=1:string, password=2:string, ttl=3:uint32, uris=4:string[]",
	"SdkSubscribeFrame": "duplex=1:SdkStreamServiceType [default RX], send_streams=2:SdkStreamDescriptor[], " +
		"receive_stream_ids=3:uint32[], sdp_offer=4:string, audio_host=5:string, audio_checkin=6:bool, audio_muted=7:bool, " +
		"compressed_sdp_offer=8:bytes, video_subscription_configuration=9:SdkVideoSubscriptionConfiguration[]",
	"SdkSubscribeAckFrame": "duplex=1:SdkStreamServiceType, allocations=2:SdkStreamAllocation[], sdp_answer=3:string, " +
		"tracks=4:SdkTrackMapping[], compressed_sdp_answer=5:bytes",
	"SdkIndexFrame": "at_capacity=1:bool, sources=2:SdkStreamDescriptor[], paused_at_source_ids=3:uint32[], " +
		"num_participants=4:uint32, supported_receive_codec_intersection=5:SdkVideoCodecCapability[]",
	"SdkPauseResumeFrame": "stream_ids=1:uint32[], group_ids=2:uint32[]",
	"SdkBitrateFrame":     "bitrates=1:SdkBitrate[], server_available_outgoing_bitrate=2:uint32",
	"SdkBitrate":          "source_stream_id=1:uint32, avg_bitrate_bps=2:uint32",
	"SdkStreamDescriptor": "stream_id=1:uint32, framerate=2:uint32, max_bitrate_kbps=3:uint32, track_label=4:string, " +
		"group_id=6:uint32, avg_bitrate_bps=7:uint32, attendee_id=8:string, media_type=9:SdkStreamMediaType, " +
		"external_user_id=10:string, width=11:uint32, height=12:uint32",
	"SdkStreamAllocation":       "track_label=1:string, stream_id=2:uint32, group_id=3:uint32",
	"SdkTrackMapping":           "stream_id=1:uint32, ssrc=2:uint32, track_label=3:string",
	"SdkAudioControlFrame":      "muted=1:bool",
	"SdkAudioMetadataFrame":     "attendee_states=1:SdkAudioAttendeeState[]",
	"SdkAudioAttendeeState":     "audio_stream_id=1:uint32, volume=2:uint32, muted=3:bool, signal_strength=4:uint32",
	"SdkAudioStreamIdInfoFrame": "streams=1:SdkAudioStreamIdInfo[]",
	"SdkAudioStreamIdInfo": "audio_stream_id=1:uint32, attendee_id=2:string, muted=3:bool, external_user_id=4:string, " +
		"dropped=5:bool",
	"SdkPingPongFrame":    "type=1:SdkPingPongType R, ping_id=2:uint32 R",
	"SdkAudioStatusFrame": "audio_status=1:uint32",
	// Decision: the fact sheet's enum, read as uint32 (same varint wire type).
	"SdkMetric": "type=1:uint32, value=2:double",
	"SdkStreamMetricFrame": "stream_id=3:uint32, group_id=4:uint32, metrics=5:SdkMetric[], " +
		"dimensions=6:SdkStreamDimension[], media_type=7:SdkStreamMediaType",
	"SdkClientMetricFrame": "global_metrics=1:SdkMetric[], stream_metric_frames=2:SdkStreamMetricFrame[]",
	// Decision: the fact sheet's enum, read as uint32 (same varint wire type).
	"SdkStreamDimension":    "type=1:uint32, value=2:SdkDimensionValue",
	"SdkDimensionValue":     "string_value=1:string, bool_value=2:bool, uint_value=3:uint64",
	"SdkDataMessageFrame":   "messages=1:SdkDataMessagePayload[]",
	"SdkDataMessagePayload": "topic=1:string, data=2:bytes, lifetime_ms=3:uint32, sender_attendee_id=4:string, ingest_time_ns=5:int64, sender_external_user_id=6:string",
	"SdkRemoteVideoUpdateFrame": "added_or_updated_video_subscriptions=1:SdkVideoSubscriptionConfiguration[], " +
		"removed_video_subscription_mids=2:string[]",
	"SdkVideoSubscriptionConfiguration": "mid=1:string R, attendee_id=2:string, stream_id=3:uint32, priority=4:uint32, " +
		"target_bitrate_kbps=5:uint32, group_id=6:uint32, quality_adaptation_preference=7:SdkVideoQualityAdaptationPreference",
	"SdkNotificationFrame":          "level=1:NotificationLevel [default ERROR], message=2:string",
	"SdkPrimaryMeetingJoinFrame":    "credentials=1:SdkMeetingSessionCredentials",
	"SdkPrimaryMeetingJoinAckFrame": "",
	"SdkPrimaryMeetingLeaveFrame":   "",
	"SdkMeetingSessionCredentials":  "attendee_id=1:string, external_user_id=2:string, join_token=3:string",
	// Decision: the fact sheet gives no types or labels; opaque repeated bytes.
	"SdkMeetingSessionTimingFrame": "signaling=1:bytes[], remote_audio=2:bytes[], local_audio=3:bytes[], local_video=4:bytes[], " +
		"remote_videos=5:bytes[]",
}

var factSheetEnums = map[string]string{
	"SdkSignalFrame.Type": "JOIN=1, JOIN_ACK=2, SUBSCRIBE=3, SUBSCRIBE_ACK=4, INDEX=5, PAUSE=7, RESUME=8, LEAVE=9, " +
		"LEAVE_ACK=10, BITRATES=13, AUDIO_CONTROL=16, AUDIO_METADATA=17, AUDIO_STREAM_ID_INFO=18, PING_PONG=19, " +
		"AUDIO_STATUS=20, CLIENT_METRIC=21, DATA_MESSAGE=22, REMOTE_VIDEO_UPDATE=24, PRIMARY_MEETING_JOIN=25, " +
		"PRIMARY_MEETING_JOIN_ACK=26, PRIMARY_MEETING_LEAVE=27, NOTIFICATION=34, MEETING_SESSION_TIMING=43",
	"SdkJoinFlags": "HAS_STREAM_UPDATE=2, COMPLETE_VIDEO_SOURCES_LIST=16, EXCLUDE_SELF_CONTENT_IN_INDEX=32",
	"SdkServerSideNetworkAdaption": "DEFAULT=1, NONE=2, BANDWIDTH_PROBING=3, " +
		"BANDWIDTH_PROBING_AND_VIDEO_QUALITY_ADAPTION=4",
	"SdkStreamServiceType":                   "RX=1, TX=2, DUPLEX=3",
	"SdkStreamMediaType":                     "AUDIO=1, VIDEO=2",
	"SdkPingPongType":                        "PING=1, PONG=2",
	"SdkVideoQualityAdaptationPreference":    "BALANCED=1, MAINTAIN_FRAMERATE=2, MAINTAIN_RESOLUTION=3",
	"SdkNotificationFrame.NotificationLevel": "INFO=1, WARNING=2, ERROR=3",
	// Names of 3 and 4 are elided in the fact sheet; ours.
	"SdkStreamDimension.Type": "VIDEO_ENCODER_NAME=1, VIDEO_DECODER_NAME=2, VIDEO_MODEL_TYPE=3, " +
		"VIDEO_DELEGATE_TYPE=4, VIDEO_PROCESSOR_NAME=5",
	"SdkVideoCodecCapability": "VP8=1, H264_BASELINE_PROFILE=2, H264_CONSTRAINED_BASELINE_PROFILE=3, " +
		"H264_MAIN_PROFILE=4, H264_HIGH_PROFILE=5, H264_CONSTRAINED_HIGH_PROFILE=6, VP9_PROFILE_0=8, AV1_MAIN_PROFILE=11",
}

// TestSchemaMatchesFactSheet compares the compiled schema with the fact
// sheet, message by message and enum by enum, in both directions.
func TestSchemaMatchesFactSheet(t *testing.T) {
	fd := File_signaling_proto
	if fd.Syntax() != protoreflect.Proto2 {
		t.Fatalf("syntax %v, want proto2", fd.Syntax())
	}
	gotMsgs := map[string]string{}
	gotEnums := map[string]string{}
	var walk func(prefix string, msgs protoreflect.MessageDescriptors, enums protoreflect.EnumDescriptors)
	walk = func(prefix string, msgs protoreflect.MessageDescriptors, enums protoreflect.EnumDescriptors) {
		for i := range enums.Len() {
			e := enums.Get(i)
			gotEnums[prefix+string(e.Name())] = renderEnum(e)
		}
		for i := range msgs.Len() {
			m := msgs.Get(i)
			gotMsgs[prefix+string(m.Name())] = renderMessage(m)
			walk(prefix+string(m.Name())+".", m.Messages(), m.Enums())
		}
	}
	walk("", fd.Messages(), fd.Enums())
	compare(t, "message", gotMsgs, factSheet)
	compare(t, "enum", gotEnums, factSheetEnums)

	reserved := map[string]string{"SdkJoinFrame": "8,9", "SdkStreamDescriptor": "5"}
	for name, want := range reserved {
		m := fd.Messages().ByName(protoreflect.Name(name))
		var rs []string
		for i := range m.ReservedRanges().Len() {
			r := m.ReservedRanges().Get(i)
			if r[1]-r[0] == 1 {
				rs = append(rs, fmt.Sprint(r[0]))
			} else {
				rs = append(rs, fmt.Sprintf("%d-%d", r[0], r[1]-1))
			}
		}
		if got := strings.Join(rs, ","); got != want {
			t.Errorf("%s reserved %q, want %q", name, got, want)
		}
	}
}

func compare(t *testing.T, kind string, got, want map[string]string) {
	t.Helper()
	for name, w := range want {
		g, ok := got[name]
		switch {
		case !ok:
			t.Errorf("%s %s missing", kind, name)
		case g != w:
			t.Errorf("%s %s:\n got %s\nwant %s", kind, name, g, w)
		}
	}
	for name := range got {
		if _, ok := want[name]; !ok {
			t.Errorf("%s %s is not in the fact sheet", kind, name)
		}
	}
}

func renderMessage(m protoreflect.MessageDescriptor) string {
	var parts []string
	fs := m.Fields()
	for i := range fs.Len() {
		f := fs.Get(i)
		var typ string
		switch f.Kind() {
		case protoreflect.EnumKind:
			typ = string(f.Enum().Name())
		case protoreflect.MessageKind:
			typ = string(f.Message().Name())
		default:
			typ = f.Kind().String()
		}
		s := fmt.Sprintf("%s=%d:%s", f.Name(), f.Number(), typ)
		switch f.Cardinality() {
		case protoreflect.Repeated:
			s += "[]"
		case protoreflect.Required:
			s += " R"
		}
		if f.HasDefault() {
			d := f.Default()
			if f.Kind() == protoreflect.EnumKind {
				s += fmt.Sprintf(" [default %s]", f.DefaultEnumValue().Name())
			} else {
				s += fmt.Sprintf(" [default %v]", d.Interface())
			}
		}
		if f.IsPacked() {
			s += " packed"
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, ", ")
}

func renderEnum(e protoreflect.EnumDescriptor) string {
	var parts []string
	vs := e.Values()
	for i := range vs.Len() {
		parts = append(parts, fmt.Sprintf("%s=%d", vs.Get(i).Name(), vs.Get(i).Number()))
	}
	return strings.Join(parts, ", ")
}
