//go:build !race

package attendee

const raceEnabled = false
