package config

import (
	"reflect"
	"strings"
)

// Suggest returns the candidate closest to s (case-insensitive edit
// distance), or "" when none is close enough to be a likely typo: at most
// one edit for short words, two for longer ones.
func Suggest(s string, candidates []string) string {
	best, bestD := "", 3
	limit := 1
	if len(s) > 4 {
		limit = 2
	}
	for _, c := range candidates {
		if d := editDistance(strings.ToLower(s), strings.ToLower(c)); d < bestD && d <= limit {
			best, bestD = c, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}

// yamlFieldNames are the keys a struct type takes.
func yamlFieldNames(t reflect.Type) []string {
	var out []string
	for i := range t.NumField() {
		if name, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ","); name != "" && name != "-" {
			out = append(out, name)
		}
	}
	return out
}

// didYouMean is ` (did you mean "x"?)` for a close candidate, else "".
func didYouMean(s string, candidates []string) string {
	if c := Suggest(s, candidates); c != "" {
		return ` (did you mean "` + c + `"?)`
	}
	return ""
}
