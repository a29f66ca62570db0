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
	"github.com/confab-media/confab/signaling/meeting"
	"github.com/confab-media/confab/signaling/notify"
	"github.com/confab-media/confab/signaling/sigv4"
)

// startNotify opens the event outbox in <data_dir>/notify and starts the
// delivery workers of the configured hooks.
func startNotify(cfg config.Config, reg prometheus.Registerer, log *slog.Logger) (*notify.Service, error) {
	n := cfg.Notifications
	return notify.New(notify.Config{
		Dir: filepath.Join(cfg.DataDir, "notify"), Hooks: n.Hooks, Endpoints: n.Endpoints,
		Retry:          notify.RetryPolicy{MaxAttempts: n.MaxAttempts, MaxAge: n.MaxAge.Std()},
		WebhookTimeout: n.WebhookTimeout.Std(), DLQ: n.DLQ,
	}, notify.Params{Log: log, Registerer: reg})
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
