package guard

import (
	"log/slog"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// NewCounters counts each subsystem's contained panics under its label.
func TestNewCounters(t *testing.T) {
	reg := prometheus.NewRegistry()
	panics := NewCounters(reg)
	log := slog.New(slog.DiscardHandler)
	for _, sub := range []string{"sfu", "sfu", "turn"} {
		func() {
			defer Recover(log, panics(sub), "test", nil)
			panic("boom")
		}()
	}
	mfs, err := reg.Gather()
	if err != nil || len(mfs) != 1 {
		t.Fatalf("gather: %v, %d families", err, len(mfs))
	}
	mf := mfs[0]
	if mf.GetName() != "confab_panics_recovered_total" || mf.GetHelp() == "" {
		t.Fatalf("family %q help %q", mf.GetName(), mf.GetHelp())
	}
	got := map[string]float64{}
	for _, m := range mf.GetMetric() {
		got[m.GetLabel()[0].GetValue()] = m.GetCounter().GetValue()
	}
	if len(got) != 2 || got["sfu"] != 2 || got["turn"] != 1 {
		t.Errorf("counts %v, want sfu=2 turn=1", got)
	}
}
