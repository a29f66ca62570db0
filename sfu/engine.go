package sfu

import (
	"fmt"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/logging"
	"github.com/pion/sdp/v3"
	"github.com/pion/transport/v4"
	"github.com/pion/webrtc/v4"
)

// Payload types and codec parameters offered by Chrome and expected by the
// Chime SDK.
const (
	ptOpus = 111
	ptVP8  = 96
	ptH264 = 102

	opusFmtp = "minptime=10;useinbandfec=1"

	// https://webrtc.googlesource.com/src/+/refs/heads/main/docs/native-code/rtp-hdrext/video-layers-allocation00
	videoLayersAllocationURI = "http://www.webrtc.org/experiments/rtp-hdrext/video-layers-allocation00"
	h264Fmtp                 = "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f"
)

// opusCodec is the capability of the mixed audio track.
var opusCodec = webrtc.RTPCodecCapability{
	MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2, SDPFmtpLine: opusFmtp,
}

// newMediaEngine registers Opus with the RFC 6464 audio-level extension
// for audio, and VP8 and H.264 for video so video m-lines get a valid
// answer.
func newMediaEngine() (*webrtc.MediaEngine, error) {
	me := &webrtc.MediaEngine{}
	videoFB := []webrtc.RTCPFeedback{{Type: "goog-remb"}, {Type: "ccm", Parameter: "fir"}, {Type: "nack"}, {Type: "nack", Parameter: "pli"}}
	codecs := []struct {
		p webrtc.RTPCodecParameters
		k webrtc.RTPCodecType
	}{
		{webrtc.RTPCodecParameters{RTPCodecCapability: opusCodec, PayloadType: ptOpus}, webrtc.RTPCodecTypeAudio},
		{webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{
			MimeType: webrtc.MimeTypeVP8, ClockRate: 90000, RTCPFeedback: videoFB,
		}, PayloadType: ptVP8}, webrtc.RTPCodecTypeVideo},
		{webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{
			MimeType: webrtc.MimeTypeH264, ClockRate: 90000, SDPFmtpLine: h264Fmtp, RTCPFeedback: videoFB,
		}, PayloadType: ptH264}, webrtc.RTPCodecTypeVideo},
	}
	for _, c := range codecs {
		if err := me.RegisterCodec(c.p, c.k); err != nil {
			return nil, fmt.Errorf("sfu: register %s: %w", c.p.MimeType, err)
		}
	}
	// https://www.rfc-editor.org/rfc/rfc6464
	if err := me.RegisterHeaderExtension(webrtc.RTPHeaderExtensionCapability{URI: sdp.AudioLevelURI},
		webrtc.RTPCodecTypeAudio); err != nil {
		return nil, fmt.Errorf("sfu: register audio level extension: %w", err)
	}
	return me, nil
}

// newAPI builds one peer's API: ICE-lite on the shared UDP mux, answering
// DTLS as server (a=setup:passive), no mDNS, RTCP reports. Each peer has
// its own, whose MediaEngine its PeerConnection negotiates in place
// (DisableMediaEngineCopy): the senders the SFU adds for forwarded video
// (api.NewRTPSender, peer_video.go) bind on the API's MediaEngine, so
// they must see the payload types this subscriber negotiated — Firefox's
// VP8 is 120 and Safari's differ too — not the ones registered here.
func newAPI(cfg Config, nw transport.Net, mux ice.UDPMux, logs logging.LoggerFactory) (*webrtc.API, error) {
	me, err := newMediaEngine()
	if err != nil {
		return nil, err
	}
	// The mid, rid and repaired-rid extensions let pion demultiplex RID
	// simulcast (RFC 8852, RFC 8853), so the browser sends every layer.
	if err := webrtc.ConfigureSimulcastExtensionHeaders(me); err != nil {
		return nil, err
	}
	// With the video-layers-allocation extension negotiated, the SDK turns
	// its own simulcast layers on and off without renegotiating; the SFU
	// learns which layers flow from the packets themselves.
	if err := me.RegisterHeaderExtension(webrtc.RTPHeaderExtensionCapability{URI: videoLayersAllocationURI},
		webrtc.RTPCodecTypeVideo); err != nil {
		return nil, err
	}
	ir := &interceptor.Registry{}
	if err := webrtc.ConfigureRTCPReports(ir); err != nil {
		return nil, err
	}
	// NACK: ask publishers to resend what was lost on their uplink, and
	// answer subscribers' NACKs from a buffer of what was sent to them
	// (RFC 4585 §6.2.1).
	if err := webrtc.ConfigureNack(me, ir); err != nil {
		return nil, err
	}
	// Transport-wide congestion control feedback for what publishers send
	// (draft-holmer-rmcat-transport-wide-cc-extensions), so their
	// bandwidth estimate, and the layers they enable, can grow. Forwarded
	// video carries no transport-wide sequence numbers, so subscribers
	// report their downlink with REMB, which fitLayers uses.
	if err := webrtc.ConfigureTWCCSender(me, ir); err != nil {
		return nil, err
	}
	se := webrtc.SettingEngine{LoggerFactory: logs} // pion's logs into slog (internal/pionlog)
	se.SetLite(true)
	se.SetICEUDPMux(mux)
	se.SetNet(nw)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetIncludeLoopbackCandidate(true) // the mux's address decides
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.DisableMediaEngineCopy(true) // one API, hence one MediaEngine, per PeerConnection
	if err := se.SetAnsweringDTLSRole(webrtc.DTLSRoleServer); err != nil {
		return nil, err
	}
	if len(cfg.PublicIPs) > 0 {
		if err := se.SetICEAddressRewriteRules(webrtc.ICEAddressRewriteRule{
			External: cfg.PublicIPs, AsCandidateType: webrtc.ICECandidateTypeHost,
		}); err != nil {
			return nil, err
		}
	}
	return webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithInterceptorRegistry(ir),
		webrtc.WithSettingEngine(se)), nil
}

// listenMux opens the shared ICE UDP socket.
func listenMux(cfg Config, nw transport.Net, logs logging.LoggerFactory) (ice.UDPMux, *batchConn, error) {
	addr, err := nw.ResolveUDPAddr("udp4", cfg.ListenUDP)
	if err != nil {
		return nil, nil, fmt.Errorf("sfu: resolve %q: %w", cfg.ListenUDP, err)
	}
	conn, err := nw.ListenUDP("udp4", addr)
	if err != nil {
		return nil, nil, fmt.Errorf("sfu: listen %q: %w", cfg.ListenUDP, err)
	}
	out := newBatchConn(conn)
	return ice.NewUDPMuxDefault(ice.UDPMuxParams{UDPConn: out, Net: nw, Logger: logs.NewLogger("ice-mux")}), out, nil
}
