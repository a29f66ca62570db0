package attendee

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/coder/websocket"
	"google.golang.org/protobuf/proto"

	"github.com/confab-media/confab/signaling/protocol"
)

// Subprotocol is the WebSocket subprotocol the Chime SDK offers, followed
// by the join token, on the signaling WebSocket.
const Subprotocol = "_aws_wt_session"

// PingInterval is how often a [Signaling] sends PING_PONG PING, as the SDK
// does; the server drops a client that sends nothing for longer.
const PingInterval = 10 * time.Second

// maxQueued bounds the frames a Signaling keeps for [Signaling.Next]; the
// oldest go first.
const maxQueued = 1024

// ErrClosed is returned for operations on a closed Signaling or Attendee.
var ErrClosed = errors.New("attendee: closed")

// Signaling is one signaling WebSocket, the protocol layer under an
// [Attendee], usable on its own to speak raw frames. It runs one reader
// goroutine, which keeps the received frames for [Signaling.Next], and one
// pinger; [Signaling.Close] waits for both. Its methods are safe for
// concurrent use.
type Signaling struct {
	c       *websocket.Conn
	log     *slog.Logger
	onFrame func(*protocol.SdkSignalFrame) // called on the reader goroutine
	done    chan struct{}                  // closed when the reader returns
	stop    chan struct{}                  // closed by Close, stops the pinger
	wg      sync.WaitGroup

	closeOnce sync.Once

	mu      sync.Mutex // guards everything below
	queue   []*protocol.SdkSignalFrame
	counts  map[protocol.SdkSignalFrame_Type]uint64 // frames received, by type
	arrived chan struct{}                           // closed and replaced on every frame
	readErr error                                   // why the reader stopped
	pingID  uint32
	pingAt  time.Time
	rtt     time.Duration
}

// DialSignaling opens the signaling WebSocket at url (ws:// or wss://, e.g.
// MediaPlacement.SignalingUrl) with the subprotocols "_aws_wt_session,
// <joinToken>". ctx bounds the handshake only.
func DialSignaling(ctx context.Context, url, joinToken string) (*Signaling, error) {
	return dialSignaling(ctx, url, joinToken, nil, nil)
}

func dialSignaling(ctx context.Context, url, joinToken string, log *slog.Logger, onFrame func(*protocol.SdkSignalFrame)) (*Signaling, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	c, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{Subprotocols: []string{Subprotocol, joinToken}})
	if err != nil {
		return nil, fmt.Errorf("attendee: dial signaling: %w", err)
	}
	c.SetReadLimit(protocol.MaxFrameSize)
	s := &Signaling{
		c: c, log: log, onFrame: onFrame,
		done: make(chan struct{}), stop: make(chan struct{}), arrived: make(chan struct{}),
		counts: map[protocol.SdkSignalFrame_Type]uint64{},
	}
	s.wg.Add(2)
	go s.readLoop()
	go s.pingLoop()
	return s, nil
}

func (s *Signaling) readLoop() {
	defer s.wg.Done()
	defer close(s.done)
	for {
		_, b, err := s.c.Read(context.Background())
		if err != nil {
			s.mu.Lock()
			s.readErr = err
			close(s.arrived) // wake waiters; they see done
			s.arrived = make(chan struct{})
			s.mu.Unlock()
			return
		}
		fr, err := protocol.Decode(b)
		if err != nil {
			s.log.Debug("attendee: undecodable frame", "err", err)
			continue
		}
		if pp := fr.GetPingPong(); pp != nil && pp.GetType() == protocol.SdkPingPongType_PONG {
			s.mu.Lock()
			if pp.GetPingId() == s.pingID && !s.pingAt.IsZero() {
				s.rtt = time.Since(s.pingAt)
			}
			s.mu.Unlock()
		}
		if s.onFrame != nil {
			s.onFrame(fr)
		}
		s.mu.Lock()
		s.counts[fr.GetType()]++
		if len(s.queue) == maxQueued {
			clear(s.queue[:1])
			s.queue = append(s.queue[:0], s.queue[1:]...)
		}
		s.queue = append(s.queue, fr)
		close(s.arrived)
		s.arrived = make(chan struct{})
		s.mu.Unlock()
	}
}

// pingLoop sends PING every PingInterval, as the SDK does.
func (s *Signaling) pingLoop() {
	defer s.wg.Done()
	tick := time.NewTicker(PingInterval)
	defer tick.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-s.done:
			return
		case <-tick.C:
		}
		fr := protocol.NewFrame(protocol.SdkSignalFrame_PING_PONG, time.Now())
		s.mu.Lock()
		s.pingID++
		s.pingAt = time.Now()
		fr.PingPong = &protocol.SdkPingPongFrame{Type: protocol.SdkPingPongType_PING.Enum(), PingId: proto.Uint32(s.pingID)}
		s.mu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), PingInterval)
		err := s.Send(ctx, fr)
		cancel()
		if err != nil {
			s.log.Debug("attendee: ping", "err", err)
		}
	}
}

// Send writes one frame.
func (s *Signaling) Send(ctx context.Context, fr *protocol.SdkSignalFrame) error {
	b, err := protocol.Encode(fr)
	if err != nil {
		return fmt.Errorf("attendee: %w", err)
	}
	if err := s.c.Write(ctx, websocket.MessageBinary, b); err != nil {
		return fmt.Errorf("attendee: send %v: %w", fr.GetType(), err)
	}
	return nil
}

// Next returns the first received, not yet consumed frame of type typ,
// consuming it and every frame received before it. It waits for one until
// ctx ends or the socket closes. At most the last 1024 unconsumed frames
// are kept.
func (s *Signaling) Next(ctx context.Context, typ protocol.SdkSignalFrame_Type) (*protocol.SdkSignalFrame, error) {
	for {
		s.mu.Lock()
		for i, fr := range s.queue {
			if fr.GetType() == typ {
				clear(s.queue[:i+1])
				s.queue = append(s.queue[:0], s.queue[i+1:]...)
				s.mu.Unlock()
				return fr, nil
			}
		}
		arrived, readErr := s.arrived, s.readErr
		s.mu.Unlock()
		if readErr != nil {
			return nil, fmt.Errorf("attendee: no %v frame: socket closed: %w", typ, readErr)
		}
		select {
		case <-arrived:
		case <-ctx.Done():
			return nil, fmt.Errorf("attendee: no %v frame: %w", typ, ctx.Err())
		}
	}
}

// Count returns how many frames of type typ were received so far.
func (s *Signaling) Count(typ protocol.SdkSignalFrame_Type) uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.counts[typ]
}

// RTT returns the round trip of the last answered PING, 0 before the first.
func (s *Signaling) RTT() time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rtt
}

// Done is closed when the socket is closed, by either side.
func (s *Signaling) Done() <-chan struct{} { return s.done }

// Err returns why the socket stopped reading (nil while it reads); see
// websocket.CloseStatus for the server's close code.
func (s *Signaling) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.readErr
}

// Join sends JOIN (protocol version 2, HAS_STREAM_UPDATE, as the SDK) and
// waits for JOIN_ACK and INDEX. It returns the JOIN_ACK.
func (s *Signaling) Join(ctx context.Context) (*protocol.SdkJoinAckFrame, error) {
	fr := protocol.NewFrame(protocol.SdkSignalFrame_JOIN, time.Now())
	fr.Join = &protocol.SdkJoinFrame{
		ProtocolVersion: proto.Uint32(2),
		Flags:           proto.Uint32(uint32(protocol.SdkJoinFlags_HAS_STREAM_UPDATE)),
	}
	if err := s.Send(ctx, fr); err != nil {
		return nil, err
	}
	ack, err := s.Next(ctx, protocol.SdkSignalFrame_JOIN_ACK)
	if err != nil {
		return nil, err
	}
	if e := ack.GetError(); e != nil {
		return nil, fmt.Errorf("attendee: JOIN_ACK error %d: %s", e.GetStatus(), e.GetDescription())
	}
	if _, err := s.Next(ctx, protocol.SdkSignalFrame_INDEX); err != nil {
		return nil, err
	}
	return ack.GetJoinack(), nil
}

// Close closes the socket without a LEAVE and waits for the reader and
// the pinger. It is idempotent and always returns nil.
func (s *Signaling) Close() error {
	s.closeOnce.Do(func() {
		close(s.stop)
		_ = s.c.CloseNow() // fails only if already closed
		s.wg.Wait()
	})
	return nil
}
