package sfu

import (
	"testing"

	"github.com/pion/logging"
	"github.com/pion/transport/v4/stdnet"
	"github.com/pion/webrtc/v4"
)

// BenchmarkPeerAPI: what a join pays for its own API (MediaEngine,
// interceptor registry, settings: newAPI) and a PeerConnection on it,
// next to the PeerConnection alone on a shared API, as before each peer
// had its own. (The shared API here also skips the MediaEngine copy the
// old one made for every PeerConnection, so the difference is an upper
// bound.)
//
//	go test -run '^$' -bench PeerAPI -benchmem ./sfu
func BenchmarkPeerAPI(b *testing.B) {
	nw, err := stdnet.NewNet()
	if err != nil {
		b.Fatal(err)
	}
	logs := logging.NewDefaultLoggerFactory()
	logs.DefaultLogLevel = logging.LogLevelDisabled
	mux, out, err := listenMux(Config{ListenUDP: "127.0.0.1:0"}, nw, logs)
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = mux.Close(); _ = out.Close() }()
	newPC := func(api *webrtc.API) {
		pc, err := api.NewPeerConnection(webrtc.Configuration{})
		if err != nil {
			b.Fatal(err)
		}
		_ = pc.Close()
	}
	b.Run("shared API", func(b *testing.B) {
		api, err := newAPI(Config{}, nw, mux, logs)
		if err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			newPC(api)
		}
	})
	b.Run("own API", func(b *testing.B) {
		for b.Loop() {
			api, err := newAPI(Config{}, nw, mux, logs)
			if err != nil {
				b.Fatal(err)
			}
			newPC(api)
		}
	})
}
