// Package bench will hold the load harness: synthetic attendees and SIP callers
// that drive a Confab deployment through its public protocols only, and the
// reports of what they measured. Nothing lives here yet.
package bench
