package sfu

import (
	"math"
	"math/rand/v2"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
	"gopkg.in/hraban/opus.v2"
)

const (
	sampleRate   = 48000
	frameSamples = 960
)

// browser plays the Chime SDK's browser: a pion PeerConnection offering
// m-line 0 audio sendrecv (Opus with the audio-level extension) and m-line
// 1 an inactive camera; it sends a tone and records what it hears.
type browser struct {
	t     *testing.T
	pc    *webrtc.PeerConnection
	mic   *webrtc.TrackLocalStaticRTP
	freq  float64
	stop  chan struct{}
	sendW sync.WaitGroup

	connected chan struct{}

	mu       sync.Mutex // guards the fields below
	arrivals []time.Time
	pcm      []int16
	streamID string // msid stream of the received audio track
	trackID  string
	seqGaps  int // received sequence numbers that did not follow the previous one
	lastSeq  uint16
}

func newBrowser(t *testing.T, freq float64) *browser {
	t.Helper()
	me := &webrtc.MediaEngine{}
	must(t, me.RegisterCodec(webrtc.RTPCodecParameters{RTPCodecCapability: opusCodec, PayloadType: ptOpus}, webrtc.RTPCodecTypeAudio))
	must(t, me.RegisterCodec(webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{
		MimeType: webrtc.MimeTypeVP8, ClockRate: 90000,
	}, PayloadType: ptVP8}, webrtc.RTPCodecTypeVideo))
	must(t, me.RegisterHeaderExtension(webrtc.RTPHeaderExtensionCapability{URI: sdp.AudioLevelURI}, webrtc.RTPCodecTypeAudio))
	var se webrtc.SettingEngine
	se.SetIncludeLoopbackCandidate(true)
	se.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	api := webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithSettingEngine(se))
	pc, err := api.NewPeerConnection(webrtc.Configuration{BundlePolicy: webrtc.BundlePolicyMaxBundle})
	must(t, err)
	b := &browser{t: t, pc: pc, freq: freq, stop: make(chan struct{}), connected: make(chan struct{})}
	t.Cleanup(b.close)
	b.mic, err = webrtc.NewTrackLocalStaticRTP(opusCodec, "mic", "mic-stream")
	must(t, err)
	_, err = pc.AddTransceiverFromTrack(b.mic, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendrecv})
	must(t, err)
	// pion adds only recvonly transceivers by kind; offer() rewrites the
	// camera m-line to inactive as Chrome sends it before video starts.
	_, err = pc.AddTransceiverFromKind(webrtc.RTPCodecTypeVideo, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly})
	must(t, err)
	var once sync.Once
	pc.OnICEConnectionStateChange(func(s webrtc.ICEConnectionState) {
		if s == webrtc.ICEConnectionStateConnected {
			once.Do(func() { close(b.connected) })
		}
	})
	pc.OnTrack(b.receive)
	return b
}

func must(tb testing.TB, err error) {
	tb.Helper()
	if err != nil {
		tb.Fatal(err)
	}
}

// offer returns a full offer, candidates included.
func (b *browser) offer() string {
	b.t.Helper()
	o, err := b.pc.CreateOffer(nil)
	must(b.t, err)
	gathered := webrtc.GatheringCompletePromise(b.pc)
	must(b.t, b.pc.SetLocalDescription(o))
	<-gathered
	sd := b.pc.LocalDescription().SDP
	i := strings.Index(sd, "m=video")
	if i < 0 {
		b.t.Fatal("offer has no video m-line")
	}
	return sd[:i] + strings.Replace(sd[i:], "a=recvonly", "a=inactive", 1)
}

func (b *browser) answer(sdpAnswer string) {
	b.t.Helper()
	must(b.t, b.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: sdpAnswer}))
}

func (b *browser) waitConnected() {
	b.t.Helper()
	select {
	case <-b.connected:
	case <-time.After(wait):
		b.t.Fatal("ICE did not connect")
	}
}

// receive records the arrival and decoded audio of every packet of the
// remote audio track.
func (b *browser) receive(t *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
	if t.Kind() != webrtc.RTPCodecTypeAudio {
		return
	}
	b.mu.Lock()
	b.streamID, b.trackID = t.StreamID(), t.ID()
	b.mu.Unlock()
	dec, err := opus.NewDecoder(sampleRate, 1)
	if err != nil {
		b.t.Error(err)
		return
	}
	pcm := make([]int16, 5760)
	for {
		pkt, _, err := t.ReadRTP()
		if err != nil {
			return
		}
		n, err := dec.Decode(pkt.Payload, pcm)
		if err != nil {
			b.t.Errorf("decode: %v", err)
			return
		}
		b.mu.Lock()
		if len(b.arrivals) > 0 && pkt.SequenceNumber != b.lastSeq+1 {
			b.seqGaps++
		}
		b.lastSeq = pkt.SequenceNumber
		b.arrivals = append(b.arrivals, time.Now())
		b.pcm = append(b.pcm, pcm[:n]...)
		b.mu.Unlock()
	}
}

// startTone sends a sine at freq, 20 ms Opus packets with the RFC 6464
// level in the negotiated extension, until close.
func (b *browser) startTone() {
	b.t.Helper()
	var extID uint8
	for _, tr := range b.pc.GetTransceivers() {
		if tr.Sender() != nil && tr.Sender().Track() == b.mic {
			for _, h := range tr.Sender().GetParameters().HeaderExtensions {
				if h.URI == sdp.AudioLevelURI {
					extID = uint8(h.ID)
				}
			}
		}
	}
	if extID == 0 {
		b.t.Fatal("audio level extension not negotiated")
	}
	enc, err := opus.NewEncoder(sampleRate, 1, opus.AppVoIP)
	must(b.t, err)
	must(b.t, enc.SetBitrate(32000))
	must(b.t, enc.SetComplexity(5))
	b.sendW.Add(1)
	go func() {
		defer b.sendW.Done()
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		pcm := make([]int16, frameSamples)
		buf := make([]byte, 1500)
		pkt := &rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: ptOpus, SSRC: rand.Uint32(), Timestamp: rand.Uint32()}}
		var phase float64
		start, sent := time.Now(), 0
		for {
			select {
			case <-b.stop:
				return
			case <-tick.C:
			}
			// Send every frame due by now, as a browser's audio clock does
			// even when this goroutine was late.
			for due := int(time.Since(start) / (20 * time.Millisecond)); sent < due; sent++ {
				for i := range pcm {
					pcm[i] = int16(8000 * math.Sin(phase))
					phase += 2 * math.Pi * b.freq / sampleRate
				}
				phase = math.Mod(phase, 2*math.Pi)
				n, err := enc.Encode(pcm, buf)
				if err != nil {
					b.t.Errorf("encode: %v", err)
					return
				}
				lvl, _ := rtp.AudioLevelExtension{Level: 18, Voice: true}.Marshal()
				pkt.Extensions = pkt.Extensions[:0]
				pkt.Extension = false
				_ = pkt.SetExtension(extID, lvl)
				pkt.Payload = buf[:n]
				_ = b.mic.WriteRTP(pkt)
				pkt.SequenceNumber++
				pkt.Timestamp += frameSamples
			}
		}
	}()
}

// received returns the packets received in the last d and the last d of
// decoded audio.
func (b *browser) received(d time.Duration) (packets int, pcm []int16) {
	b.mu.Lock()
	defer b.mu.Unlock()
	since := time.Now().Add(-d)
	for i := len(b.arrivals) - 1; i >= 0 && b.arrivals[i].After(since); i-- {
		packets++
	}
	n := int(d.Seconds() * sampleRate)
	if n > len(b.pcm) {
		n = len(b.pcm)
	}
	return packets, append([]int16(nil), b.pcm[len(b.pcm)-n:]...)
}

func (b *browser) total() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.arrivals)
}

func (b *browser) close() {
	select {
	case <-b.stop:
		return
	default:
	}
	close(b.stop)
	b.sendW.Wait()
	_ = b.pc.Close()
}

// goertzel returns the power of x at freq (A²/2 for a sine of amplitude A).
func goertzel(x []int16, freq float64) float64 {
	w := 2 * math.Pi * freq / sampleRate
	c := 2 * math.Cos(w)
	var s1, s2 float64
	for _, v := range x {
		s0 := float64(v) + c*s1 - s2
		s2, s1 = s1, s0
	}
	p := s1*s1 + s2*s2 - c*s1*s2
	n := float64(len(x))
	return 2 * p / (n * n)
}

func db(p float64) float64 { return 10 * math.Log10(p+1e-12) }
