// Package sfu will hold the media group runtime: one room per meeting, the
// WebRTC peers of its attendees (pion/webrtc), simulcast video forwarding with
// layer switching, and the 16-published-video cap. Nothing lives here yet; see
// the architecture notes in README.md.
package sfu
