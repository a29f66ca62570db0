// Package netguard bounds the stream connections (TCP, and TLS on top of it)
// that a listener accepts from the internet, so that connections which never
// speak, or speak too slowly, cannot exhaust the process's file descriptors:
//
//   - a cap on open connections per listener and per remote IP;
//   - a file-descriptor Budget shared by several listeners, sized from
//     RLIMIT_NOFILE minus a reserve kept for the HTTP API;
//   - a deadline, counted from accept, for the first bytes of the first
//     message (a TLS handshake included, when tls.NewListener wraps the
//     guarded listener), then an idle timeout renewed on every read;
//   - a deadline on every write, so a peer that never reads cannot park a
//     writer forever.
//
// Over-cap connections are accepted and closed at once: Accept never hands
// them out and never blocks on them.
package netguard
