package main

import (
	"maps"
	"strings"
	"testing"
)

// TestBenchVideoH264: TestBenchVideoLayers's scenario with every attendee
// offering H.264 alone (--video-codec h264): the publishers' simulcast
// goes through the SFU's H.264 path (its keyframe detector picks the
// layer to forward from), and the subscriber receives both streams at the
// camera's rate, at the rate and size of the layer it asked for — sizes
// from the SPS of the keyframes it received.
func TestBenchVideoH264(t *testing.T) {
	s := startServer(t, "", noThrottle())
	kbps := map[string]float64{}
	for layer, size := range map[string]string{"low": "320x180", "high": "1280x720"} {
		b, r := benchAgainst(t, s, t.TempDir(),
			"--meetings", "1", "--attendees", "3", "--talkers", "1", "--video-publishers", "2", "--video-subscribers", "1",
			"--video-layer", layer, "--video-codec", "h264", "--duration", "4s")
		v := r.Video
		t.Logf("%s layer: fps min %.1f, kbps p50 %.1f, keyframe sizes %v", layer, v.FPS.Min, v.BitrateKbps.P50, v.KeyframeSizes)
		if r.Scenario.VideoCodec != "H264" || !strings.Contains(b, "(H264, "+layer+" layer)") {
			t.Errorf("codec %q in the report, summary:\n%s", r.Scenario.VideoCodec, b)
		}
		if v.Streams != 2 || v.StreamsWithFrames != 2 || v.FPS.N != 2 || v.FPS.Min < 10 || v.BitrateKbps.N != 2 || v.BitrateKbps.Min <= 0 {
			t.Fatalf("--video-layer %s: %+v\nserver log:\n%s", layer, v, s.Log())
		}
		if want := map[string]int{size: 2}; !maps.Equal(v.KeyframeSizes, want) {
			t.Errorf("--video-layer %s: keyframe sizes %v, want %v", layer, v.KeyframeSizes, want)
		}
		kbps[layer] = v.BitrateKbps.P50
	}
	if kbps["low"] > 400 || kbps["high"] < 2*kbps["low"] {
		t.Fatalf("received kbps per stream: low %.0f, high %.0f", kbps["low"], kbps["high"])
	}
}
