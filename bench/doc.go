// Package bench will hold the load harness: synthetic attendees and SIP callers
// that drive a Confab deployment through its public protocols only, and the
// reports of what they measured. The first synthetic attendee is in
// [github.com/confab-media/confab/bench/attendee].
package bench
