package load

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Sample is one reading of the server's process metrics.
type Sample struct {
	At         float64 `json:"at"`         // seconds since the run started
	CPUPercent float64 `json:"cpuPercent"` // of one core, since the previous sample
	RSSMB      float64 `json:"rssMB"`
}

// processMetrics reads process_cpu_seconds_total and
// process_resident_memory_bytes from a Prometheus text endpoint.
func processMetrics(ctx context.Context, c *http.Client, url string) (cpu, rss float64, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, 0, err
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, 0, fmt.Errorf("load: %s: %s", url, resp.Status)
	}
	found := 0
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		name, val, ok := strings.Cut(sc.Text(), " ")
		if !ok {
			continue
		}
		switch name {
		case "process_cpu_seconds_total":
			cpu, err = strconv.ParseFloat(val, 64)
			found++
		case "process_resident_memory_bytes":
			rss, err = strconv.ParseFloat(val, 64)
			found++
		}
		if err != nil {
			return 0, 0, err
		}
	}
	if found < 2 {
		return 0, 0, fmt.Errorf("load: %s has no process_cpu_seconds_total/process_resident_memory_bytes", url)
	}
	return cpu, rss, sc.Err()
}

// sampler reads the server's metrics every interval until ctx ends.
type sampler struct {
	url string

	start time.Time

	mu       sync.Mutex // guards the fields below
	samples  []Sample
	cpuStart float64
	cpuEnd   float64
	err      error
}

func (s *sampler) run(ctx context.Context, interval time.Duration) {
	c := &http.Client{Timeout: 5 * time.Second}
	lastCPU, lastAt := -1.0, time.Time{}
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		now := time.Now()
		cpu, rss, err := processMetrics(ctx, c, s.url)
		if err != nil {
			if ctx.Err() == nil {
				s.mu.Lock()
				s.err = err
				s.mu.Unlock()
			}
		} else {
			s.mu.Lock()
			if lastCPU < 0 {
				s.cpuStart = cpu
			} else {
				s.samples = append(s.samples, Sample{
					At: now.Sub(s.start).Seconds(), RSSMB: rss / (1 << 20),
					CPUPercent: 100 * (cpu - lastCPU) / now.Sub(lastAt).Seconds(),
				})
			}
			lastCPU, lastAt, s.cpuEnd = cpu, now, cpu
			s.mu.Unlock()
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}
