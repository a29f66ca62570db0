// Package sipgw will hold the SIP gateway: a sipgo UAS that admits callers
// carrying X-chime-join-token in the Request-URI, answers SDP with Opus or
// G.711 (SDES-SRTP when offered) and attaches each call to the meeting's mixer
// as an audio leg. Nothing lives here yet.
package sipgw
