package api

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/confab-media/confab/signaling/events"
	"github.com/confab-media/confab/signaling/meeting"
	"github.com/confab-media/confab/signaling/notify"
	"github.com/confab-media/confab/signaling/store"
)

// BenchmarkCreateAttendeeDelivery compares CreateAttendee with event
// delivery off and on (every AttendeeAdded written to the notify outbox,
// group-committed, before the API answers, then POSTed to a webhook), side
// by side in one run:
//
//	go test -run '^$' -bench CreateAttendeeDelivery -benchtime 3s ./signaling/api
func BenchmarkCreateAttendeeDelivery(b *testing.B) {
	for _, on := range []bool{false, true} {
		b.Run(fmt.Sprintf("delivery=%v", on), func(b *testing.B) {
			bus := events.NewBus()
			if on {
				hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					_, _ = io.Copy(io.Discard, r.Body)
				}))
				b.Cleanup(hook.Close)
				nt, err := notify.New(notify.Config{Dir: b.TempDir(), Hooks: []notify.Hook{{
					Name: "bench", Type: notify.HookWebhook,
					Webhook: &notify.WebhookTarget{URL: hook.URL, Secret: "bench-secret-0123456789"},
				}}}, notify.Params{Log: slog.New(slog.DiscardHandler)})
				if err != nil {
					b.Fatal(err)
				}
				b.Cleanup(func() { _ = nt.Close() })
				bus.Subscribe(nt)
			}
			st, err := store.OpenBolt(b.TempDir(), slog.New(slog.DiscardHandler))
			if err != nil {
				b.Fatal(err)
			}
			h, svc := newTestHandlerWithBus(b, st, bus)
			srv := httptest.NewServer(h)
			b.Cleanup(func() { srv.Close(); svc.Close(); _ = st.Close() })
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256, MaxConnsPerHost: 256}}
			const perMeeting = 250
			meetings := make([]string, b.N/perMeeting+1)
			for i := range meetings {
				m, err := svc.CreateMeeting(context.Background(), &meeting.CreateMeetingInput{
					ClientRequestToken: fmt.Sprintf("bench-%d", i), MediaRegion: "us-east-1", ExternalMeetingId: "bench"})
				if err != nil {
					b.Fatal(err)
				}
				meetings[i] = m.MeetingId
			}
			runLatency(b, 16, func(i int64) error {
				body := fmt.Sprintf(`{"ExternalUserId":"bench-user-%d"}`, i)
				target := srv.URL + "/meetings/" + meetings[int(i-1)/perMeeting] + "/attendees"
				return call(client, signed(b, "POST", target, body))
			})
		})
	}
}
