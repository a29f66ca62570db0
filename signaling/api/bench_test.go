package api

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/confab-media/confab/signaling/meeting"
	"github.com/confab-media/confab/signaling/store"
)

// The control-plane benchmarks: SigV4-signed requests over loopback TCP to
// the real handler on the embedded bbolt store (fsync per group commit).
// They report requests/s and latency percentiles next to ns/op:
//
//	go test -run '^$' -bench . -benchtime 3s ./signaling/api

func benchServer(b *testing.B) (*httptest.Server, *meeting.Service, *http.Client) {
	st, err := store.OpenBolt(b.TempDir(), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		b.Fatal(err)
	}
	return benchServerOn(b, st)
}

// benchServerOn serves the handler on st (closed at cleanup).
func benchServerOn(b *testing.B, st store.Store) (*httptest.Server, *meeting.Service, *http.Client) {
	h, svc := newTestHandler(b, st)
	srv := httptest.NewServer(h)
	b.Cleanup(func() { srv.Close(); svc.Close(); _ = st.Close() })
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256, MaxConnsPerHost: 256}}
	return srv, svc, client
}

// runLatency runs do from many goroutines and reports throughput and
// p50/p99 latency.
func runLatency(b *testing.B, parallelism int, do func(i int64) error) {
	var (
		mu   sync.Mutex
		lats = make([]time.Duration, 0, b.N)
		n    atomic.Int64
	)
	b.SetParallelism(parallelism) // × GOMAXPROCS client goroutines
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		local := make([]time.Duration, 0, 1024)
		for pb.Next() {
			t0 := time.Now()
			if err := do(n.Add(1)); err != nil {
				b.Error(err)
				return
			}
			local = append(local, time.Since(t0))
		}
		mu.Lock()
		lats = append(lats, local...)
		mu.Unlock()
	})
	elapsed := time.Since(start)
	b.StopTimer()
	slices.Sort(lats)
	if len(lats) == 0 {
		return
	}
	pct := func(p float64) float64 { return float64(lats[int(float64(len(lats)-1)*p)].Microseconds()) / 1000 }
	b.ReportMetric(float64(len(lats))/elapsed.Seconds(), "req/s")
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
}

func call(c *http.Client, req *http.Request) error {
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		return fmt.Errorf("status %d", resp.StatusCode)
	}
	return nil
}

// clientLoads are the concurrent-client counts per GOMAXPROCS benchmarked.
var clientLoads = []int{4, 16}

func BenchmarkCreateAttendee(b *testing.B) {
	for _, par := range clientLoads {
		b.Run(fmt.Sprintf("clients=%dxP", par), func(b *testing.B) { benchCreateAttendee(b, par) })
	}
}

func BenchmarkGetMeeting(b *testing.B) {
	for _, par := range clientLoads {
		b.Run(fmt.Sprintf("clients=%dxP", par), func(b *testing.B) { benchGetMeeting(b, par) })
	}
}

func benchCreateAttendee(b *testing.B, par int) {
	srv, svc, client := benchServer(b)
	createAttendees(b, par, srv, svc, client)
}

// createAttendees runs the CreateAttendee benchmark on a served handler.
func createAttendees(b *testing.B, par int, srv *httptest.Server, svc *meeting.Service, client *http.Client) {
	// Spread attendees over meetings of 250, Chime's default size.
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
	runLatency(b, par, func(i int64) error {
		body := fmt.Sprintf(`{"ExternalUserId":"bench-user-%d"}`, i)
		target := srv.URL + "/meetings/" + meetings[int(i-1)/perMeeting] + "/attendees"
		return call(client, signed(b, "POST", target, body))
	})
}

func benchGetMeeting(b *testing.B, par int) {
	srv, svc, client := benchServer(b)
	m, err := svc.CreateMeeting(context.Background(), &meeting.CreateMeetingInput{
		ClientRequestToken: "bench-get", MediaRegion: "us-east-1", ExternalMeetingId: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	runLatency(b, par, func(int64) error {
		return call(client, signed(b, "GET", srv.URL+"/meetings/"+m.MeetingId, ""))
	})
}
