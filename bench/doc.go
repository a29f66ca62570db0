// Package bench is the load harness: synthetic attendees
// ([github.com/confab-media/confab/bench/attendee]) that drive a Confab
// deployment through its public protocols only, and the scenarios, runs,
// reports and command line of `confab bench`
// ([github.com/confab-media/confab/bench/load]).
package bench
