package notify

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/confab-media/confab/signaling/events"
)

// BenchmarkDeliverBurst: a burst of 10,000 attendee events from 64 callers
// into a meeting's SQS queue on goaws. Reports events/s delivered (first
// Deliver until the outbox is empty) and the p50/p99 of Deliver itself (the
// durable outbox write the API call waits for).
func BenchmarkDeliverBurst(b *testing.B) {
	const burst, callers = 10000, 64
	g := startGoaws(b, []string{"bench"}, nil)
	s := benchService(b, Config{Endpoints: []Endpoint{g.endpoint()}})
	if err := s.SetMeetingTargets(testMeeting, MeetingTargets{SqsQueueArn: queueARN("bench")}); err != nil {
		b.Fatal(err)
	}
	evs := make([]events.Event, burst)
	for i := range evs {
		evs[i] = mkEvent(events.AttendeeJoined, testMeeting, fmt.Sprintf("%08d-0000-4000-8000-000000000000", i))
	}
	lat := make([]time.Duration, burst)
	var rate, p50, p99 float64
	b.ResetTimer()
	for n := 0; n < b.N; n++ {
		start := time.Now()
		var wg sync.WaitGroup
		for c := 0; c < callers; c++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := c; i < burst; i += callers {
					t0 := time.Now()
					s.Deliver(context.Background(), evs[i])
					lat[i] = time.Since(t0)
				}
			}()
		}
		wg.Wait()
		for s.queued() > 0 {
			time.Sleep(time.Millisecond)
		}
		elapsed := time.Since(start)
		sorted := slices.Clone(lat)
		slices.Sort(sorted)
		rate += burst / elapsed.Seconds()
		p50 += float64(sorted[burst/2].Microseconds())
		p99 += float64(sorted[burst*99/100].Microseconds())
	}
	b.StopTimer()
	b.ReportMetric(rate/float64(b.N), "events/s")
	b.ReportMetric(p50/float64(b.N), "outbox-p50-µs")
	b.ReportMetric(p99/float64(b.N), "outbox-p99-µs")
	b.ReportMetric(0, "ns/op")

	out, err := g.sqsClient().GetQueueAttributes(context.Background(), &sqs.GetQueueAttributesInput{
		QueueUrl: aws.String(g.queueURL("bench")), AttributeNames: []sqstypes.QueueAttributeName{"ApproximateNumberOfMessages"}})
	if err != nil {
		b.Fatal(err)
	}
	var inQueue int
	fmt.Sscan(out.Attributes["ApproximateNumberOfMessages"], &inQueue)
	if inQueue < burst*b.N {
		b.Fatalf("queue holds %d messages, want ≥ %d", inQueue, burst*b.N)
	}
	if st := s.admin.outboxStatus(); st.DeadLetters != 0 {
		b.Fatalf("%d dead letters", st.DeadLetters)
	}
}

// BenchmarkDeliverEnqueue: the cost of Deliver with the group-committed
// outbox under parallel callers. The one hook's target refuses connections
// and backs off for minutes, so delivery work stays out of the measurement.
func BenchmarkDeliverEnqueue(b *testing.B) {
	s := benchService(b, Config{
		Hooks: []Hook{webhookHook("sink", "http://127.0.0.1:1/")},
		Retry: RetryPolicy{InitialBackoff: time.Hour, MaxBackoff: time.Hour},
	})
	e := mkEvent(events.AttendeeJoined, testMeeting, "1111aaaa-0000-4000-8000-000000000001")
	b.SetParallelism(16) // 16 × GOMAXPROCS callers, like concurrent API requests
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			s.Deliver(context.Background(), e)
		}
	})
	b.StopTimer()
	commits := counterValue(b, s, "confab_notify_outbox_commit_seconds", "")
	b.ReportMetric(float64(b.N)/commits, "events/commit")
}

func benchService(b *testing.B, cfg Config) *Service {
	b.Helper()
	cfg.Dir = b.TempDir()
	if cfg.Retry == (RetryPolicy{}) {
		cfg.Retry = fastRetry
	}
	s, err := New(cfg, Params{
		Log:        slog.New(slog.NewTextHandler(io.Discard, nil)),
		Registerer: prometheus.NewRegistry(),
	})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = s.Close() })
	return s
}
