package load

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/confab-media/confab/bench/attendee"
)

// TestScenarioVideoCodec: --video-codec defaults to VP8, takes h264 in any
// case, refuses others, and is a YAML key of its own.
func TestScenarioVideoCodec(t *testing.T) {
	for in, want := range map[string]string{"": "VP8", "vp8": "VP8", "h264": "H264", "H264": "H264"} {
		if s, err := (Scenario{VideoCodec: in}).WithDefaults(); err != nil || s.VideoCodec != want {
			t.Errorf("video-codec %q: %q, %v", in, s.VideoCodec, err)
		}
	}
	if _, err := (Scenario{VideoCodec: "av1"}).WithDefaults(); err == nil || !strings.Contains(err.Error(), "video-codec") {
		t.Errorf("video-codec av1: %v", err)
	}
	dir := t.TempDir()
	good, bad := filepath.Join(dir, "good.yaml"), filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(good, []byte("video-publishers: 2\nvideo-codec: h264\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bad, []byte("video-codecs: h264\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if s, err := LoadScenario(good); err != nil || s.VideoCodec != "H264" {
		t.Errorf("YAML video-codec: %q, %v", s.VideoCodec, err)
	}
	if _, err := LoadScenario(bad); err == nil || !strings.Contains(err.Error(), "video-codec,") {
		t.Errorf("unknown key: %v", err)
	}
}

// TestKeyframeSizes: streams count by their last keyframe's size (none
// without one), shards' counts add up, and the summary lists them with the
// codec.
func TestKeyframeSizes(t *testing.T) {
	var v VideoReport
	var vs videoSamples
	for _, st := range []attendee.VideoStats{
		{Frames: 10, Keyframes: 1, LastKeyWidth: 320, LastKeyHeight: 180},
		{Frames: 10, Keyframes: 2, LastKeyWidth: 1280, LastKeyHeight: 720},
		{Frames: 10, Keyframes: 1, LastKeyWidth: 1280, LastKeyHeight: 720},
		{Frames: 3},
	} {
		vs.add(&v, st, 1e9)
	}
	if len(v.KeyframeSizes) != 2 || v.KeyframeSizes["1280x720"] != 2 || v.KeyframeSizes["320x180"] != 1 {
		t.Fatalf("sizes %v", v.KeyframeSizes)
	}
	if got := sizesLine(v.KeyframeSizes); got != "1280x720 ×2, 320x180 ×1" {
		t.Errorf("sizes line %q", got)
	}
	a := &Report{Scenario: Scenario{Name: "s", VideoCodec: "H264", VideoLayer: "high"}, Target: "x", Video: v, Raw: &RawSamples{}}
	b := &Report{Scenario: Scenario{Name: "s", VideoCodec: "H264", VideoLayer: "high"}, Target: "x",
		Video: VideoReport{Streams: 1, KeyframeSizes: map[string]int{"320x180": 4}}, Raw: &RawSamples{}}
	r, err := Merge([]*Report{a, b})
	if err != nil {
		t.Fatal(err)
	}
	if k := r.Video.KeyframeSizes; len(k) != 2 || k["320x180"] != 5 || k["1280x720"] != 2 {
		t.Errorf("merged sizes %v", k)
	}
	var out bytes.Buffer
	r.Summary(&out)
	if !strings.Contains(out.String(), "(H264, high layer)") || !strings.Contains(out.String(), "320x180 ×5, 1280x720 ×2") {
		t.Errorf("summary:\n%s", out.String())
	}
}
