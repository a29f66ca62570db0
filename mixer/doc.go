// Package mixer will hold the audio engine: per-leg jitter buffers, the 20 ms
// mixing clock, top-N talker selection from RFC 6464 levels, mix-minus (every
// listener hears everyone but itself) and shared Opus encodes. It knows nothing
// of WebRTC, SIP or signaling. Nothing lives here yet.
package mixer
