package load

import (
	"math"
	"slices"
)

// Dist summarises a set of measurements (milliseconds, percent, …).
type Dist struct {
	N    int     `json:"n"`
	Min  float64 `json:"min"`
	P50  float64 `json:"p50"`
	P90  float64 `json:"p90"`
	P99  float64 `json:"p99"`
	Max  float64 `json:"max"`
	Mean float64 `json:"mean"`
	// CDF holds up to 200 (value, fraction ≤ value) points for plots.
	CDF [][2]float64 `json:"cdf,omitempty"`
}

func newDist(v []float64) Dist {
	if len(v) == 0 {
		return Dist{}
	}
	s := slices.Clone(v)
	slices.Sort(s)
	q := func(p float64) float64 { return s[min(len(s)-1, int(math.Ceil(p*float64(len(s))))-1+boolInt(p == 0))] }
	var sum float64
	for _, x := range s {
		sum += x
	}
	d := Dist{N: len(s), Min: s[0], P50: q(0.5), P90: q(0.9), P99: q(0.99), Max: s[len(s)-1], Mean: sum / float64(len(s))}
	step := max(1, len(s)/200)
	for i := 0; i < len(s); i += step {
		d.CDF = append(d.CDF, [2]float64{s[i], float64(i+1) / float64(len(s))})
	}
	if last := d.CDF[len(d.CDF)-1]; last[1] < 1 {
		d.CDF = append(d.CDF, [2]float64{s[len(s)-1], 1})
	}
	return d
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
