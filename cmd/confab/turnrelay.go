package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/protobuf/proto"

	"github.com/confab-media/confab/cmd/confab/internal/config"
	"github.com/confab-media/confab/internal/guard"
	"github.com/confab-media/confab/internal/netguard"
	"github.com/confab-media/confab/signaling/events"
	"github.com/confab-media/confab/signaling/meeting"
	"github.com/confab-media/confab/signaling/protocol"
	"github.com/confab-media/confab/turn"
)

// turnRelay joins the TURN server to the control plane: it mints each
// joining attendee's credentials (JOIN_ACK, TurnControlUrl), tells the
// server which attendees are still active, and revokes relays when an
// attendee is deleted or its meeting ends (it is an events.Sink).
type turnRelay struct {
	srv    *turn.Server
	minter *turn.Minter
	svc    *meeting.Service
	log    *slog.Logger

	mu        sync.Mutex
	meetingOf map[string]string              // attendee (or attendee#content) → meeting
	attendees map[string]map[string]struct{} // meeting → attendees with credentials
}

// startTURN starts the relay when the config enables it; nil otherwise.
// Relays may reach only the media socket (address and port: mediaPeers)
// and turn.allowed_peers; the HTTP and SIP listeners are refused even when
// a wide allowed_peers entry covers them. TCP/TLS connections draw on fds,
// and panics counts what the relay's goroutines contain.
func startTURN(cfg config.Config, secret []byte, media net.Addr, svc *meeting.Service, reg prometheus.Registerer, log *slog.Logger, fds *netguard.Budget, panics guard.Counter) (*turnRelay, error) {
	tc := cfg.TURN
	if !tc.Enabled {
		return nil, nil
	}
	allowed, err := mediaPeers(media, cfg.Media.PublicIPs, interfaceIPs)
	if err != nil {
		return nil, err
	}
	for _, p := range tc.AllowedPeers {
		peer, err := turn.ParsePeer(p)
		if err != nil { // validated by config
			return nil, fmt.Errorf("turn.allowed_peers: %q: %w", p, err)
		}
		allowed = append(allowed, peer)
	}
	var denied []netip.AddrPort
	for _, a := range []string{cfg.HTTP.Listen, cfg.SIP.ListenUDP, cfg.SIP.ListenTCP, cfg.SIP.ListenTLS} {
		denied = append(denied, listenerPeers(a)...)
	}
	listenHost, _, _ := net.SplitHostPort(tc.ListenUDP)
	relayIP := tc.RelayIP
	if relayIP == "" {
		relayIP = listenHost
	}
	r := &turnRelay{svc: svc, log: log, meetingOf: map[string]string{}, attendees: map[string]map[string]struct{}{}}
	srv, err := turn.New(turn.Config{
		ListenUDP: tc.ListenUDP, ListenTCP: tc.ListenTCP, ListenTLS: tc.ListenTLS,
		CertFile: tc.CertFile, KeyFile: tc.KeyFile, RelayIP: relayIP,
		RelayPortMin: uint16(tc.RelayPortMin), RelayPortMax: uint16(tc.RelayPortMax),
		UDPSockets: tc.UDPSockets, AllowedPeers: allowed, DeniedPeers: denied, AllowPrivatePeers: tc.AllowPrivatePeers,
		MaxAllocationsPerUser: tc.MaxAllocationsPerAttendee, MaxAllocations: tc.MaxAllocations,
		Stream: netguard.Config{
			MaxConns: tc.MaxConns, MaxPerIP: tc.MaxConnsPerIP,
			FirstMessage: tc.FirstMessageTimeout.Std(), Idle: tc.IdleTimeout.Std(),
		},
	}, turn.Params{Secret: secret, Active: r.active, Log: log, Registerer: reg, FDs: fds, Panics: panics})
	if err != nil {
		return nil, err
	}
	host := tc.PublicHost
	if host == "" {
		host = listenHost
	}
	r.srv = srv
	r.minter = turn.NewMinter(secret, tc.CredentialTTL.Std(), srv.URIs(host), time.Now)
	log.Info("turn: credentials name", "uris", srv.URIs(host), "ttl", tc.CredentialTTL.Std(), "peers", allowed)
	return r, nil
}

// mediaPeers are the sockets relayed media may go to: the media socket
// itself, and where it is reached from outside. A concrete listen address
// gives that address and port, plus each public IP (1:1 NAT, the address
// ICE candidates advertise) with the port. A wildcard (0.0.0.0, ::) gives
// the port on every local address (loopback and each interface's, from
// local) and on each public IP, since any of them reaches the socket; no
// other port on those addresses is allowed.
func mediaPeers(media net.Addr, publicIPs []string, local func() ([]netip.Addr, error)) ([]turn.Peer, error) {
	ap, err := netip.ParseAddrPort(media.String())
	if err != nil || ap.Port() == 0 {
		return nil, fmt.Errorf("media address %v: %w", media, errors.Join(err, errors.New("want a bound ip:port")))
	}
	port := ap.Port()
	ips := []netip.Addr{ap.Addr().Unmap()}
	if ap.Addr().IsUnspecified() {
		ifs, err := local()
		if err != nil {
			return nil, fmt.Errorf("media address %v: local addresses: %w", media, err)
		}
		ips = append([]netip.Addr{netip.MustParseAddr("127.0.0.1")}, ifs...)
	}
	for _, s := range publicIPs {
		if a, err := netip.ParseAddr(s); err == nil {
			ips = append(ips, a.Unmap())
		}
	}
	var peers []turn.Peer
	seen := map[netip.Addr]bool{}
	for _, ip := range ips {
		if ip.IsValid() && !ip.IsUnspecified() && !seen[ip] {
			seen[ip] = true
			peers = append(peers, turn.PeerAt(netip.AddrPortFrom(ip, port)))
		}
	}
	return peers, nil
}

// interfaceIPs lists the host's unicast interface addresses.
func interfaceIPs() ([]netip.Addr, error) {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return nil, err
	}
	var ips []netip.Addr
	for _, a := range addrs {
		if p, err := netip.ParsePrefix(a.String()); err == nil && !p.Addr().IsMulticast() {
			ips = append(ips, p.Addr().Unmap())
		}
	}
	return ips, nil
}

// listenerPeers is a configured listen address as TURN DeniedPeers: its
// ip:port, or the port on any address for a wildcard or empty host. A port
// of 0 (picked at start) gives none: such a listener is still refused by
// default, as no allowed entry names it, but not inside a wide
// allowed_peers CIDR.
func listenerPeers(listen string) []netip.AddrPort {
	host, p, err := net.SplitHostPort(listen)
	if err != nil {
		return nil
	}
	port, err := strconv.ParseUint(p, 10, 16)
	if err != nil || port == 0 {
		return nil
	}
	ip, err := netip.ParseAddr(host)
	if err != nil || ip.IsUnspecified() {
		ip = netip.IPv4Unspecified()
	}
	return []netip.AddrPort{netip.AddrPortFrom(ip.Unmap(), uint16(port))}
}

// mint returns credentials for id and remembers its meeting.
func (r *turnRelay) mint(id meeting.Identity) turn.Credentials {
	r.mu.Lock()
	r.meetingOf[id.AttendeeID] = id.MeetingID
	set := r.attendees[id.MeetingID]
	if set == nil {
		set = map[string]struct{}{}
		r.attendees[id.MeetingID] = set
	}
	set[id.AttendeeID] = struct{}{}
	r.mu.Unlock()
	return r.minter.Mint(id.AttendeeID)
}

// Credentials is session.TURN: JOIN_ACK's turn_credentials.
func (r *turnRelay) Credentials(id meeting.Identity) (*protocol.SdkTurnCredentials, bool) {
	c := r.mint(id)
	return &protocol.SdkTurnCredentials{
		Username: proto.String(c.Username), Password: proto.String(c.Password),
		Ttl: proto.Uint32(uint32(c.TTL / time.Second)), Uris: c.URIs,
	}, true
}

// active reports whether the attendee a TURN username names still exists:
// credentials die with the attendee and with its meeting.
func (r *turnRelay) active(attendeeID string) bool {
	r.mu.Lock()
	mid, ok := r.meetingOf[attendeeID]
	r.mu.Unlock()
	if !ok {
		return false
	}
	_, err := r.svc.GetAttendee(context.Background(), mid, strings.TrimSuffix(attendeeID, "#content"))
	return err == nil
}

// Deliver revokes relays on AttendeeDeleted and MeetingEnded.
func (r *turnRelay) Deliver(_ context.Context, e events.Event) {
	var gone []string
	r.mu.Lock()
	switch e.Detail.EventType {
	case events.AttendeeDeleted:
		for _, a := range []string{e.Detail.AttendeeID, e.Detail.AttendeeID + "#content"} {
			if _, ok := r.meetingOf[a]; ok {
				gone = append(gone, a)
				delete(r.meetingOf, a)
				delete(r.attendees[e.Detail.MeetingID], a)
			}
		}
	case events.MeetingEnded:
		for a := range r.attendees[e.Detail.MeetingID] {
			gone = append(gone, a)
			delete(r.meetingOf, a)
		}
		delete(r.attendees, e.Detail.MeetingID)
	}
	r.mu.Unlock()
	for _, a := range gone {
		r.srv.Revoke(a)
	}
}

// Close stops the relay.
func (r *turnRelay) Close() error { return r.srv.Close() }

// turnControl answers the TurnControlUrl of SDKs 3.0–3.19 (fact sheet §5):
// POST with X-Chime-Auth-Token "_aws_wt_session=<join token>" and body
// {"meetingId"} → {username, password, ttl, uris}; 403 for a bad token or
// another meeting, 404 for an ended meeting or TURN switched off.
func turnControl(svc *meeting.Service, r *turnRelay) http.HandlerFunc {
	return func(w http.ResponseWriter, req *http.Request) {
		tok, ok := strings.CutPrefix(req.Header.Get("X-Chime-Auth-Token"), "_aws_wt_session=")
		if !ok || tok == "" {
			turnError(w, http.StatusForbidden, "missing X-Chime-Auth-Token _aws_wt_session=<join token>")
			return
		}
		var body struct {
			MeetingID string `json:"meetingId"`
		}
		if err := json.NewDecoder(http.MaxBytesReader(w, req.Body, 4096)).Decode(&body); err != nil {
			turnError(w, http.StatusBadRequest, "body must be JSON {\"meetingId\": ...}")
			return
		}
		id, err := svc.Verify(tok)
		switch {
		case errors.Is(err, meeting.ErrMeetingEnded):
			turnError(w, http.StatusNotFound, "meeting ended")
			return
		case err != nil:
			turnError(w, http.StatusForbidden, "join token refused")
			return
		case body.MeetingID != "" && body.MeetingID != id.MeetingID:
			turnError(w, http.StatusForbidden, "join token is for another meeting")
			return
		case r == nil:
			turnError(w, http.StatusNotFound, "TURN is not enabled")
			return
		}
		c := r.mint(id)
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{
			"username": c.Username, "password": c.Password, "ttl": int(c.TTL / time.Second), "uris": c.URIs,
		})
	}
}

func turnError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"message": msg})
}
