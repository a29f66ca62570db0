package main

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/protobuf/proto"

	"github.com/confab-media/confab/cmd/confab/internal/config"
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
// The media UDP address is always an allowed peer: it is where relayed
// media must go.
func startTURN(cfg config.Config, secret []byte, media net.Addr, svc *meeting.Service, reg prometheus.Registerer, log *slog.Logger) (*turnRelay, error) {
	tc := cfg.TURN
	if !tc.Enabled {
		return nil, nil
	}
	allowed := make([]netip.Prefix, 0, len(tc.AllowedPeers)+2)
	if ap, err := netip.ParseAddrPort(media.String()); err == nil {
		allowed = append(allowed, netip.PrefixFrom(ap.Addr().Unmap(), 32))
	}
	for _, ip := range cfg.Media.PublicIPs {
		if a, err := netip.ParseAddr(ip); err == nil {
			allowed = append(allowed, netip.PrefixFrom(a, a.BitLen()))
		}
	}
	for _, p := range tc.AllowedPeers {
		allowed = append(allowed, netip.MustParsePrefix(p)) // validated by config
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
		UDPSockets: tc.UDPSockets, AllowedPeers: allowed, AllowPrivatePeers: tc.AllowPrivatePeers,
		MaxAllocationsPerUser: tc.MaxAllocationsPerAttendee, MaxAllocations: tc.MaxAllocations,
	}, turn.Params{Secret: secret, Active: r.active, Log: log, Registerer: reg})
	if err != nil {
		return nil, err
	}
	host := tc.PublicHost
	if host == "" {
		host = listenHost
	}
	r.srv = srv
	r.minter = turn.NewMinter(secret, tc.CredentialTTL.Std(), srv.URIs(host), time.Now)
	log.Info("turn: credentials name", "uris", srv.URIs(host), "ttl", tc.CredentialTTL.Std())
	return r, nil
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
