// Package conference is one meeting's runtime on this node, whatever the
// transport of its members: a [Registry] maps meeting ids to [Room]s, and a
// Room owns the meeting's roster ([Roster]: who is present under which
// audio_stream_id, muted or not), its mixer and its audio legs (WebRTC
// attendees and phone callers alike), the attendees' effective capabilities, the
// level/active-speaker ticker and the auto-end rules of the Chime guide.
//
// Transports attach to it and know nothing of each other: the SFU
// (package sfu) adds a WebRTC peer's audio leg with [Room.AddAudio]; the
// SIP gateway (package sipgw) joins a caller with [Registry.JoinPhone];
// client signaling (package signaling/session) renders what the Room
// reports through a [Listener] — phone presence and volume levels (named by
// the Roster's stream ids) — and records arrivals, departures and mutes in
// the Roster under its own per-meeting lock, so its presence frames leave
// in roster order. The meeting service
// ends a meeting the Room asks to end ([Ender]), and its lifecycle reaches
// the Registry as typed calls ([Registry.End], [Registry.RemoveAttendee],
// [Registry.SetCapabilities]).
//
// Arrows: sfu, sipgw, signaling/session → conference → mixer. conference
// imports none of them; it uses the meeting service's plain types
// (meeting.Identity, meeting.Capabilities).
//
// A panic in a Room's goroutines (the mixer, the level ticker) is contained:
// it is counted and ends that meeting (the Ender is asked, so clients are
// told), never the process.
package conference
