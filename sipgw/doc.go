// Package sipgw is Confab's SIP dial-in gateway: a UAS (emiago/sipgo) on
// UDP, TCP and TLS that admits phone callers carrying a join token and
// attaches each call to its meeting's audio as one more leg of the mixer.
//
// # Admission
//
// An INVITE is checked in this order, each failure with its own reason
// phrase: a Require option tag other than "timer" (420, Unsupported:
// 100rel), the Request-URI user against Config.DialInNumber (404), the
// From user against E.164 (403), the X-chime-join-token Request-URI
// parameter — name matched case-insensitively, value percent-decoded —
// through Auth.Verify (403 missing/invalid/revoked, 404 "Meeting ended"),
// the SDP offer (488), the session timer (422 with Min-SE), then media
// ports (503) and Conference.JoinPhone (486 for ErrMeetingFull, else 503).
// Nothing reaches the Conference before the token is verified, and nothing
// is allocated for a caller that is refused. CANCEL during setup gets 487
// (sipgo answers it) and a leg joined meanwhile is left at once.
//
// # SDP and SRTP
//
// The answer takes the first audio m= line the gateway can serve (others
// are rejected with port 0): Opus if offered (answered useinbandfec=1),
// else PCMU or PCMA, plus telephone-event (at the codec's clock if
// offered). RTP/SAVP uses SDES (RFC 4568): the first a=crypto line in offer
// order whose suite pion/srtp implements (AEAD_AES_256/128_GCM,
// AES_256_CM and AES_CM_128 with HMAC_SHA1_80/32), without session
// parameters; replay protection is on; one a=crypto line is answered with
// the offer's tag and our own random key. RTP/AVP is accepted from
// loopback callers unless Config.RequireSRTP, and from others only with
// Config.AllowPlainRTP. Media is symmetric: RTP goes to where the caller's
// packets come from (a plain-RTP source can only take over after 1 s of
// silence from the latched one; an authenticated SRTP source at once), but
// only packets from the INVITE's source IP or the SDP's IP are taken, and
// RTP goes to an SDP address other than the INVITE's source only once a
// packet came from it (no media cannon aimed at third parties). Port pairs
// are picked at random, so the next call's port cannot be guessed.
//
// # Limits
//
// One call per attendee: a new INVITE with the same join token replaces
// the attendee's call (BYE "replaced"), as a second join does in the Chime
// SDK; Config.MaxCallsPerMeeting calls per meeting (486); a call that has
// sent no RTP Config.NoMediaTimeout after answer ends. TCP and TLS
// connections are bounded by internal/netguard (Config.Stream, overall and
// per IP, TLS handshake and first-message deadline, idle timeout, the
// process's descriptor budget Params.FDs). sipgo's logs of unparseable
// input are rate-limited (logfilter.go) and counted. A panic in a SIP
// handler (500), a call (BYE) or an RTP reader (BYE) is contained and
// counted in Params.Panics.
//
// # Media
//
// Per call: one UDP socket (even port; the odd RTCP port is bound but RTCP
// is not used) read by one goroutine, no per-packet allocation or logging
// in the gateway's code. Jitter buffering is arrival-driven: the meeting
// mixer already plays every leg out of an adaptive, clocked jitter buffer
// keyed by RTP timestamp (with Opus FEC/PLC), so a second clocked buffer
// here would only add delay. An Opus caller is just another Opus leg: its
// payloads are pushed untouched as they arrive, with the RFC 6464 level of
// a 16 kHz decode (which runs FEC/PLC over gaps); the mix frames are sent
// untouched. A G.711 caller's audio goes through a reorder ring indexed by
// RTP timestamp (a gap is concealed, G.711 Appendix I style, once audio
// 40 ms past it has arrived) and each 20 ms of decoded PCM is pushed to a
// PCM leg of the mixer, which upsamples it; the caller gets G.711 the mixer
// encoded once per tick for every listener of that codec (a talker gets
// its own mix-minus). No Opus is encoded or decoded per G.711 caller. See
// rx.go and plc.go.
//
// The mix callback never blocks: it copies the frame into a small queue
// that the call's sender goroutine drains to send RTP, at the mixer's
// pace; a full queue drops the frame. The dialog (the INVITE handler's
// goroutine, which lives as long as the call) never touches media: it
// swaps the reader's and the sender's negotiated configuration on
// re-offers. The 2xx to an INVITE is retransmitted until its ACK by one
// function for the initial INVITE and re-INVITEs (resend2xx).
//
// # Dialog
//
// ACK, BYE both ways (a gateway BYE goes back to the caller's source
// address, over its own connection for TCP and TLS: DialogUA with
// RewriteContact), CANCEL, re-INVITE and UPDATE (hold and unhold via
// sendonly/inactive or c=0.0.0.0 → PhoneLeg.SetMuted; a refresh with the
// same SDP gets the same answer and o= version), RFC 4028 session timers
// (the caller refreshes; no refresh → BYE), an RTP inactivity timeout, and
// BYE when PhoneLeg.Done closes or the gateway closes. In-dialog requests
// are applied in order on the call's dialog goroutine.
//
// # DTMF
//
// RFC 4733 telephone-event (one digit per event, deduplicated on the RTP
// timestamp and the end bit, so phones with wrong clocks work) and SIP
// INFO (application/dtmf-relay, application/dtmf) reach Params.OnDTMF.
//
// # Not supported
//
// INVITEs without an SDP offer (488), 100rel/PRACK (420), codec changes in
// a re-offer (488), DTLS-SRTP, G.722, and sending RTCP.
package sipgw
