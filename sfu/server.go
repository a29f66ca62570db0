package sfu

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"

	"github.com/pion/ice/v4"
	"github.com/pion/logging"
	"github.com/pion/transport/v4/stdnet"

	"github.com/confab-media/confab/conference"
	"github.com/confab-media/confab/internal/clock"
	"github.com/confab-media/confab/internal/pionlog"
	"github.com/confab-media/confab/signaling/events"
	"github.com/confab-media/confab/signaling/media"
	"github.com/confab-media/confab/signaling/protocol"
)

// Server is the media side of every meeting on this host: it implements
// media.Server. It owns the shared ICE UDP socket, one Room per meeting
// and one Peer per subscribed session. Close closes everything and waits
// for every goroutine.
type Server struct {
	cfg  Config
	p    Params
	logs logging.LoggerFactory // pion's, into ours
	mux  ice.UDPMux
	out  *batchConn // the media socket under mux: batches what a tick or fan-out sends
	addr net.Addr
	cert *dtlsCertificate // every peer's DTLS certificate

	// mu guards rooms, peers and closed. It is never held while a
	// PeerConnection or mixer is closed or negotiated.
	mu     sync.Mutex
	rooms  map[string]*Room
	peers  map[uint64]*Peer
	closed bool

	conf    *conference.Registry
	ownConf bool           // conf was made by New: closed by Close
	stats   counters       // media counters (metrics.go)
	wg      sync.WaitGroup // drops of failed peers and rooms, waited by Close
}

var (
	_ media.Server  = (*Server)(nil)
	_ media.Indexer = (*Server)(nil)
)

// New opens the ICE UDP socket and returns a Server.
func New(cfg Config, p Params) (*Server, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if p.Log == nil {
		p.Log = slog.New(slog.DiscardHandler)
	}
	if p.Clock == nil {
		p.Clock = clock.System{}
	}
	if p.Net == nil {
		if p.Net, err = stdnet.NewNet(); err != nil {
			return nil, fmt.Errorf("sfu: network: %w", err)
		}
	}
	logs := pionlog.NewFactory(p.Log, 10, p.Clock.Now) // pion's own logs, into ours
	mux, out, err := listenMux(cfg, p.Net, logs)
	if err != nil {
		return nil, err
	}
	if _, err := newAPI(cfg, p.Net, mux, logs); err != nil { // the settings are checked once, here; each peer gets its own
		_ = mux.Close()
		return nil, err
	}
	addr := out.LocalAddr()
	p.Log.Info("sfu: listening", "udp", addr.String(), "sendmmsg", out.sender != nil)
	sv := &Server{
		cfg: cfg, p: p, logs: logs, mux: mux, addr: addr, out: out, cert: newDTLSCertificate(p.Clock),
		rooms: map[string]*Room{}, peers: map[uint64]*Peer{}, conf: p.Conference,
	}
	if sv.conf == nil {
		sv.conf = conference.New(conference.Config{Mixer: cfg.Mixer}, conference.Params{Clock: p.Clock, Log: p.Log, Panics: p.Panics})
		sv.ownConf = true
	}
	sv.conf.OnCapabilities(sv.applyCaps)
	sv.conf.SetOutput(out) // each mixer tick's packets leave in sendmmsg batches
	if p.Registerer != nil {
		if err := p.Registerer.Register(newCollector(sv)); err != nil {
			p.Log.Warn("sfu: metrics not registered", "err", err)
		}
	}
	return sv, nil
}

// Ready reports whether the media socket is open (the probe behind
// /readyz).
func (sv *Server) Ready(context.Context) error {
	sv.mu.Lock()
	defer sv.mu.Unlock()
	if sv.closed {
		return ErrClosed
	}
	return nil
}

// Addr is the address of the ICE UDP socket.
func (sv *Server) Addr() net.Addr { return sv.addr }

// Subscribe answers a SUBSCRIBE: the first creates the session's Peer, and
// every one renegotiates its full offer on that Peer's PeerConnection.
func (sv *Server) Subscribe(ctx context.Context, s media.Session, sub *protocol.SdkSubscribeFrame) (*protocol.SdkSubscribeAckFrame, error) {
	if sub.GetSdpOffer() == "" {
		// compressed_sdp_offer only comes if JOIN_ACK asked for it.
		return nil, badRequest(errors.New("SUBSCRIBE without sdp_offer"))
	}
	// Bounded before anything is parsed or created: every m-line becomes a
	// transceiver, and a receive line a track, a sender and a goroutine.
	if err := checkOfferSize(sub.GetSdpOffer(), sv.cfg.MaxOfferBytes, sv.cfg.MaxReceiveVideos); err != nil {
		return nil, badRequest(err)
	}
	if id := s.Identity(); id.Content && !sv.capsOf(id).sendVideo {
		return nil, badRequest(fmt.Errorf("%w: content share (Capabilities.Content or MeetingFeatures.Content.MaxResolution)", ErrNotPermitted))
	}
	p, created, err := sv.peer(s)
	if err != nil {
		return nil, err
	}
	if sub.AudioMuted != nil {
		p.setClientMuted(sub.GetAudioMuted())
	}
	ctx, cancel := context.WithTimeout(ctx, sv.cfg.NegotiateTimeout)
	defer cancel()
	n, err := p.negotiate(ctx, sub)
	if err != nil {
		if created {
			sv.Leave(s) // a failed first offer leaves nothing behind
		}
		return nil, err
	}
	if created {
		// num_participants, and anything missed since JOIN. A large room
		// coalesces the broadcast, so the new peer gets its own INDEX
		// first, before its SUBSCRIBE_ACK.
		if p.room.Peers() >= indexCoalesceFrom {
			p.room.sendIndex(p)
		}
		p.room.requestIndex()
	}
	switch n.published {
	case publishStarted:
		// A new video source: everyone's INDEX now (sources are few:
		// media.max_videos cameras and the content shares).
		sv.event(videoStarted(p.content), s)
		p.room.broadcastIndex()
	case publishStopped:
		sv.event(videoStopped(p.content), s)
		p.room.broadcastIndex()
	case publishRefused:
		p.log.Info("sfu: video refused: meeting at its video cap", "cap", sv.cfg.MaxVideos)
	}
	return &protocol.SdkSubscribeAckFrame{
		Duplex: sub.Duplex, SdpAnswer: &n.answer, Allocations: n.allocations, Tracks: n.tracks,
	}, nil
}

// Index is the INDEX a session gets right after JOIN_ACK
// (media.Indexer): the meeting's current video sources.
func (sv *Server) Index(s media.Session) *protocol.SdkIndexFrame {
	sv.mu.Lock()
	rm := sv.rooms[s.Identity().MeetingID]
	sv.mu.Unlock()
	if rm == nil {
		return &protocol.SdkIndexFrame{}
	}
	idx := rm.video.index(s.ID(), s.Identity().AttendeeID, sv.capsOf(s.Identity()))
	idx.SupportedReceiveCodecIntersection = rm.codecIntersection()
	return idx
}

// peer returns s's Peer, creating it (and its Room) on first use.
func (sv *Server) peer(s media.Session) (p *Peer, created bool, err error) {
	sv.mu.Lock()
	defer sv.mu.Unlock()
	if sv.closed {
		return nil, false, unavailable(ErrClosed)
	}
	if p := sv.peers[s.ID()]; p != nil {
		return p, false, nil
	}
	mid := s.Identity().MeetingID
	rm := sv.rooms[mid]
	if rm == nil {
		conf, err := sv.conf.Room(mid)
		if err != nil {
			return nil, false, unavailable(err)
		}
		rm = newRoom(mid, conf, sv.cfg, sv.p, &sv.stats, sv.out, sv.failRoom)
		sv.rooms[mid] = rm
	}
	// Creating a PeerConnection is local work (ICE agent; the certificate
	// is the Server's), so it is done under mu: a Room never sits empty in the map.
	cert, err := sv.cert.get()
	if err != nil {
		return nil, false, unavailable(err)
	}
	api, err := newAPI(sv.cfg, sv.p.Net, sv.mux, sv.logs)
	if err != nil {
		return nil, false, unavailable(err)
	}
	if p, err = newPeer(api, cert, rm, s, sv.capsOf(s.Identity()), sv.p.Clock, sv.p.Log); err != nil {
		if rm.Peers() == 0 {
			delete(sv.rooms, mid)
			rm.close() // takes no Server lock
		}
		return nil, false, unavailable(err)
	}
	p.panics = sv.p.Panics
	p.fail = func() { sv.drop(p) }
	rm.add(p)
	sv.peers[s.ID()] = p
	return p, true, nil
}

// Control takes a joined session's control frames: AUDIO_CONTROL mutes or
// unmutes its mixer leg (a muted leg is never a talker); REMOTE_VIDEO_UPDATE
// switches forwarded layers without renegotiation; PAUSE and RESUME stop
// and restart forwarding streams. BITRATES from clients carry nothing the
// server needs.
func (sv *Server) Control(s media.Session, f *protocol.SdkSignalFrame) {
	sv.mu.Lock()
	p := sv.peers[s.ID()]
	sv.mu.Unlock()
	if p == nil {
		return
	}
	switch f.GetType() {
	case protocol.SdkSignalFrame_AUDIO_CONTROL:
		if f.GetAudioControl().Muted != nil {
			p.setClientMuted(f.GetAudioControl().GetMuted())
		}
	case protocol.SdkSignalFrame_REMOTE_VIDEO_UPDATE:
		p.remoteVideoUpdate(f.GetRemoteVideoUpdate())
	case protocol.SdkSignalFrame_PAUSE:
		p.pauseStreams(f.GetPause().GetStreamIds(), true)
	case protocol.SdkSignalFrame_RESUME:
		p.pauseStreams(f.GetPause().GetStreamIds(), false)
	}
}

// Leave closes the session's Peer and, with its last peer, the Room.
func (sv *Server) Leave(s media.Session) {
	sv.mu.Lock()
	p := sv.peers[s.ID()]
	sv.mu.Unlock()
	if p != nil {
		sv.leave(p)
	}
}

// drop ends a peer whose goroutine panicked, on a goroutine of its own
// (closing waits for the peer's readers, the panicking one included). The
// session stays; a later SUBSCRIBE starts a new peer.
func (sv *Server) drop(p *Peer) {
	sv.mu.Lock()
	defer sv.mu.Unlock()
	if sv.closed || sv.peers[p.sessionID] != p {
		return
	}
	sv.wg.Go(func() { sv.leave(p) })
}

// failRoom ends a room whose stats loop panicked: its peers are closed
// (their sessions stay; a later SUBSCRIBE starts a new room), then the
// room, on a goroutine of its own (closing waits for the panicking
// goroutine). The meeting's audio (its conference Room) goes on.
func (sv *Server) failRoom(rm *Room) {
	sv.mu.Lock()
	defer sv.mu.Unlock()
	if sv.closed || sv.rooms[rm.meetingID] != rm {
		return
	}
	delete(sv.rooms, rm.meetingID)
	var peers []*Peer
	for id, p := range sv.peers {
		if p.room == rm {
			delete(sv.peers, id)
			peers = append(peers, p)
		}
	}
	sv.wg.Go(func() {
		for _, p := range peers {
			p.close()
		}
		rm.close()
	})
}

// leave removes p and closes it and, with its last member, its room.
func (sv *Server) leave(p *Peer) {
	s := p.sess
	sv.mu.Lock()
	if sv.peers[s.ID()] != p {
		sv.mu.Unlock()
		return
	}
	delete(sv.peers, s.ID())
	rm := p.room
	rm.remove(p)
	last := rm.Peers() == 0 && sv.rooms[rm.meetingID] == rm
	if last {
		delete(sv.rooms, rm.meetingID)
	}
	sv.mu.Unlock()
	if p.pub.Load() != nil {
		sv.event(videoStopped(p.content), s)
	}
	p.close()
	if last {
		rm.close()
	} else {
		rm.requestIndex()
	}
}

// event publishes a video event about s. (Joined/Left/Dropped, content
// share's included, come from the signaling session.)
func (sv *Server) event(t events.Type, s media.Session) {
	if sv.p.Events == nil {
		return
	}
	id := s.Identity()
	e := events.New(t, sv.p.Clock.Now(), sv.p.AccountID, id.MediaRegion)
	e.Detail.MeetingID = id.MeetingID
	e.Detail.ExternalMeetingID = id.ExternalMeetingID
	e.Detail.AttendeeID = id.AttendeeID
	e.Detail.ExternalUserID = id.ExternalUserID
	sv.p.Events.Publish(context.Background(), e)
}

func videoStarted(content bool) events.Type {
	if content {
		return events.AttendeeContentVideoStarted
	}
	return events.AttendeeVideoStarted
}

func videoStopped(content bool) events.Type {
	if content {
		return events.AttendeeContentVideoStopped
	}
	return events.AttendeeVideoStopped
}

// Close closes every Peer and Room and the UDP socket, and waits for all
// their goroutines. Later Subscribes fail with ErrMediaUnavailable.
func (sv *Server) Close() error {
	sv.mu.Lock()
	if sv.closed {
		sv.mu.Unlock()
		return nil
	}
	sv.closed = true
	peers, rooms := sv.peers, sv.rooms
	sv.peers, sv.rooms = map[uint64]*Peer{}, map[string]*Room{}
	sv.mu.Unlock()
	var wg sync.WaitGroup
	for _, p := range peers {
		wg.Go(p.close)
	}
	wg.Wait()
	for _, rm := range rooms {
		rm.close()
	}
	sv.wg.Wait()
	if sv.ownConf {
		sv.conf.Close()
	}
	return sv.mux.Close()
}
