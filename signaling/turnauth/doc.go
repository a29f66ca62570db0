// Package turnauth joins the TURN relay (package turn) to the control
// plane: it mints each joining attendee's relay credentials (JOIN_ACK's
// turn_credentials, and the TurnControlUrl of older SDKs; fact sheet §5,
// RFC 8489 §9.2 long-term credentials in the TURN REST API form),
// remembers whose they are so the relay can ask whether an attendee still
// exists, revokes the relays of a deleted attendee or an ended meeting, and
// computes the peer addresses relays may reach (the media socket and the
// configured peers) and may not (the node's own listeners).
package turnauth
