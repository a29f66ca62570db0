package main

import (
	"log/slog"
	"path/filepath"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/confab-media/confab/cmd/confab/internal/config"
	"github.com/confab-media/confab/internal/guard"
	"github.com/confab-media/confab/signaling/meeting"
	"github.com/confab-media/confab/signaling/notify"
	"github.com/confab-media/confab/signaling/store"
)

// startNotify starts event delivery on the store's own file: the outbox's
// buckets live in confab.db, the store writes the meeting service's events
// in the transactions of their changes, and a <data_dir>/notify/notify.db
// of an earlier version is imported once. Then it starts the delivery
// workers of the configured hooks and of what is queued.
//
// In cluster mode (st nil) the outbox has its own file,
// <data_dir>/notify/notify.db: the meeting service's events reach it from
// the Redis events stream (cluster relay), everything else from the bus.
func startNotify(cfg config.Config, st *store.Bolt, reg prometheus.Registerer, log *slog.Logger, panics guard.Counter) (*notify.Service, error) {
	n := cfg.Notifications
	p := notify.Params{Log: log, Registerer: reg, Panics: panics}
	if st != nil {
		p.DB = st.DB()
	}
	nt, err := notify.New(notify.Config{
		Dir: filepath.Join(cfg.DataDir, "notify"), Hooks: n.Hooks, Endpoints: n.Endpoints,
		Retry:          notify.RetryPolicy{MaxAttempts: n.MaxAttempts, MaxAge: n.MaxAge.Std()},
		WebhookTimeout: n.WebhookTimeout.Std(), DLQ: n.DLQ, Limits: n.Limits,
	}, p)
	if err != nil {
		return nil, err
	}
	if st != nil {
		st.SetOutbox(nt)
	}
	return nt, nil
}

// meetingTargets hands meetings' NotificationsConfiguration to the
// delivery service (meeting.Targets).
type meetingTargets struct{ nt *notify.Service }

func (m meetingTargets) Check(n meeting.NotificationsConfiguration) error {
	return m.nt.Resolver().CheckTargets(notify.MeetingTargets(n))
}

func (m meetingTargets) Set(id string, n meeting.NotificationsConfiguration) error {
	return m.nt.SetMeetingTargets(id, notify.MeetingTargets(n))
}
