package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/confab-media/confab/cmd/confab/internal/config"
	"github.com/confab-media/confab/internal/guard"
	"github.com/confab-media/confab/signaling/meeting"
	"github.com/confab-media/confab/signaling/notify"
	"github.com/confab-media/confab/signaling/sigv4"
	"github.com/confab-media/confab/signaling/store"
)

// startNotify starts event delivery on the store's own file: the outbox's
// buckets live in confab.db, the store writes the meeting service's events
// in the transactions of their changes, and a <data_dir>/notify/notify.db
// of an earlier version is imported once. Then it starts the delivery
// workers of the configured hooks and of what is queued.
func startNotify(cfg config.Config, st *store.Bolt, reg prometheus.Registerer, log *slog.Logger, panics guard.Counter) (*notify.Service, error) {
	n := cfg.Notifications
	nt, err := notify.New(notify.Config{
		Dir: filepath.Join(cfg.DataDir, "notify"), Hooks: n.Hooks, Endpoints: n.Endpoints,
		Retry:          notify.RetryPolicy{MaxAttempts: n.MaxAttempts, MaxAge: n.MaxAge.Std()},
		WebhookTimeout: n.WebhookTimeout.Std(), DLQ: n.DLQ, Limits: n.Limits,
	}, notify.Params{Log: log, Registerer: reg, DB: st.DB(), Panics: panics})
	if err != nil {
		return nil, err
	}
	st.SetOutbox(nt)
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

// sigv4Only lets through requests signed by a configured API key, as the
// Chime API itself requires; others get 401/403 as JSON.
func sigv4Only(v *sigv4.Verifier, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
		if err != nil {
			http.Error(w, "request body too large", http.StatusRequestEntityTooLarge)
			return
		}
		if _, err := v.Verify(r, body); err != nil {
			status := http.StatusForbidden
			if errors.Is(err, sigv4.ErrMissingAuth) || errors.Is(err, sigv4.ErrMalformedAuth) || errors.Is(err, sigv4.ErrUnknownKey) {
				status = http.StatusUnauthorized
			}
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			_ = json.NewEncoder(w).Encode(map[string]string{"message": err.Error()})
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		next.ServeHTTP(w, r)
	})
}
