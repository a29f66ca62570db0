package attendee

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/webrtc/v4"
	"google.golang.org/protobuf/proto"

	"github.com/confab-media/confab/signaling/protocol"
)

// Config describes one synthetic attendee.
type Config struct {
	// SignalingURL is the signaling WebSocket URL (ws:// or wss://), e.g.
	// the meeting's MediaPlacement.SignalingUrl.
	SignalingURL string
	// JoinToken is the attendee's JoinToken from CreateAttendee.
	JoinToken string
	// Name labels the attendee in logs.
	Name string
	// ToneHz is the frequency of the sine the attendee sends, at about
	// -15 dBov; 0 sends silence (Opus-encoded zeros at level 127).
	ToneHz float64
	// Muted joins muted (SUBSCRIBE audio_muted): silence is sent until
	// SetMuted(ctx, false).
	Muted bool
	// Loopback restricts ICE to UDP host candidates on 127.0.0.1, for a
	// server on this machine. Otherwise every UDP4 interface is used.
	Loopback bool
	// History is how much decoded audio is kept for Audio and Power;
	// 0 means 5 s, a negative value turns decoding off (packets are still
	// counted).
	History time.Duration
	// Video configures the camera (StartVideo); with Video.Layers > 0 Dial
	// starts it once connected.
	Video VideoConfig
	// Bursts, if set, sends the tone in bursts for latency measurement.
	Bursts Bursts
	// Listen lists tone frequencies whose onsets in the received audio are
	// recorded ([Attendee.Onsets]); decoding must be on (History ≥ 0).
	Listen []float64
	// Relay, if set, connects only through the TURN servers JOIN_ACK
	// names, over "udp", "tcp" or "tls" (turns:), as a browser behind a
	// firewall does ([Attendee.Path] tells which candidate ICE chose).
	Relay string
	// Impair degrades the attendee's network path (impair.go).
	Impair Impairment
	// Log receives debug logs; nil discards them.
	Log *slog.Logger
}

// DefaultHistory is the decoded audio kept when Config.History is 0.
const DefaultHistory = 5 * time.Second

// arrivalsKept is how many packet arrival times are kept for
// RecentPackets: 10 s at 50 packets/s.
const arrivalsKept = 500

// Participant is one attendee present in the meeting, as announced by
// AUDIO_STREAM_ID_INFO.
type Participant struct {
	AttendeeID     string
	ExternalUserID string
	StreamID       uint32 // audio_stream_id
	Muted          bool
}

// Volume is one entry of the last AUDIO_METADATA frame.
type Volume struct {
	AttendeeID     string // "" if the stream is not (or no longer) present
	StreamID       uint32
	Volume         uint32 // SDK scale: 14 loudest … 42 silent
	Muted          bool
	SignalStrength uint32 // 0 none, 1 lossy, 2 good
}

// DataMessage is one received data message.
type DataMessage struct {
	Topic                string
	Data                 []byte
	Lifetime             time.Duration
	SenderAttendeeID     string
	SenderExternalUserID string
	IngestTimeNs         int64 // 0: the message was throttled and bounced back
	Received             time.Time
}

// maxDataMessages bounds the received data messages kept.
const maxDataMessages = 1024

// AudioStats describes the sent and the received audio.
type AudioStats struct {
	Sent         uint64 // 20 ms frames sent
	Packets      uint64 // RTP packets received on the remote audio track
	SeqGaps      uint64 // received packets whose sequence number did not follow the previous one
	DecodeErrors uint64
	LastArrival  time.Time
	// JitterMs is the RFC 3550 interarrival jitter of the received audio.
	JitterMs float64
	// StreamID and TrackID are the msid of the remote audio track, empty
	// before it arrives.
	StreamID, TrackID string
}

// Attendee is a synthetic Chime SDK browser client: a signaling WebSocket
// and a pion PeerConnection with one sendrecv Opus audio m-line, the
// camera m-line (inactive until StartVideo) and one recvonly video m-line
// per subscribed remote stream. Its methods are safe for concurrent use.
type Attendee struct {
	cfg    Config
	log    *slog.Logger
	sig    *Signaling
	api    *webrtc.API
	pc     *webrtc.PeerConnection
	mic    *webrtc.TrackLocalStaticRTP
	tx     *webrtc.RTPSender
	camTr  *webrtc.RTPTransceiver // m-line 1
	filter *rtpFilter             // drops early media (early.go)
	impair *impairer              // nil: an unimpaired path (impair.go)

	connected chan struct{} // closed when ICE first connects
	muted     atomic.Bool
	sent      atomic.Uint64
	stop      chan struct{} // closed by Close
	closeOnce sync.Once
	negMu     sync.Mutex // serialises SUBSCRIBE exchanges

	mu     sync.Mutex // guards closed, wg.Add against Close, err and ack
	closed bool
	wg     sync.WaitGroup // the sender and the track readers
	err    error          // the first background failure
	ack    *protocol.SdkSubscribeAckFrame

	sigMu     sync.Mutex // guards the signaling state below
	presence  map[uint32]Participant
	volumes   []Volume
	data      []DataMessage
	dataErrs  int
	index     *protocol.SdkIndexFrame
	bitrates  *protocol.SdkBitrateFrame
	pauses    []PauseResume
	nBitrates int

	// vidMu guards the video state below. Lock order: negMu, vidMu.
	vidMu       sync.Mutex
	cam         *camera                         // nil while the camera is off
	allocs      []*protocol.SdkStreamAllocation // the camera's, from the last SUBSCRIBE_ACK
	wanted      []uint32                        // stream per subscription line
	subMids     []string                        // mid per subscription line, last offer
	midStream   map[string]uint32               // subscribed stream by mid
	labelStream map[string]uint32               // stream by track label (SUBSCRIBE_ACK tracks[])

	vrxMu sync.Mutex          // guards vrx
	vrx   map[string]*videoRx // received video by mid

	bursts    events           // burst start times (Config.Bursts)
	detectors []*OnsetDetector // one per Config.Listen frequency; used by the audio reader only

	rxMu       sync.Mutex // guards the receive state below
	opened     time.Time  // the signaling WebSocket opened
	firstAudio time.Time  // the first mixed audio packet arrived
	rx         AudioStats
	lastSeq    uint16
	lastTS     uint32
	jitter     float64 // RFC 3550 J, in 48 kHz units
	arrivals   timeRing
	pcm        pcmRing
}

// Dial joins a meeting as a browser does: it opens the signaling
// WebSocket, sends JOIN and waits for JOIN_ACK and INDEX, sends SUBSCRIBE
// with a full offer, applies the SUBSCRIBE_ACK answer, waits for ICE to
// connect and starts sending audio (and, if Config.Video.Layers > 0,
// starts the camera with a re-SUBSCRIBE). ctx bounds these steps only; the
// attendee stays until Leave or Close. On error everything is torn down.
func Dial(ctx context.Context, cfg Config) (*Attendee, error) {
	if cfg.SignalingURL == "" || cfg.JoinToken == "" {
		return nil, errors.New("attendee: SignalingURL and JoinToken are required")
	}
	if _, err := VideoCodec(cfg.Video.Codec); err != nil {
		return nil, err
	}
	if cfg.History == 0 {
		cfg.History = DefaultHistory
	}
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	a := &Attendee{
		cfg: cfg, log: log.With("attendee", cfg.Name),
		connected: make(chan struct{}), stop: make(chan struct{}),
		presence: map[uint32]Participant{}, vrx: map[string]*videoRx{}, filter: newRTPFilter(),
		arrivals: timeRing{buf: make([]time.Time, arrivalsKept)},
	}
	a.muted.Store(cfg.Muted)
	for _, hz := range cfg.Listen {
		a.detectors = append(a.detectors, NewOnsetDetector(hz, SampleRate))
	}
	if cfg.History > 0 {
		a.pcm.buf = make([]int16, int(cfg.History.Seconds()*SampleRate))
	}
	if cfg.Impair.active() {
		a.impair = newImpairer(cfg.Impair)
	}
	if err := a.dial(ctx); err != nil {
		_ = a.Close()
		return nil, err
	}
	return a, nil
}

func (a *Attendee) dial(ctx context.Context) error {
	sig, err := dialSignaling(ctx, a.cfg.SignalingURL, a.cfg.JoinToken, a.log, a.handleFrame)
	if err != nil {
		return err
	}
	a.rxMu.Lock()
	a.opened = time.Now()
	a.rxMu.Unlock()
	a.sig = sig
	ack, err := sig.Join(ctx)
	if err != nil {
		return err
	}
	// The PeerConnection comes after JOIN_ACK, which carries the TURN
	// credentials a relayed attendee gathers with.
	if err := a.newPeerConnection(ack.GetTurnCredentials()); err != nil {
		return err
	}
	if _, err := a.Resubscribe(ctx); err != nil {
		return err
	}
	select {
	case <-a.connected:
	case <-ctx.Done():
		return fmt.Errorf("attendee: ICE did not connect: %w", ctx.Err())
	}
	a.log.Debug("attendee: connected")
	if err := a.startSending(); err != nil {
		return err
	}
	if a.cfg.Video.Layers > 0 {
		return a.StartVideo(ctx, a.cfg.Video.Layers)
	}
	return nil
}

// Signaling returns the attendee's signaling connection, for raw frames.
// Frames it consumes with Next are not seen by the attendee's own waits.
func (a *Attendee) Signaling() *Signaling { return a.sig }

// PeerConnection returns the attendee's PeerConnection, for inspection.
func (a *Attendee) PeerConnection() *webrtc.PeerConnection { return a.pc }

// SubscribeAck returns the last successful SUBSCRIBE_ACK.
func (a *Attendee) SubscribeAck() *protocol.SdkSubscribeAckFrame {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.ack
}

// SetMuted sends AUDIO_CONTROL and, while muted, sends silence instead of
// the tone.
func (a *Attendee) SetMuted(ctx context.Context, muted bool) error {
	a.muted.Store(muted)
	fr := protocol.NewFrame(protocol.SdkSignalFrame_AUDIO_CONTROL, time.Now())
	fr.AudioControl = &protocol.SdkAudioControlFrame{Muted: proto.Bool(muted)}
	return a.sig.Send(ctx, fr)
}

// SendData sends one data message. The server relays it to the others; a
// refusal comes back asynchronously (see DataErrors).
func (a *Attendee) SendData(ctx context.Context, topic string, data []byte, lifetime time.Duration) error {
	fr := protocol.NewFrame(protocol.SdkSignalFrame_DATA_MESSAGE, time.Now())
	fr.DataMessage = &protocol.SdkDataMessageFrame{Messages: []*protocol.SdkDataMessagePayload{{
		Topic: proto.String(topic), Data: data, LifetimeMs: proto.Uint32(uint32(lifetime.Milliseconds())),
	}}}
	return a.sig.Send(ctx, fr)
}

// Leave sends LEAVE, waits for LEAVE_ACK and closes the attendee.
func (a *Attendee) Leave(ctx context.Context) error {
	fr := protocol.NewFrame(protocol.SdkSignalFrame_LEAVE, time.Now())
	fr.Leave = &protocol.SdkLeaveFrame{}
	err := a.sig.Send(ctx, fr)
	if err == nil {
		_, err = a.sig.Next(ctx, protocol.SdkSignalFrame_LEAVE_ACK)
	}
	return errors.Join(err, a.Close())
}

// Close closes the signaling socket (without LEAVE) and the
// PeerConnection, and waits for every goroutine the attendee started. It
// is idempotent.
func (a *Attendee) Close() error {
	var err error
	a.closeOnce.Do(func() {
		a.mu.Lock()
		a.closed = true
		a.mu.Unlock()
		close(a.stop)
		if a.sig != nil {
			_ = a.sig.Close()
		}
		if a.pc != nil { // nil when Dial failed before JOIN_ACK
			if cerr := a.pc.Close(); cerr != nil && !errors.Is(cerr, webrtc.ErrConnectionClosed) {
				err = fmt.Errorf("attendee: close peer connection: %w", cerr)
			}
		}
		a.wg.Wait()
	})
	return err
}

// Err returns the first failure of a background goroutine (encoding or
// decoding audio), nil if none.
func (a *Attendee) Err() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.err
}

func (a *Attendee) fail(err error) {
	a.log.Debug("attendee: failure", "err", err)
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.err == nil {
		a.err = err
	}
}

// goroutine runs f on a goroutine Close waits for, unless closed.
func (a *Attendee) goroutine(f func()) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return false
	}
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		f()
	}()
	return true
}

// handleFrame keeps the signaling state; it runs on the reader goroutine.
func (a *Attendee) handleFrame(fr *protocol.SdkSignalFrame) {
	switch fr.GetType() {
	case protocol.SdkSignalFrame_INDEX, protocol.SdkSignalFrame_BITRATES,
		protocol.SdkSignalFrame_PAUSE, protocol.SdkSignalFrame_RESUME:
		a.observeVideo(fr)
	case protocol.SdkSignalFrame_AUDIO_STREAM_ID_INFO:
		a.sigMu.Lock()
		for _, s := range fr.GetAudioStreamIdInfo().GetStreams() {
			id := s.GetAudioStreamId()
			switch {
			case s.GetAttendeeId() != "":
				a.presence[id] = Participant{
					AttendeeID: s.GetAttendeeId(), ExternalUserID: s.GetExternalUserId(), StreamID: id, Muted: s.GetMuted(),
				}
			case s.Muted != nil && !s.GetDropped():
				if p, ok := a.presence[id]; ok {
					p.Muted = s.GetMuted()
					a.presence[id] = p
				}
			default: // left or dropped
				delete(a.presence, id)
			}
		}
		a.sigMu.Unlock()
	case protocol.SdkSignalFrame_AUDIO_METADATA:
		states := fr.GetAudioMetadata().GetAttendeeStates()
		a.sigMu.Lock()
		a.volumes = a.volumes[:0]
		for _, s := range states {
			a.volumes = append(a.volumes, Volume{
				AttendeeID: a.presence[s.GetAudioStreamId()].AttendeeID, StreamID: s.GetAudioStreamId(),
				Volume: s.GetVolume(), Muted: s.GetMuted(), SignalStrength: s.GetSignalStrength(),
			})
		}
		a.sigMu.Unlock()
	case protocol.SdkSignalFrame_DATA_MESSAGE:
		now := time.Now()
		a.sigMu.Lock()
		if fr.GetError() != nil {
			a.dataErrs++
		}
		for _, m := range fr.GetDataMessage().GetMessages() {
			if len(a.data) == maxDataMessages {
				a.data = append(a.data[:0], a.data[1:]...)
			}
			a.data = append(a.data, DataMessage{
				Topic: m.GetTopic(), Data: m.GetData(), Lifetime: time.Duration(m.GetLifetimeMs()) * time.Millisecond,
				SenderAttendeeID: m.GetSenderAttendeeId(), SenderExternalUserID: m.GetSenderExternalUserId(),
				IngestTimeNs: m.GetIngestTimeNs(), Received: now,
			})
		}
		a.sigMu.Unlock()
	}
}

// Presence returns the attendees present, in audio_stream_id order: those
// AUDIO_STREAM_ID_INFO announced and has not announced gone.
func (a *Attendee) Presence() []Participant {
	a.sigMu.Lock()
	defer a.sigMu.Unlock()
	out := make([]Participant, 0, len(a.presence))
	for _, p := range a.presence {
		out = append(out, p)
	}
	slices.SortFunc(out, func(x, y Participant) int { return cmp.Compare(x.StreamID, y.StreamID) })
	return out
}

// Volumes returns the entries of the last AUDIO_METADATA frame, in its
// order; see Signaling().Count for how many arrived.
func (a *Attendee) Volumes() []Volume {
	a.sigMu.Lock()
	defer a.sigMu.Unlock()
	return slices.Clone(a.volumes)
}

// DataMessages returns the data messages received (at most the last 1024),
// oldest first.
func (a *Attendee) DataMessages() []DataMessage {
	a.sigMu.Lock()
	defer a.sigMu.Unlock()
	return slices.Clone(a.data)
}

// DataErrors returns how many DATA_MESSAGE frames carried an error (a
// message the server refused).
func (a *Attendee) DataErrors() int {
	a.sigMu.Lock()
	defer a.sigMu.Unlock()
	return a.dataErrs
}
