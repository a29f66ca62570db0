// Package turn will hold Confab's TURN relay (pion/turn): per-attendee
// time-limited credentials, a peer-address policy that refuses open relaying,
// and UDP/TCP/TLS listeners. Nothing lives here yet.
package turn
