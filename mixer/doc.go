// Package mixer is Confab's audio engine: one Mixer per meeting mixes the
// audio of its legs (WebRTC attendees, SIP phones, ...) and hands every leg
// one encoded 20 ms frame per tick. It knows nothing of WebRTC, SIP or
// signaling: legs push timestamped frames in and receive payloads through a
// Sink; RTP headers, SSRCs and SRTP stay with the transport.
//
// A leg has a Codec. Opus legs (AddLeg) push Opus packets with 48 kHz
// timestamps (Leg.Push) and get Opus. PCM legs (AddPCMLeg: G.711 callers)
// push 20 ms of decoded 8 kHz PCM with 8 kHz timestamps (Leg.PushPCM), which
// the mixer upsamples ×6 when it mixes them (resample.go), and get 160 bytes
// of PCMU or PCMA: the mix low-passed below 4 kHz, decimated and encoded
// (pcm.go). No Opus is encoded or decoded for a PCM leg. Both kinds share
// one jitter buffer design, one talker selection and one mix, so they hear
// each other.
//
// Every 20 ms (one injected Clock, with bounded catch-up when a tick is late)
// the mixer:
//
//  1. pulls one frame per leg from its jitter buffer (jitter.go), which is
//     keyed by RTP timestamp, adapts its delay to the RFC 3550 §6.4.1
//     interarrival jitter, absorbs clock drift by dropping or inserting a
//     frame (preferably a quiet one) and reports loss so the decoder can use
//     in-band FEC from the next packet or packet-loss concealment;
//  2. picks the top-N talkers (default 3) from the RFC 6464 audio levels the
//     transport passes with each packet, smoothed and with hysteresis, looking
//     ahead into the jitter buffer so the first syllable is not clipped
//     (talkers.go). Silent legs are never decoded; legs without a level
//     (LevelUnknown) are decoded and measured;
//  3. decodes the talkers only, sums them in int32 and runs each output
//     through a smooth gain limiter that never wraps (limiter.go);
//  4. encodes every talker's mix-minus (the mix without itself) on an encoder
//     slot it keeps for a hold time, in the talker's codec, and the full mix
//     ONCE per codec in use for all other legs, which receive the very same
//     bytes (encoders.go, pcm.go). The cost is O(talkers + codecs) encodes
//     per tick, not O(legs);
//  5. calls every leg's Sink with its payload and a timestamp that advances
//     by one frame per tick (960 at 48 kHz for Opus, 160 at 8 kHz for
//     G.711), a continuous 50 packet/s stream (DTX off).
//
// Levels copies the smoothed level of every leg for the signaling layer's
// audio metadata without allocating. Stats returns counters for metrics.
//
// Concurrency: the mixing step runs on the Mixer's one goroutine (Start) or
// on the caller's (Tick). Push, PushPCM, SetMuted, AddLeg, AddPCMLeg,
// RemoveLeg, Levels and Stats are safe from any goroutine. Nothing on the
// per-packet or per-tick path allocates in steady state.
package mixer
