package attendee

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/pion/ice/v4"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
	"google.golang.org/protobuf/proto"

	"github.com/confab-media/confab/signaling/protocol"
)

// fakeSFU is a signaling server whose SUBSCRIBE answers come from a pion
// PeerConnection receiving RID simulcast: enough of a media server to
// check what the attendee publishes, independently of package sfu.
type fakeSFU struct {
	t   *testing.T
	url string
	pc  *webrtc.PeerConnection

	mu     sync.Mutex
	subs   []*protocol.SdkSubscribeFrame
	layers map[string]*fakeLayer // by rid
}

// fakeLayer is what the fake received of one simulcast layer.
type fakeLayer struct {
	ssrc                  uint32
	packets, frames, keys int
	bytes                 int
	width, height         int
}

func newFakeSFU(t *testing.T) *fakeSFU {
	t.Helper()
	me := &webrtc.MediaEngine{}
	if err := me.RegisterCodec(webrtc.RTPCodecParameters{RTPCodecCapability: opusCodec, PayloadType: ptOpus}, webrtc.RTPCodecTypeAudio); err != nil {
		t.Fatal(err)
	}
	if err := me.RegisterCodec(webrtc.RTPCodecParameters{RTPCodecCapability: vp8Codec, PayloadType: ptVP8}, webrtc.RTPCodecTypeVideo); err != nil {
		t.Fatal(err)
	}
	if err := me.RegisterHeaderExtension(webrtc.RTPHeaderExtensionCapability{URI: sdp.AudioLevelURI}, webrtc.RTPCodecTypeAudio); err != nil {
		t.Fatal(err)
	}
	if err := webrtc.ConfigureSimulcastExtensionHeaders(me); err != nil {
		t.Fatal(err)
	}
	var se webrtc.SettingEngine
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetIncludeLoopbackCandidate(true)
	se.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
	pc, err := webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithSettingEngine(se)).NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeSFU{t: t, pc: pc, layers: map[string]*fakeLayer{}}
	var readers sync.WaitGroup
	pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		readers.Add(1)
		defer readers.Done()
		f.read(tr)
	})
	srv := httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(func() {
		srv.Close()
		_ = pc.Close()
		readers.Wait()
	})
	f.url = "ws" + strings.TrimPrefix(srv.URL, "http")
	return f
}

// read records every packet of one remote track (one layer, or audio).
func (f *fakeSFU) read(tr *webrtc.TrackRemote) {
	buf := make([]byte, 1500)
	var p rtp.Packet
	for {
		n, _, err := tr.Read(buf)
		if err != nil {
			return
		}
		if tr.Kind() != webrtc.RTPCodecTypeVideo || p.Unmarshal(buf[:n]) != nil {
			continue
		}
		vp8 := ParseVP8(p.Payload)
		f.mu.Lock()
		l := f.layers[tr.RID()]
		if l == nil {
			l = &fakeLayer{}
			f.layers[tr.RID()] = l
		}
		l.ssrc = p.SSRC
		l.packets++
		l.bytes += len(p.Payload)
		if p.Marker {
			l.frames++
		}
		if vp8.Key {
			l.keys++
			l.width, l.height = vp8.Width, vp8.Height
		}
		f.mu.Unlock()
	}
}

func (f *fakeSFU) layer(rid string) fakeLayer {
	f.mu.Lock()
	defer f.mu.Unlock()
	if l := f.layers[rid]; l != nil {
		return *l
	}
	return fakeLayer{}
}

func (f *fakeSFU) subscribes() []*protocol.SdkSubscribeFrame {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]*protocol.SdkSubscribeFrame(nil), f.subs...)
}

// serve speaks the signaling protocol: JOIN, SUBSCRIBE (answered by the
// PeerConnection, one allocation per video send stream) and PING.
func (f *fakeSFU) serve(w http.ResponseWriter, r *http.Request) {
	c, err := websocket.Accept(w, r, &websocket.AcceptOptions{Subprotocols: []string{Subprotocol}})
	if err != nil {
		return
	}
	defer c.CloseNow()
	ctx := r.Context()
	write := func(fr *protocol.SdkSignalFrame) {
		b, err := protocol.Encode(fr)
		if err == nil {
			_ = c.Write(ctx, websocket.MessageBinary, b)
		}
	}
	for {
		_, b, err := c.Read(ctx)
		if err != nil {
			return
		}
		in, err := protocol.Decode(b)
		if err != nil {
			f.t.Errorf("bad frame: %v", err)
			return
		}
		switch in.GetType() {
		case protocol.SdkSignalFrame_JOIN:
			ack := frame(protocol.SdkSignalFrame_JOIN_ACK)
			ack.Joinack = &protocol.SdkJoinAckFrame{}
			idx := frame(protocol.SdkSignalFrame_INDEX)
			idx.Index = &protocol.SdkIndexFrame{}
			write(ack)
			write(idx)
		case protocol.SdkSignalFrame_SUBSCRIBE:
			write(f.subscribe(ctx, in.GetSub()))
		case protocol.SdkSignalFrame_PING_PONG:
			p := frame(protocol.SdkSignalFrame_PING_PONG)
			p.PingPong = &protocol.SdkPingPongFrame{Type: protocol.SdkPingPongType_PONG.Enum(), PingId: proto.Uint32(in.GetPingPong().GetPingId())}
			write(p)
		}
	}
}

func (f *fakeSFU) subscribe(ctx context.Context, sub *protocol.SdkSubscribeFrame) *protocol.SdkSignalFrame {
	f.mu.Lock()
	f.subs = append(f.subs, sub)
	f.mu.Unlock()
	ack := frame(protocol.SdkSignalFrame_SUBSCRIBE_ACK)
	fail := func(err error) *protocol.SdkSignalFrame {
		f.t.Errorf("fake SFU: %v", err)
		ack.Error = &protocol.SdkErrorFrame{Status: proto.Uint32(500)}
		ack.Suback = &protocol.SdkSubscribeAckFrame{}
		return ack
	}
	if err := f.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: sub.GetSdpOffer()}); err != nil {
		return fail(err)
	}
	answer, err := f.pc.CreateAnswer(nil)
	if err != nil {
		return fail(err)
	}
	gathered := webrtc.GatheringCompletePromise(f.pc)
	if err := f.pc.SetLocalDescription(answer); err != nil {
		return fail(err)
	}
	select {
	case <-gathered:
	case <-ctx.Done():
		return fail(ctx.Err())
	}
	sa := f.pc.LocalDescription().SDP
	ack.Suback = &protocol.SdkSubscribeAckFrame{Duplex: sub.Duplex, SdpAnswer: &sa}
	for i, d := range sub.GetSendStreams()[1:] {
		ack.Suback.Allocations = append(ack.Suback.Allocations, &protocol.SdkStreamAllocation{
			TrackLabel: proto.String(d.GetTrackLabel()), StreamId: proto.Uint32(uint32(100 + i)), GroupId: proto.Uint32(50),
		})
	}
	return ack
}

// videoSection returns the k-th video m-section of an SDP.
func videoSection(sd string, k int) string {
	parts := strings.Split(sd, "m=")
	n := 0
	for _, p := range parts {
		if strings.HasPrefix(p, "video") {
			if n == k {
				return "m=" + p
			}
			n++
		}
	}
	return ""
}

// TestPublishSimulcast publishes 3-layer simulcast to a pion receiver: the
// SUBSCRIBE describes the layers after audio, the offer carries RID
// simulcast, every layer arrives with its own SSRC, size and bitrate, a
// PLI brings a keyframe of its layer only; Subscribe offers one recvonly
// line per stream; StopVideo turns the camera line inactive again.
func TestPublishSimulcast(t *testing.T) {
	f := newFakeSFU(t)
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	a, err := Dial(ctx, Config{
		SignalingURL: f.url, JoinToken: "tok", Loopback: true, History: -1,
		Video: VideoConfig{Layers: 3, KeyframeInterval: -1},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()

	subs := f.subscribes()
	if len(subs) != 2 {
		t.Fatalf("%d SUBSCRIBEs, want 2 (join, then video)", len(subs))
	}
	first, video := subs[0], subs[1]
	if len(first.GetSendStreams()) != 1 || !strings.Contains(videoSection(first.GetSdpOffer(), 0), "a=inactive") {
		t.Errorf("first SUBSCRIBE: send streams %v, camera:\n%s", first.GetSendStreams(), videoSection(first.GetSdpOffer(), 0))
	}
	ss := video.GetSendStreams()
	if len(ss) != 4 || ss[0].GetTrackLabel() != audioTrackLabel || ss[0].GetMediaType() != protocol.SdkStreamMediaType_AUDIO ||
		ss[0].GetStreamId() != 1 || ss[0].GetGroupId() != 1 {
		t.Fatalf("send streams %v", ss)
	}
	for i, kbps := range []uint32{150, 600, 1200} {
		if d := ss[1+i]; d.GetMediaType() != protocol.SdkStreamMediaType_VIDEO || d.GetMaxBitrateKbps() != kbps {
			t.Errorf("video send stream %d: %v", i, d)
		}
	}
	cam := videoSection(video.GetSdpOffer(), 0)
	for _, want := range []string{"a=sendrecv", "a=simulcast:send low;mid;hi", "a=rid:low send", "a=rid:mid send", "a=rid:hi send",
		sdp.SDESMidURI, sdp.SDESRTPStreamIDURI} {
		if !strings.Contains(cam, want) {
			t.Errorf("camera section lacks %q:\n%s", want, cam)
		}
	}
	if strings.Contains(cam, "a=ssrc") {
		t.Errorf("camera section lists SSRCs:\n%s", cam)
	}
	if got := a.AllocatedStreams(); len(got) != 3 || got[0] != 100 || got[2] != 102 {
		t.Errorf("allocations %v", a.Allocations())
	}

	deadline := time.Now().Add(10 * time.Second)
	sizes := map[string][2]int{"low": {320, 180}, "mid": {640, 360}, "hi": {1280, 720}}
	for rid, sz := range sizes {
		for l := f.layer(rid); l.frames < 15 || l.keys == 0; l = f.layer(rid) {
			if time.Now().After(deadline) {
				t.Fatalf("layer %s: %+v", rid, l)
			}
			time.Sleep(10 * time.Millisecond)
		}
		l := f.layer(rid)
		if l.width != sz[0] || l.height != sz[1] || l.keys != 1 {
			t.Errorf("layer %s: %d keyframes of %dx%d", rid, l.keys, l.width, l.height)
		}
	}
	low, mid, hi := f.layer("low"), f.layer("mid"), f.layer("hi")
	if low.ssrc == mid.ssrc || mid.ssrc == hi.ssrc || low.ssrc == hi.ssrc {
		t.Errorf("SSRCs %x %x %x", low.ssrc, mid.ssrc, hi.ssrc)
	}
	for rid, l := range map[string]fakeLayer{"low": low, "mid": mid, "hi": hi} {
		per, want := l.bytes/l.frames, map[string]int{"low": 1250, "mid": 5000, "hi": 10000}[rid]
		if per < want*9/10 || per > want*11/10+vp8DescriptorLen*9 {
			t.Errorf("layer %s: %d bytes a frame, want ≈%d", rid, per, want)
		}
	}

	if err := f.pc.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: hi.ssrc}}); err != nil {
		t.Fatal(err)
	}
	for l := f.layer("hi"); l.keys < 2; l = f.layer("hi") {
		if time.Now().After(deadline) {
			t.Fatalf("no keyframe after PLI: %+v", l)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if sent := a.VideoSent(); sent[2].PLIs != 1 || sent[0].PLIs != 0 || f.layer("low").keys != 1 {
		t.Errorf("after one PLI for hi: sent %+v, low keyframes %d", sent, f.layer("low").keys)
	}

	// Subscribe: one recvonly line per stream, then fewer lines.
	if _, err := a.Subscribe(ctx, 7, 8); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Subscribe(ctx, 9); err != nil {
		t.Fatal(err)
	}
	subs = f.subscribes()
	two, one := subs[len(subs)-2], subs[len(subs)-1]
	if ids := two.GetReceiveStreamIds(); len(ids) != 3 || ids[0] != 0 || ids[1] != 7 || ids[2] != 8 {
		t.Errorf("receive_stream_ids %v, want [0 7 8]", ids)
	}
	if ids := one.GetReceiveStreamIds(); len(ids) != 3 || ids[1] != 9 || ids[2] != 0 {
		t.Errorf("receive_stream_ids %v, want [0 9 0]", ids)
	}
	if s := videoSection(one.GetSdpOffer(), 2); !strings.Contains(s, "a=inactive") {
		t.Errorf("unused line:\n%s", s)
	}
	if s := videoSection(one.GetSdpOffer(), 1); !strings.Contains(s, "a=recvonly") {
		t.Errorf("subscribed line:\n%s", s)
	}
	if ss := one.GetSendStreams(); len(ss) != 4 || ss[1].GetStreamId() != 100 || ss[3].GetStreamId() != 102 || ss[1].GetGroupId() != 50 {
		t.Errorf("re-SUBSCRIBE send streams %v: want the allocated ids", ss)
	}
	if subs := a.Subscriptions(); len(subs) != 2 || subs[0].StreamID != 9 || subs[1].StreamID != 0 {
		t.Errorf("subscriptions %+v", subs)
	}

	if err := a.StopVideo(ctx); err != nil {
		t.Fatal(err)
	}
	stop := f.subscribes()[len(f.subscribes())-1]
	if len(stop.GetSendStreams()) != 1 || !strings.Contains(videoSection(stop.GetSdpOffer(), 0), "a=inactive") {
		t.Errorf("SUBSCRIBE after StopVideo: send streams %v, camera:\n%s", stop.GetSendStreams(), videoSection(stop.GetSdpOffer(), 0))
	}
	if a.VideoSent() != nil || len(a.Allocations()) != 0 {
		t.Errorf("after StopVideo: sent %v, allocations %v", a.VideoSent(), a.Allocations())
	}
	deadline = time.Now().Add(10 * time.Second)
	for last, since := f.layer("hi").packets, time.Now(); time.Since(since) < 300*time.Millisecond; {
		if time.Now().After(deadline) {
			t.Fatal("video still flows after StopVideo")
		}
		time.Sleep(10 * time.Millisecond)
		if n := f.layer("hi").packets; n != last {
			last, since = n, time.Now()
		}
	}
	if err := a.StartVideo(ctx, 1); err != nil {
		t.Fatal(err)
	}
	if err := a.Close(); err != nil {
		t.Error(err)
	}
}
