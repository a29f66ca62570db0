package attendee

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"net"
	"sync"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
	"github.com/pion/transport/v4/stdnet"
	"github.com/pion/webrtc/v4"
	"gopkg.in/hraban/opus.v2"

	"github.com/confab-media/confab/signaling/protocol"
)

// Payload types as Chrome offers them.
const (
	ptOpus = 111
	ptVP8  = 96
)

var opusCodec = webrtc.RTPCodecCapability{
	MimeType: webrtc.MimeTypeOpus, ClockRate: SampleRate, Channels: 2, SDPFmtpLine: "minptime=10;useinbandfec=1",
}

// toneAmplitude is the sine's peak, about -15 dBov RMS.
const toneAmplitude = 8000

// newPeerConnection builds the browser side: m-line 0 audio sendrecv
// (Opus with the RFC 6464 audio-level extension), m-line 1 the camera
// (Config.Video.Codec, VP8 or H.264, the only video codec offered, with
// the mid and rid extensions for RID simulcast), which offer makes
// inactive until StartVideo. With Config.Relay, ICE uses only relay
// candidates from the TURN servers JOIN_ACK named (turn, as the SDK does
// with its iceTransportPolicy "relay").
func (a *Attendee) newPeerConnection(turn *protocol.SdkTurnCredentials) error {
	pcCfg := webrtc.Configuration{BundlePolicy: webrtc.BundlePolicyMaxBundle}
	if a.cfg.Relay != "" {
		servers, err := relayServers(turn, a.cfg.Relay)
		if err != nil {
			return err
		}
		pcCfg.ICEServers = servers
		pcCfg.ICETransportPolicy = webrtc.ICETransportPolicyRelay
	}
	me := &webrtc.MediaEngine{}
	if err := me.RegisterCodec(webrtc.RTPCodecParameters{RTPCodecCapability: opusCodec, PayloadType: ptOpus}, webrtc.RTPCodecTypeAudio); err != nil {
		return fmt.Errorf("attendee: register opus: %w", err)
	}
	video, err := VideoCodec(a.cfg.Video.Codec)
	if err != nil {
		return err
	}
	if pt := a.cfg.Video.PayloadType; pt != 0 {
		if pt < 96 || pt > 127 || pt == ptOpus {
			return fmt.Errorf("attendee: video payload type %d: want a dynamic one (96-127) other than Opus's %d", pt, ptOpus)
		}
		video.PayloadType = webrtc.PayloadType(pt)
	}
	if err := me.RegisterCodec(video, webrtc.RTPCodecTypeVideo); err != nil {
		return fmt.Errorf("attendee: register %s: %w", video.MimeType, err)
	}
	if err := me.RegisterHeaderExtension(webrtc.RTPHeaderExtensionCapability{URI: sdp.AudioLevelURI}, webrtc.RTPCodecTypeAudio); err != nil {
		return fmt.Errorf("attendee: register audio level: %w", err)
	}
	if err := webrtc.ConfigureSimulcastExtensionHeaders(me); err != nil {
		return fmt.Errorf("attendee: register simulcast extensions: %w", err)
	}
	nw, err := stdnet.NewNet()
	if err != nil {
		return fmt.Errorf("attendee: network: %w", err)
	}
	var se webrtc.SettingEngine
	se.SetNet(filterNet{Net: nw, f: a.filter, impair: a.impair}) // see early.go and impair.go
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	if a.cfg.Loopback {
		se.SetIncludeLoopbackCandidate(true)
		se.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
	}
	api := webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithSettingEngine(se))
	a.api = api
	pc, err := api.NewPeerConnection(pcCfg)
	if err != nil {
		return fmt.Errorf("attendee: new peer connection: %w", err)
	}
	a.pc = pc
	fail := func(err error) error {
		_ = pc.Close()
		return err
	}
	a.mic, err = webrtc.NewTrackLocalStaticRTP(opusCodec, "mic", "mic-stream")
	if err != nil {
		return fail(fmt.Errorf("attendee: mic track: %w", err))
	}
	tr, err := pc.AddTransceiverFromTrack(a.mic, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendrecv})
	if err != nil {
		return fail(fmt.Errorf("attendee: audio transceiver: %w", err))
	}
	a.tx = tr.Sender()
	// pion adds only recvonly transceivers by kind; offer rewrites the
	// camera m-line to inactive as Chrome sends it before video starts.
	if a.camTr, err = pc.AddTransceiverFromKind(webrtc.RTPCodecTypeVideo,
		webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
		return fail(fmt.Errorf("attendee: video transceiver: %w", err))
	}
	var once sync.Once
	pc.OnICEConnectionStateChange(func(s webrtc.ICEConnectionState) {
		a.log.Debug("attendee: ICE state", "state", s.String())
		if s == webrtc.ICEConnectionStateConnected {
			once.Do(func() { close(a.connected) })
		}
	})
	pc.OnTrack(a.onTrack)
	return nil
}

// startSending starts the sender: 20 ms Opus frames of the tone (or
// silence) with the RFC 6464 level in the negotiated extension.
func (a *Attendee) startSending() error {
	var extID uint8
	for _, h := range a.tx.GetParameters().HeaderExtensions {
		if h.URI == sdp.AudioLevelURI {
			extID = uint8(h.ID)
		}
	}
	if extID == 0 {
		return errors.New("attendee: audio level extension not negotiated")
	}
	enc, err := opus.NewEncoder(SampleRate, 1, opus.AppVoIP)
	if err != nil {
		return fmt.Errorf("attendee: opus encoder: %w", err)
	}
	if err := enc.SetBitrate(32000); err != nil {
		return fmt.Errorf("attendee: opus bitrate: %w", err)
	}
	if err := enc.SetComplexity(5); err != nil {
		return fmt.Errorf("attendee: opus complexity: %w", err)
	}
	a.goroutine(func() { a.send(enc, extID) })
	return nil
}

func (a *Attendee) send(enc *opus.Encoder, extID uint8) {
	tick := time.NewTicker(frameDur)
	defer tick.Stop()
	pcm := make([]int16, FrameSamples)
	buf := make([]byte, 1500)
	lvl := make([]byte, 1)
	silentFrame := make([]byte, 1500) // the encoder's steady output for silence
	silentLen, silentRun := 0, 0
	pkt := &rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: ptOpus, SSRC: rand.Uint32(), Timestamp: rand.Uint32()}}
	step := 2 * math.Pi * a.cfg.ToneHz / SampleRate
	var phase float64
	start, sent := time.Now(), 0
	for {
		select {
		case <-a.stop:
			return
		case <-tick.C:
		}
		// Send every frame due by now, as a browser's audio clock does
		// even when this goroutine was late.
		for due := int(time.Since(start) / frameDur); sent < due; sent++ {
			silent := a.muted.Load() || a.cfg.ToneHz == 0
			burstStart := false
			for i := range pcm {
				g, start := a.cfg.Bursts.gain(sent, i)
				burstStart = burstStart || start
				if silent || g == 0 {
					pcm[i] = 0
				} else {
					pcm[i] = int16(g * toneAmplitude * math.Sin(phase))
				}
				phase += step
			}
			phase = math.Mod(phase, 2*math.Pi)
			level := audioLevel(pcm)
			var n int
			if level == 127 && silentLen > 0 {
				// Digital silence encodes to the same few bytes every
				// frame: reuse them, so a room of silent synthetic
				// attendees costs the harness next to nothing.
				n = copy(buf, silentFrame[:silentLen])
			} else {
				var err error
				if n, err = enc.Encode(pcm, buf); err != nil {
					a.fail(fmt.Errorf("attendee: encode: %w", err))
					return
				}
				if level == 127 {
					if silentRun++; silentRun >= 3 {
						silentLen = copy(silentFrame, buf[:n])
					}
				}
			}
			if level != 127 {
				silentRun = 0
			}
			lvl[0] = level // RFC 6464: V bit, then -dBov
			if level < 127 {
				lvl[0] |= 0x80
			}
			pkt.Extensions = pkt.Extensions[:0]
			pkt.Extension = false
			_ = pkt.SetExtension(extID, lvl)
			pkt.Payload = buf[:n]
			_ = a.mic.WriteRTP(pkt) // fails only once closed
			if burstStart && !silent {
				a.bursts.add(time.Now())
			}
			a.sent.Add(1)
			pkt.SequenceNumber++
			pkt.Timestamp += FrameSamples
		}
	}
}

// WriteAudio sends pkt on the attendee's audio track as it is, beside the
// paced sender: load tests of a server's receive path use it to send
// faster than one packet per 20 ms.
func (a *Attendee) WriteAudio(pkt *rtp.Packet) error { return a.mic.WriteRTP(pkt) }

// onTrack becomes the reader of a remote track (pion runs it on a
// goroutine of its own): video tracks go to readVideo; for the audio
// track it records every packet's arrival, sequence and decoded audio.
func (a *Attendee) onTrack(t *webrtc.TrackRemote, r *webrtc.RTPReceiver) {
	a.mu.Lock()
	if a.closed {
		a.mu.Unlock()
		return
	}
	a.wg.Add(1)
	a.mu.Unlock()
	defer a.wg.Done()
	if t.Kind() == webrtc.RTPCodecTypeVideo {
		a.readVideo(t, r)
		return
	}
	a.log.Debug("attendee: remote track", "stream", t.StreamID(), "track", t.ID())
	a.rxMu.Lock()
	a.rx.StreamID, a.rx.TrackID = t.StreamID(), t.ID()
	a.rxMu.Unlock()
	var dec *opus.Decoder
	if a.cfg.History > 0 {
		var err error
		if dec, err = opus.NewDecoder(SampleRate, 1); err != nil {
			a.fail(fmt.Errorf("attendee: opus decoder: %w", err))
			dec = nil
		}
	}
	buf := make([]byte, 1500)
	pcm := make([]int16, 5760) // 120 ms, the longest Opus packet
	var pkt rtp.Packet
	for {
		n, _, err := t.Read(buf)
		if err != nil {
			return
		}
		if err := pkt.Unmarshal(buf[:n]); err != nil {
			continue
		}
		now := time.Now()
		samples, derr := 0, error(nil)
		if dec != nil {
			samples, derr = dec.Decode(pkt.Payload, pcm)
		}
		a.rxMu.Lock()
		if a.rx.Packets > 0 && pkt.SequenceNumber != a.lastSeq+1 {
			a.rx.SeqGaps++
		}
		a.lastSeq = pkt.SequenceNumber
		if a.rx.Packets > 0 { // RFC 3550 §6.4.1 interarrival jitter, in 48 kHz units
			d := now.Sub(a.rx.LastArrival).Seconds()*SampleRate - float64(int32(pkt.Timestamp-a.lastTS))
			a.jitter += (math.Abs(d) - a.jitter) / 16
			a.rx.JitterMs = a.jitter / SampleRate * 1000
		}
		a.lastTS = pkt.Timestamp
		a.rx.Packets++
		a.rx.LastArrival = now
		if a.firstAudio.IsZero() {
			a.firstAudio = now
		}
		a.arrivals.add(now)
		if derr != nil {
			a.rx.DecodeErrors++
		} else {
			a.pcm.write(pcm[:samples])
		}
		a.rxMu.Unlock()
		if derr == nil {
			for _, d := range a.detectors {
				d.Frame(pcm[:samples], now)
			}
		}
		if derr != nil {
			a.fail(fmt.Errorf("attendee: decode: %w", derr))
		}
	}
}

// Stats returns the audio counters.
func (a *Attendee) Stats() AudioStats {
	a.rxMu.Lock()
	s := a.rx
	a.rxMu.Unlock()
	s.Sent = a.sent.Load()
	return s
}

// RecentPackets returns how many packets arrived in the last d (at most
// the last 500 packets are remembered: 10 s).
func (a *Attendee) RecentPackets(d time.Duration) int {
	since := time.Now().Add(-d)
	a.rxMu.Lock()
	defer a.rxMu.Unlock()
	return a.arrivals.countSince(since)
}

// Audio appends the last d of decoded received audio (48 kHz mono; less if
// less was received or kept, see Config.History) to dst.
func (a *Attendee) Audio(dst []int16, d time.Duration) []int16 {
	a.rxMu.Lock()
	defer a.rxMu.Unlock()
	return a.pcm.appendLast(dst, int(d.Seconds()*SampleRate))
}

// ToneDB is the level, in dB, of hz in the last d of audio received.
func (a *Attendee) ToneDB(d time.Duration, hz float64) float64 {
	p, _ := a.Power(d, hz)
	return DB(p[0])
}

// Power returns the Goertzel power (see Goertzel) of the last d of decoded
// received audio at each of hz, and how many samples that was.
func (a *Attendee) Power(d time.Duration, hz ...float64) (power []float64, samples int) {
	a.rxMu.Lock()
	defer a.rxMu.Unlock()
	n := min(int(d.Seconds()*SampleRate), a.pcm.len())
	start := a.pcm.next - n
	var x, y []int16 // the window, in order: x then y
	if start >= 0 {
		x = a.pcm.buf[start:a.pcm.next]
	} else {
		x, y = a.pcm.buf[len(a.pcm.buf)+start:], a.pcm.buf[:a.pcm.next]
	}
	power = make([]float64, len(hz))
	for i, f := range hz {
		power[i] = goertzel2(x, y, f)
	}
	return power, n
}
