// Package load is Confab's bench harness: it loads a Confab deployment (or
// any Chime-SDK-compatible one) through its public protocols only and
// reports what operators care about.
//
// A [Scenario] says how many meetings, attendees per meeting, talkers,
// video publishers and subscribers, at what join rate and for how long.
// [Run] creates the meetings and attendees through the control plane
// (SigV4, the AWS SDK), joins every attendee as a synthetic browser client
// (bench/attendee: signaling WebSocket + pion + Opus, synthetic VP8 or,
// with Scenario.VideoCodec, H.264 simulcast), and measures:
//
//   - join latency: signaling WebSocket open → first mixed audio packet;
//   - mouth-to-ear latency through the mixer: each talker sends tone bursts
//     at its own frequency (a multiple of 50 Hz, staggered in time), each
//     listener detects their onsets in the decoded mix; latency = onset −
//     burst sent (the client's playout buffer excluded);
//   - audio loss (received vs. the 50 packets/s sent for the time
//     connected) and RFC 3550 jitter per listener;
//   - data-message latency (sender's clock in the payload; same host);
//   - video: frames per second received per subscribed stream, SSRCs seen;
//   - the server's CPU and resident memory over time, from its Prometheus
//     /metrics (process collector), so remote targets work too, and how
//     much its media counters grew (watchedCounters: FEC/PLC decodes,
//     NACKs, PLIs, layer switches, relayed packets);
//   - the network path ICE chose per attendee (host or relay);
//   - phone callers (Scenario.SIPCallers, bench/phone): INVITE → 200 OK,
//     INVITE → first mixed audio, loss, jitter and mouth-to-ear between
//     the phones and the WebRTC attendees in both directions.
//
// Scenario.Relay connects every attendee through TURN only; LossPct,
// Delay, Jitter and BandwidthKbps impair each attendee's path, seeded
// (bench/attendee Impairment).
//
// The [Report] is written as JSON and HTML (latency CDFs, CPU over time,
// loss per meeting as inline SVG) and summarised as a terminal table;
// while running, a progress line is printed. Targets outside loopback are
// refused unless Target.AllowRemote.
//
// Scenario.Shard runs part of the meetings; [Merge] combines the parts.
//
// Not yet: SRTP, Opus or PIN-flow callers, Linux netem, a Janus target.
package load
