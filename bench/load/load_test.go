package load

import (
	"strings"
	"testing"
	"time"
)

func TestDistPercentiles(t *testing.T) {
	v := make([]float64, 100)
	for i := range v {
		v[i] = float64(100 - i) // 100 … 1, unsorted on purpose
	}
	d := newDist(v)
	if d.N != 100 || d.Min != 1 || d.Max != 100 || d.P50 != 50 || d.P90 != 90 || d.P99 != 99 || d.Mean != 50.5 {
		t.Fatalf("dist = %+v", d)
	}
	if last := d.CDF[len(d.CDF)-1]; last != [2]float64{100, 1} {
		t.Fatalf("CDF ends at %v", last)
	}
	if e := newDist(nil); e.N != 0 || e.CDF != nil {
		t.Fatal("empty dist not zero")
	}
}

func TestScenarioDefaultsAndValidation(t *testing.T) {
	s, err := Scenario{}.WithDefaults()
	if err != nil || s.Meetings != 1 || s.AttendeesPerMeeting != 4 || s.Talkers != 2 || s.Duration != 10*time.Second {
		t.Fatalf("defaults %+v, %v", s, err)
	}
	_, err = Scenario{Meetings: 1, AttendeesPerMeeting: 3, Talkers: 5, VideoPublishers: 9}.WithDefaults()
	if err == nil || !strings.Contains(err.Error(), "talkers") || !strings.Contains(err.Error(), "video-publishers") {
		t.Fatalf("validation error %v", err)
	}
}

func TestTargetRefusesRemote(t *testing.T) {
	tg := Target{URL: "http://192.0.2.1:8080", AccessKeyID: "k", SecretAccessKey: "s"}
	if err := tg.check(); err == nil || !strings.Contains(err.Error(), "--allow-remote") {
		t.Fatalf("remote target: %v", err)
	}
	tg.AllowRemote = true
	if err := tg.check(); err != nil {
		t.Fatalf("allowed remote target: %v", err)
	}
	tg = Target{URL: "http://127.0.0.1:8080", AccessKeyID: "k", SecretAccessKey: "s"}
	if err := tg.check(); err != nil || tg.MetricsURL != "http://127.0.0.1:8080/metrics" || tg.Region != "us-east-1" {
		t.Fatalf("loopback target: %v %+v", err, tg)
	}
}

func TestTalkerTonesAreFrameAligned(t *testing.T) {
	for i := range 16 {
		hz := talkerHz(i)
		if int(hz)%50 != 0 {
			t.Fatalf("talker %d tone %v Hz is not a multiple of 50 Hz", i, hz)
		}
	}
}
