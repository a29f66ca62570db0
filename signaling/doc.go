// Package signaling groups Confab's control plane and client signaling:
//
//   - api:     the Chime SDK Meetings REST-JSON API (routes, SigV4, typed errors)
//   - meeting: meetings, attendees, join tokens, quotas, lifecycle, placement
//   - store:   durable state (embedded bbolt now; a Store interface for Redis later)
//   - events:  EventBridge-shaped meeting events and the sinks they go to
//   - sigv4:   AWS Signature Version 4 signing and verification
//   - protocol: the client signaling schema (proto2) and its 0x05-prefixed frame codec
package signaling
