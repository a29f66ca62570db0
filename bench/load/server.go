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

// watchedCounters are the server's counters a report shows the change of
// over the run (each series, labels included): what the media plane did
// about loss (FEC and PLC decodes, jitter-buffer events, NACKs, PLIs,
// layer switches) and how much it relayed. Another server's /metrics
// simply has none of them.
var watchedCounters = map[string]bool{
	"confab_mixer_decodes_total":        true,
	"confab_mixer_jitter_frames_total":  true,
	"confab_mixer_late_ticks_total":     true,
	"confab_sfu_nacks_received_total":   true,
	"confab_sfu_plis_total":             true,
	"confab_sfu_layer_switches_total":   true,
	"confab_turn_relayed_packets_total": true,
	"confab_turn_allocations":           true,
}

// processMetrics reads process_cpu_seconds_total,
// process_resident_memory_bytes and the watched counters from a
// Prometheus text endpoint.
func processMetrics(ctx context.Context, c *http.Client, url string) (cpu, rss float64, counters map[string]float64, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, 0, nil, err
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, 0, nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, 0, nil, fmt.Errorf("load: %s: %s", url, resp.Status)
	}
	found := 0
	counters = map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		i := strings.LastIndexByte(line, ' ')
		if i < 0 || strings.HasPrefix(line, "#") {
			continue
		}
		series, val := line[:i], line[i+1:]
		name, _, _ := strings.Cut(series, "{")
		switch {
		case name == "process_cpu_seconds_total":
			cpu, err = strconv.ParseFloat(val, 64)
			found++
		case name == "process_resident_memory_bytes":
			rss, err = strconv.ParseFloat(val, 64)
			found++
		case watchedCounters[name]:
			counters[series], err = strconv.ParseFloat(val, 64)
		}
		if err != nil {
			return 0, 0, nil, err
		}
	}
	if found < 2 {
		return 0, 0, nil, fmt.Errorf("load: %s has no process_cpu_seconds_total/process_resident_memory_bytes", url)
	}
	return cpu, rss, counters, sc.Err()
}

// sampler reads the server's metrics every interval until ctx ends.
type sampler struct {
	url string

	start time.Time

	mu            sync.Mutex // guards the fields below
	samples       []Sample
	cpuStart      float64
	cpuEnd        float64
	countersStart map[string]float64
	countersEnd   map[string]float64
	err           error
}

func (s *sampler) run(ctx context.Context, interval time.Duration) {
	c := &http.Client{Timeout: 5 * time.Second}
	lastCPU, lastAt := -1.0, time.Time{}
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		now := time.Now()
		cpu, rss, counters, err := processMetrics(ctx, c, s.url)
		if err != nil {
			if ctx.Err() == nil {
				s.mu.Lock()
				s.err = err
				s.mu.Unlock()
			}
		} else {
			s.mu.Lock()
			if lastCPU < 0 {
				s.cpuStart, s.countersStart = cpu, counters
			} else {
				s.samples = append(s.samples, Sample{
					At: now.Sub(s.start).Seconds(), RSSMB: rss / (1 << 20),
					CPUPercent: 100 * (cpu - lastCPU) / now.Sub(lastAt).Seconds(),
				})
			}
			lastCPU, lastAt, s.cpuEnd, s.countersEnd = cpu, now, cpu, counters
			s.mu.Unlock()
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}
