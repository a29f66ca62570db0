package protocol

import (
	"bytes"
	"encoding/hex"
	"testing"
)

// sdkVectors are client frames encoded by the SDK itself: the compiled
// SignalingProtocol.js of amazon-chime-sdk-js 3.32.0 (npm), run in Node
// (SdkSignalFrame.encode(...).finish(), then the 0x05 prefix), from
// hand-filled objects. They check the schema against the real encoder
// where the fact sheet is silent (MEETING_SESSION_TIMING) and for the
// repeated-field encoding the client uses (unpacked).
var sdkVectors = map[string]string{
	// Every timing field filled, two remote_audio entries, two remote_videos.
	"MEETING_SESSION_TIMING": "0508a3a0f6e0df33102be20286020a5608a99ff6e0df3310aa9ff6e0df3318ab9ff6e0df3320ac9ff6e0df" +
		"3328ad9ff6e0df3330ae9ff6e0df3338af9ff6e0df3340b09ff6e0df3348b19ff6e0df3350b29ff6e0df3358b39ff6e0df3360b49ff6e0" +
		"df336801121908a99ff6e0df3310aa9ff6e0df3318ab9ff6e0df3320012801121908a99ff6e0df3310aa9ff6e0df3318ab9ff6e0df3320" +
		"0128011a1908a99ff6e0df3310aa9ff6e0df3318ab9ff6e0df3320012801221908a99ff6e0df3310aa9ff6e0df3318ab9ff6e0df332001" +
		"28012a1f08a99ff6e00f10aa9ff6e0df3318ab9ff6e0df3320ac9ff6e0df33280130012a1f08a99ff6e00f10aa9ff6e0df3318ab9ff6e0" +
		"df3320ac9ff6e0df3328013001",
	// duplex DUPLEX, audio send stream, receive_stream_ids [0, 5],
	// audio_muted false, one video subscription (mid "1", BALANCED).
	"SUBSCRIBE": "0508011003323c0803121f08012217416d617a6f6e4368696d6545787072657373417564696f300148011800180522" +
		"03763d3038004a0c0a0131120161180530033801",
	// global metric type 128 = 1.5; a VIDEO stream metric frame with metric
	// 86 and dimension 5 (VIDEO_PROCESSOR_NAME).
	"CLIENT_METRIC": "0508011015b2012a0a0c08800111000000000000f83f121a18022a0b08561100000000000000403207080512030a01703802",
}

func sdkVector(t testing.TB, name string) []byte {
	t.Helper()
	b, err := hex.DecodeString(sdkVectors[name])
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return b
}

// TestSDKVectors decodes frames the SDK encoded and re-encodes them to the
// very same bytes: same fields, same order, same (unpacked) encoding.
func TestSDKVectors(t *testing.T) {
	for name := range sdkVectors {
		t.Run(name, func(t *testing.T) {
			b := sdkVector(t, name)
			f, err := Decode(b)
			if err != nil {
				t.Fatal(err)
			}
			if u := f.ProtoReflect().GetUnknown(); len(u) != 0 {
				t.Errorf("unknown fields %x", u)
			}
			re, err := Encode(f)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(re, b) {
				t.Errorf("re-encoded\n got %x\nwant %x", re, b)
			}
		})
	}

	f, _ := Decode(sdkVector(t, "MEETING_SESSION_TIMING"))
	mt := f.GetMeetingSessionTiming()
	if len(mt.GetSignaling()) != 1 || len(mt.GetRemoteAudio()) != 2 || len(mt.GetLocalAudio()) != 1 ||
		len(mt.GetLocalVideo()) != 1 || len(mt.GetRemoteVideos()) != 2 {
		t.Errorf("timing entries: %v", mt)
	}

	f, _ = Decode(sdkVector(t, "SUBSCRIBE"))
	s := f.GetSub()
	if s.GetDuplex() != SdkStreamServiceType_DUPLEX || len(s.GetSendStreams()) != 1 ||
		s.GetSendStreams()[0].GetTrackLabel() != "AmazonChimeExpressAudio" ||
		len(s.GetReceiveStreamIds()) != 2 || s.GetReceiveStreamIds()[1] != 5 ||
		s.AudioMuted == nil || s.GetAudioMuted() ||
		s.GetVideoSubscriptionConfiguration()[0].GetMid() != "1" ||
		s.GetVideoSubscriptionConfiguration()[0].GetQualityAdaptationPreference() != SdkVideoQualityAdaptationPreference_BALANCED {
		t.Errorf("SUBSCRIBE: %v", s)
	}

	f, _ = Decode(sdkVector(t, "CLIENT_METRIC"))
	cm := f.GetClientMetric()
	if cm.GetGlobalMetrics()[0].GetType() != 128 || cm.GetGlobalMetrics()[0].GetValue() != 1.5 ||
		cm.GetStreamMetricFrames()[0].GetMediaType() != SdkStreamMediaType_VIDEO ||
		cm.GetStreamMetricFrames()[0].GetDimensions()[0].GetType() != uint32(SdkStreamDimension_VIDEO_PROCESSOR_NAME) {
		t.Errorf("CLIENT_METRIC: %v", cm)
	}
}
