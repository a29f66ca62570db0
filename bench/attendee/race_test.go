//go:build race

package attendee

// raceEnabled: the race detector makes sync.Pool drop items at random, so
// pion's packet pool allocates.
const raceEnabled = true
