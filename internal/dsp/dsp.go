// Package dsp holds the signal measures that the bench's synthetic
// attendees and the tests share: the power of one frequency in a block of
// PCM (the Goertzel algorithm; G. Goertzel, "An Algorithm for the
// Evaluation of Finite Trigonometric Series", Am. Math. Monthly 65, 1958)
// and decibels.
package dsp

import "math"

// Goertzel returns the power of x at hz for sample rate rate, scaled so
// that a sine of amplitude A whose frequency is hz gives A²/2.
func Goertzel(x []int16, hz, rate float64) float64 { return GoertzelSplit(x, nil, hz, rate) }

// GoertzelSplit is Goertzel over x followed by y (the two halves of a ring
// buffer), without copying them together.
func GoertzelSplit(x, y []int16, hz, rate float64) float64 {
	n := float64(len(x) + len(y))
	if n == 0 {
		return 0
	}
	c := 2 * math.Cos(2*math.Pi*hz/rate)
	var s1, s2 float64
	for _, seg := range [2][]int16{x, y} {
		for _, v := range seg {
			s0 := float64(v) + c*s1 - s2
			s2, s1 = s1, s0
		}
	}
	return 2 * (s1*s1 + s2*s2 - c*s1*s2) / (n * n)
}

// DB returns power p in decibels (10·log10), floored near −120 dB.
func DB(p float64) float64 { return 10 * math.Log10(p+1e-12) }
