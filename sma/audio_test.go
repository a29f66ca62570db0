package sma

import (
	"math"
	"os"
	"path/filepath"
	"testing"
)

func TestDecodeWAV(t *testing.T) {
	pcm8 := []int16{1, -2, 300, -32768, 32767}
	got, err := decodeWAV(EncodeWAV(pcm8, 8000))
	if err != nil || len(got) != len(pcm8) {
		t.Fatalf("8 kHz: %v %v", got, err)
	}
	for i := range pcm8 {
		if got[i] != pcm8[i] {
			t.Fatalf("8 kHz sample %d: %d", i, got[i])
		}
	}
	// 16 kHz: a 500 Hz tone keeps its level, a 6 kHz tone is filtered out.
	tone := func(freq float64) []int16 {
		p := make([]int16, 16000)
		for i := range p {
			p[i] = int16(10000 * math.Sin(2*math.Pi*freq*float64(i)/16000))
		}
		return p
	}
	rms := func(p []int16) float64 {
		var s float64
		for _, v := range p[100 : len(p)-100] {
			s += float64(v) * float64(v)
		}
		return math.Sqrt(s / float64(len(p)-200))
	}
	low, err := decodeWAV(EncodeWAV(tone(500), 16000))
	if err != nil || len(low) != 8000 {
		t.Fatalf("16 kHz: %d samples, %v", len(low), err)
	}
	if r := rms(low); r < 6500 || r > 7500 {
		t.Fatalf("500 Hz rms %.0f after decimation, want ≈ 7071", r)
	}
	high, _ := decodeWAV(EncodeWAV(tone(6000), 16000))
	if r := rms(high); r > 200 {
		t.Fatalf("6 kHz rms %.0f after decimation: aliasing", r)
	}
	// Refused: stereo, 44.1 kHz, 8-bit, not RIFF, truncated.
	bad := [][]byte{[]byte("RIFF0000WAVE"), []byte("hello"), nil}
	stereo := EncodeWAV(pcm8, 8000)
	stereo[22] = 2
	rate := EncodeWAV(pcm8, 44100)
	bits := EncodeWAV(pcm8, 8000)
	bits[34] = 8
	bad = append(bad, stereo, rate, bits)
	for i, b := range bad {
		if _, err := decodeWAV(b); err == nil {
			t.Fatalf("bad WAV %d decoded", i)
		}
	}
}

func TestAudioStoreStaysInDir(t *testing.T) {
	dir := t.TempDir()
	_ = os.MkdirAll(filepath.Join(dir, "b"), 0o755)
	_ = os.WriteFile(filepath.Join(dir, "b", "ok.wav"), EncodeWAV([]int16{1, 2}, 8000), 0o644)
	_ = os.WriteFile(filepath.Join(dir, "secret.wav"), EncodeWAV([]int16{1, 2}, 8000), 0o644)
	s := &AudioStore{Dir: dir}
	if _, err := s.Load(AudioSource{Type: "S3", BucketName: "b", Key: "ok.wav"}); err != nil {
		t.Fatal(err)
	}
	for _, src := range []AudioSource{
		{Type: "S3", BucketName: "b", Key: "../secret.wav"},
		{Type: "S3", BucketName: "..", Key: "secret.wav"},
		{Type: "S3", BucketName: "b/..", Key: "secret.wav"},
		{Type: "URL", BucketName: "b", Key: "ok.wav"},
		{Type: "S3", BucketName: "b", Key: ""},
		{Type: "S3", BucketName: "b", Key: "."},
	} {
		if _, err := s.Load(src); err == nil {
			t.Fatalf("%+v loaded", src)
		}
	}
}

func TestRoutes(t *testing.T) {
	c := Config{
		Applications: []Application{{ID: "pin", Endpoint: "http://127.0.0.1:9/"}, {ID: "pbx", Endpoint: "https://h.example/x"}},
		Rules: []Rule{
			{ID: "r1", TriggerType: TriggerToPhoneNumber, TriggerValue: "+15550100", Application: "pin"},
			{ID: "r2", TriggerType: TriggerRequestURIHostname, TriggerValue: "pbx.example.com", Application: "pbx"},
			{ID: "r3", TriggerType: TriggerToPhoneNumber, TriggerValue: "+15550199", Application: "pin", Disabled: true},
		},
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ user, host, rule string }{
		{"+15550100", "anything", "r1"},
		{"+15550100", "pbx.example.com", "r1"},
		{"+15550111", "PBX.example.com", "r2"},
		{"+15550199", "x", ""},
		{"+15550111", "other", ""},
	} {
		r, _, ok := c.Route(tc.user, tc.host)
		if (tc.rule == "") == ok || ok && r.ID != tc.rule {
			t.Fatalf("%s@%s: %v %v, want %q", tc.user, tc.host, r, ok, tc.rule)
		}
	}
	for _, bad := range []Config{
		{Applications: []Application{{ID: "", Endpoint: "http://x/"}}},
		{Applications: []Application{{ID: "a", Endpoint: "ftp://x/"}}},
		{Applications: []Application{{ID: "a", Endpoint: "http://x/"}, {ID: "a", Endpoint: "http://x/"}}},
		{Applications: []Application{{ID: "a", Endpoint: "http://x/"}}, Rules: []Rule{{ID: "r", TriggerType: TriggerToPhoneNumber, TriggerValue: "5550100", Application: "a"}}},
		{Applications: []Application{{ID: "a", Endpoint: "http://x/"}}, Rules: []Rule{{ID: "r", TriggerType: "Other", TriggerValue: "+15550100", Application: "a"}}},
		{Applications: []Application{{ID: "a", Endpoint: "http://x/"}}, Rules: []Rule{{ID: "r", TriggerType: TriggerToPhoneNumber, TriggerValue: "+15550100", Application: "b"}}},
	} {
		if err := bad.Validate(); err == nil {
			t.Fatalf("%+v validated", bad)
		}
	}
}
