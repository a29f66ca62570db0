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
// delivery off and on, side by side in one run. With delivery on, the
// notify outbox lives in the store's bbolt file and every AttendeeAdded is
// written in the same group-committed transaction as its attendee (one
// fsync), then POSTed to a webhook by the delivery worker. A third case,
// delivery=queued, points the hook at a closed port: events are written to
// the outbox but (the target being down) not sent, which separates the cost
// of durability from the CPU of the deliveries themselves (an HTTP round
// trip per event, receiver included, on the same machine). A fourth,
// delivery=batched, lets the hook carry up to 20 events per POST
// (notify.WebhookTarget.Batch):
//
//	go test -run '^$' -bench CreateAttendeeDelivery -benchtime 3s ./signaling/api
func BenchmarkCreateAttendeeDelivery(b *testing.B) {
	for _, mode := range []string{"false", "true", "queued", "batched"} {
		on := mode != "false"
		b.Run("delivery="+mode, func(b *testing.B) {
			bus := events.NewBus()
			st, err := store.OpenBolt(b.TempDir(), slog.New(slog.DiscardHandler))
			if err != nil {
				b.Fatal(err)
			}
			if on {
				hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					_, _ = io.Copy(io.Discard, r.Body)
				}))
				b.Cleanup(hook.Close)
				url := hook.URL
				if mode == "queued" {
					url = "http://127.0.0.1:1/" // refused at once; retried with backoff
				}
				batch := 0
				if mode == "batched" {
					batch = 20
				}
				nt, err := notify.New(notify.Config{Dir: b.TempDir(), Hooks: []notify.Hook{{
					Name: "bench", Type: notify.HookWebhook,
					Webhook: &notify.WebhookTarget{URL: url, Secret: "bench-secret-0123456789", Batch: batch},
				}}}, notify.Params{Log: slog.New(slog.DiscardHandler), DB: st.DB()})
				if err != nil {
					b.Fatal(err)
				}
				st.SetOutbox(nt)
				b.Cleanup(func() { _ = st.Close() }) // after nt's (cleanups run last first)
				b.Cleanup(func() { _ = nt.Close() })
				bus.Subscribe(nt)
			} else {
				b.Cleanup(func() { _ = st.Close() })
			}
			h, svc := newTestHandlerWithBus(b, st, bus)
			srv := httptest.NewServer(h)
			b.Cleanup(func() { srv.Close(); svc.Close() })
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
