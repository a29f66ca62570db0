package notify

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/confab-media/confab/signaling/events"
	"github.com/confab-media/confab/signaling/store"
)

// On a bbolt store the outbox shares its file and the store's events reach
// it in their changes' transactions; without one it has its own file.
func TestNewOnBolt(t *testing.T) {
	r := newReceiver(t, testSecret, time.Now)
	st, err := store.OpenBolt(t.TempDir(), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() }) // after the Service's
	dir := t.TempDir()
	s, err := NewOnBolt(Config{Dir: dir, Retry: fastRetry, Hooks: []Hook{webhookHook("h", r.srv.URL)}},
		Params{Log: testLogger(t), Registerer: prometheus.NewRegistry()}, st)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	if !st.HasOutbox() {
		t.Fatal("the store was not given the outbox")
	}
	if _, err := os.Stat(filepath.Join(dir, "notify.db")); !os.IsNotExist(err) {
		t.Errorf("a notify.db of its own: %v", err)
	}
	if err := <-st.Submit(store.Event(mkEvent(events.MeetingStarted, testMeeting, ""))); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "the store's event", func() bool { return r.count() == 1 })

	alone, err := NewOnBolt(Config{Dir: t.TempDir()}, Params{Registerer: prometheus.NewRegistry()}, nil)
	if err != nil {
		t.Fatal(err)
	}
	alone.Deliver(context.Background(), mkEvent(events.MeetingStarted, testMeeting, ""))
	if err := alone.Close(); err != nil {
		t.Fatal(err)
	}
}
