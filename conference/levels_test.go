package conference

import (
	"testing"
	"time"

	"github.com/confab-media/confab/mixer"
)

func TestVolumeOf(t *testing.T) {
	for _, c := range []struct {
		l    mixer.LegLevel
		want uint32
	}{
		{mixer.LegLevel{Level: 0}, volumeLoudest},
		{mixer.LegLevel{Level: 20}, 20},
		{mixer.LegLevel{Level: 41}, 41},
		{mixer.LegLevel{Level: 60}, volumeSilent},
		{mixer.LegLevel{Level: 127}, volumeSilent},
		{mixer.LegLevel{Level: 10, Muted: true}, volumeSilent},
	} {
		if got := volumeOf(c.l); got != c.want {
			t.Errorf("volumeOf(%+v) = %d, want %d", c.l, got, c.want)
		}
	}
}

func TestSignalStrength(t *testing.T) {
	var r rxRatio
	const iv = 200 * time.Millisecond
	steps := []struct {
		rx   uint64 // cumulative
		want uint32
	}{
		{10, 2}, {20, 2}, {28, 2}, {31, 1}, {31, 0}, {41, 1}, {51, 1}, {61, 2},
	}
	for i, s := range steps {
		if got := r.update(s.rx, iv, i == 0); got != s.want {
			t.Errorf("step %d (rx %d): strength %d, want %d (ratio %.2f)", i, s.rx, got, s.want, r.ratio)
		}
	}
}
