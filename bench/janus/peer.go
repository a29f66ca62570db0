package janus

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
	"gopkg.in/hraban/opus.v2"

	"github.com/confab-media/confab/bench/attendee"
)

// PeerConfig describes one synthetic AudioBridge participant.
type PeerConfig struct {
	// URL is Janus's HTTP API root, e.g. http://127.0.0.1:8088/janus.
	URL string
	// Room is the AudioBridge room to join; Display names the peer.
	Room    uint64
	Display string
	// ToneHz, Bursts and Listen are as attendee.Config's.
	ToneHz float64
	Bursts attendee.Bursts
	Listen []float64
	// LocalIP, if set, restricts ICE to that local address (the peers'
	// side of the path to Janus, e.g. a veth into Janus's namespace: Janus
	// gathers no loopback candidates).
	LocalIP string
}

// Opus at 48 kHz mono, 20 ms frames, as the attendee sends.
const (
	sampleRate    = attendee.SampleRate
	frameSamples  = attendee.FrameSamples
	frameDur      = 20 * time.Millisecond
	toneAmplitude = 8000
)

// Stats describes a peer's audio.
type Stats struct {
	Opened, FirstAudio, LastArrival time.Time // session opened; first and last mixed packet
	Sent, Packets, SeqGaps          uint64
	JitterMs                        float64
}

// Peer is one participant of an AudioBridge room.
type Peer struct {
	cfg  Config
	sess *Session
	pc   *webrtc.PeerConnection
	mic  *webrtc.TrackLocalStaticRTP

	tones *attendee.ToneLog

	mu     sync.Mutex // guards stats and closed
	stats  Stats
	closed bool

	stop      chan struct{}
	wg        sync.WaitGroup
	closeOnce sync.Once
}

// Config is PeerConfig (the name Join takes).
type Config = PeerConfig

// CreateRoom creates AudioBridge room id (48 kHz, no recording) through a
// session of its own, and returns a function destroying it.
func CreateRoom(ctx context.Context, url string, id uint64) (destroy func(), err error) {
	s, err := Open(ctx, url, "janus.plugin.audiobridge")
	if err != nil {
		return nil, err
	}
	if err := s.Request(ctx, map[string]any{"request": "create", "room": id, "sampling_rate": sampleRate,
		"audiolevel_event": false, "record": false}, nil); err != nil {
		_ = s.Close()
		return nil, err
	}
	return func() {
		dctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = s.Request(dctx, map[string]any{"request": "destroy", "room": id}, nil)
		_ = s.Close()
	}, nil
}

// Join joins cfg.Room: a session, a PeerConnection offering Opus sendrecv,
// "join" with the offer, the answer applied, ICE connected; then the peer
// speaks and listens. ctx bounds the set-up.
func Join(ctx context.Context, cfg Config) (*Peer, error) {
	p := &Peer{cfg: cfg, stop: make(chan struct{}), tones: attendee.NewToneLog(cfg.Listen, sampleRate)}
	p.stats.Opened = time.Now()
	var err error
	if p.sess, err = Open(ctx, cfg.URL, "janus.plugin.audiobridge"); err != nil {
		return nil, err
	}
	if err := p.connect(ctx); err != nil {
		_ = p.Close()
		return nil, err
	}
	p.wg.Go(p.speak)
	return p, nil
}

func (p *Peer) connect(ctx context.Context) error {
	api, err := newAPI(p.cfg.LocalIP, "")
	if err != nil {
		return err
	}
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return err
	}
	p.pc = pc
	if p.mic, err = webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: sampleRate, Channels: 2},
		"mic", "mic-stream"); err != nil {
		return err
	}
	if _, err := pc.AddTransceiverFromTrack(p.mic, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendrecv}); err != nil {
		return err
	}
	connected := onConnected(pc)
	pc.OnTrack(p.onTrack)
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		return err
	}
	if err := setLocal(ctx, pc, offer); err != nil {
		return err
	}
	answer, err := p.sess.Negotiate(ctx, map[string]any{"request": "join", "room": p.cfg.Room, "display": p.cfg.Display, "muted": false},
		JSEP{Type: "offer", SDP: pc.LocalDescription().SDP})
	if err != nil {
		return fmt.Errorf("janus: join room %d: %w", p.cfg.Room, err)
	}
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: answer.SDP}); err != nil {
		return fmt.Errorf("janus: answer: %w", err)
	}
	return waitConnected(ctx, connected)
}

// speak sends 20 ms Opus frames of the tone (in bursts) or silence.
func (p *Peer) speak() {
	enc, err := opus.NewEncoder(sampleRate, 1, opus.AppVoIP)
	if err != nil {
		return
	}
	_ = enc.SetBitrate(32000)
	_ = enc.SetComplexity(5)
	tick := time.NewTicker(frameDur)
	defer tick.Stop()
	pcm := make([]int16, frameSamples)
	buf := make([]byte, 1500)
	pkt := &rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 111, SSRC: rand.Uint32(), Timestamp: rand.Uint32()}}
	step := 2 * math.Pi * p.cfg.ToneHz / sampleRate
	var phase float64
	start, sent := time.Now(), 0
	for {
		select {
		case <-p.stop:
			return
		case <-tick.C:
		}
		for due := int(time.Since(start) / frameDur); sent < due; sent++ {
			burstStart := false
			for i := range pcm {
				g, first := p.cfg.Bursts.Gain(sent, i, sampleRate)
				burstStart = burstStart || first
				pcm[i] = 0
				if p.cfg.ToneHz > 0 {
					pcm[i] = int16(g * toneAmplitude * math.Sin(phase))
				}
				phase += step
			}
			phase = math.Mod(phase, 2*math.Pi)
			n, err := enc.Encode(pcm, buf)
			if err != nil {
				return
			}
			pkt.Payload = buf[:n]
			_ = p.mic.WriteRTP(pkt)
			if burstStart && p.cfg.ToneHz > 0 && p.cfg.Bursts.Period > 0 {
				p.tones.BurstStarted(time.Now())
			}
			p.mu.Lock()
			p.stats.Sent++
			p.mu.Unlock()
			pkt.SequenceNumber++
			pkt.Timestamp += frameSamples
		}
	}
}

// onTrack reads the room's mix: counts, RFC 3550 jitter, decoding and
// onset detection.
func (p *Peer) onTrack(t *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
	p.mu.Lock() // pion runs this on a goroutine of its own: Close waits for it
	if p.closed {
		p.mu.Unlock()
		return
	}
	p.wg.Add(1)
	p.mu.Unlock()
	defer p.wg.Done()
	dec, err := opus.NewDecoder(sampleRate, 1)
	if err != nil {
		return
	}
	buf := make([]byte, 1500)
	pcm := make([]int16, frameSamples*6)
	var pkt rtp.Packet
	var lastSeq uint16
	var lastTS uint32
	var jitter float64
	for {
		n, _, err := t.Read(buf)
		if err != nil {
			return
		}
		if pkt.Unmarshal(buf[:n]) != nil {
			continue
		}
		now := time.Now()
		samples, derr := 0, error(nil)
		if p.tones.Listening() { // the others only count packets
			samples, derr = dec.Decode(pkt.Payload, pcm)
		}
		p.mu.Lock()
		st := &p.stats
		if st.Packets > 0 {
			if pkt.SequenceNumber != lastSeq+1 {
				st.SeqGaps++
			}
			d := now.Sub(st.LastArrival).Seconds()*sampleRate - float64(int32(pkt.Timestamp-lastTS))
			jitter += (math.Abs(d) - jitter) / 16
			st.JitterMs = jitter / sampleRate * 1000
		} else {
			st.FirstAudio = now
		}
		lastSeq, lastTS = pkt.SequenceNumber, pkt.Timestamp
		st.Packets++
		st.LastArrival = now
		p.mu.Unlock()
		if derr == nil && samples > 0 {
			p.tones.Frame(pcm[:samples], now)
		}
	}
}

// Stats returns the peer's audio counters.
func (p *Peer) Stats() Stats {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stats
}

// Bursts returns when each tone burst's first frame was sent.
func (p *Peer) Bursts() []time.Time { return p.tones.Bursts() }

// Onsets returns when the mix started a tone at hz (one of Listen).
func (p *Peer) Onsets(hz float64) []time.Time { return p.tones.Onsets(hz) }

// Close leaves: it closes the PeerConnection and the session and waits
// for the peer's goroutines. It is idempotent.
func (p *Peer) Close() error {
	var err error
	p.closeOnce.Do(func() {
		p.mu.Lock()
		p.closed = true
		p.mu.Unlock()
		close(p.stop)
		err = hangUp(p.pc, &p.wg, p.sess)
	})
	return err
}
