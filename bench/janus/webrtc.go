package janus

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"sync"

	"github.com/pion/ice/v4"
	"github.com/pion/logging"
	"github.com/pion/webrtc/v4"

	"github.com/confab-media/confab/bench/attendee"
)

// newAPI returns the pion API of a peer of Janus: Opus (as the attendee
// sends it) and the video codec videoCodec (VP8 if "", else as
// attendee.VideoCodec names it) with the mid and rid header extensions
// (RID simulcast), IPv4 UDP, no mDNS; with localIP, ICE gathers on that
// address only (the peers' side of the path to Janus, e.g. a veth into
// Janus's namespace: Janus gathers no loopback candidates).
func newAPI(localIP, videoCodec string) (*webrtc.API, error) {
	me := &webrtc.MediaEngine{}
	if err := me.RegisterCodec(webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{
		MimeType: webrtc.MimeTypeOpus, ClockRate: sampleRate, Channels: 2, SDPFmtpLine: "minptime=10;useinbandfec=1"},
		PayloadType: 111}, webrtc.RTPCodecTypeAudio); err != nil {
		return nil, err
	}
	video, err := attendee.VideoCodec(videoCodec)
	if err != nil {
		return nil, err
	}
	video.RTCPFeedback = []webrtc.RTCPFeedback{{Type: "ccm", Parameter: "fir"}, {Type: "nack"}, {Type: "nack", Parameter: "pli"}}
	if err := me.RegisterCodec(video, webrtc.RTPCodecTypeVideo); err != nil {
		return nil, err
	}
	if err := webrtc.ConfigureSimulcastExtensionHeaders(me); err != nil {
		return nil, err
	}
	var se webrtc.SettingEngine
	// pion's TWCC feedback writer logs an error for each PeerConnection
	// closed while it had feedback due: noise at every run's end.
	se.LoggerFactory = &logging.DefaultLoggerFactory{Writer: os.Stderr, DefaultLogLevel: logging.LogLevelError,
		ScopeLevels: map[string]logging.LogLevel{"twcc_sender_interceptor": logging.LogLevelDisabled}}
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	if localIP != "" {
		only := net.ParseIP(localIP)
		se.SetIncludeLoopbackCandidate(only.IsLoopback())
		se.SetIPFilter(func(ip net.IP) bool { return ip.Equal(only) })
	}
	return webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithSettingEngine(se)), nil
}

// onConnected returns a channel closed once pc's ICE connects.
func onConnected(pc *webrtc.PeerConnection) <-chan struct{} {
	connected := make(chan struct{})
	var once sync.Once
	pc.OnICEConnectionStateChange(func(s webrtc.ICEConnectionState) {
		if s == webrtc.ICEConnectionStateConnected {
			once.Do(func() { close(connected) })
		}
	})
	return connected
}

// setLocal applies desc and waits for ICE gathering: Janus gets every
// candidate in the SDP (no trickle).
func setLocal(ctx context.Context, pc *webrtc.PeerConnection, desc webrtc.SessionDescription) error {
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(desc); err != nil {
		return err
	}
	select {
	case <-gathered:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// hangUp ends a peer of Janus: it closes pc (either may be nil), waits
// for the peer's goroutines (wg, if any: its track readers end with pc)
// and closes the session.
func hangUp(pc *webrtc.PeerConnection, wg *sync.WaitGroup, sess *Session) error {
	var err error
	if pc != nil {
		if cerr := pc.Close(); cerr != nil && !errors.Is(cerr, webrtc.ErrConnectionClosed) {
			err = cerr
		}
	}
	if wg != nil {
		wg.Wait()
	}
	if sess != nil {
		err = errors.Join(err, sess.Close())
	}
	return err
}

// waitConnected waits for connected (from onConnected) or ctx.
func waitConnected(ctx context.Context, connected <-chan struct{}) error {
	select {
	case <-connected:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("janus: ICE did not connect: %w", ctx.Err())
	}
}
