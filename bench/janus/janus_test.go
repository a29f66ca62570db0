package janus_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/confab-media/confab/bench/attendee"
	"github.com/confab-media/confab/bench/janus"
	"github.com/confab-media/confab/bench/janus/janustest"
)

// TestAudioBridge: three peers join an AudioBridge room of a real Janus
// (Debian's janus package, started here in a network namespace): each hears the
// other two talkers' tone bursts in the mix, and not its own.
func TestAudioBridge(t *testing.T) {
	jn := janustest.StartForTest(t)
	url := jn.URL
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	destroy, err := janus.CreateRoom(ctx, url, 4242)
	if err != nil {
		t.Fatal(err)
	}
	defer destroy()
	hz := []float64{500, 700, 900}
	var peers []*janus.Peer
	for i, f := range hz {
		listen := append([]float64(nil), hz...) // its own too: it must not hear it
		p, err := janus.Join(ctx, janus.Config{URL: url, Room: 4242, Display: fmt.Sprintf("p%d", i), ToneHz: f, Listen: listen, LocalIP: jn.PeerIP,
			Bursts: attendee.Bursts{Period: time.Second, Length: 200 * time.Millisecond, Offset: time.Duration(i) * time.Second / 3}})
		if err != nil {
			t.Fatalf("join %d: %v", i, err)
		}
		defer p.Close()
		peers = append(peers, p)
	}
	time.Sleep(4 * time.Second)
	for i, p := range peers {
		st := p.Stats()
		if st.Packets < 100 || st.FirstAudio.IsZero() {
			t.Fatalf("peer %d received %d packets", i, st.Packets)
		}
		for j, q := range peers {
			lags := attendee.MouthToEar(q.Bursts(), p.Onsets(hz[j]), 400*time.Millisecond)
			if i == j && len(lags) > 0 {
				t.Errorf("peer %d hears itself (%d onsets)", i, len(lags))
			}
			if i != j && len(lags) < 2 {
				t.Errorf("peer %d heard %d of peer %d's bursts", i, len(lags), j)
			}
		}
	}
}

// TestVideoRoom: two simulcast publishers in a VideoRoom of a real Janus;
// one subscriber asks for the high layer of both and another for the low
// one: each gets both videos at the camera's frame rate, with keyframes of
// the layer's size; in a VP8 room and in an H.264 room (sizes from the
// SPS).
func TestVideoRoom(t *testing.T) {
	jn := janustest.StartForTest(t)
	for i, codec := range []string{"VP8", "H264"} {
		t.Run(codec, func(t *testing.T) { testVideoRoom(t, jn, uint64(4343+i), codec) })
	}
}

func testVideoRoom(t *testing.T, jn janustest.Instance, room uint64, codec string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	destroy, err := janus.CreateVideoRoom(ctx, jn.URL, room, 4, codec)
	if err != nil {
		t.Fatal(err)
	}
	defer destroy()
	feeds := []uint64{11, 12}
	for _, f := range feeds {
		p, err := janus.Publish(ctx, janus.PublisherConfig{URL: jn.URL, Room: room, Feed: f, Display: fmt.Sprint("pub", f),
			Layers: 3, LocalIP: jn.PeerIP, Video: attendee.VideoConfig{Codec: codec}})
		if err != nil {
			t.Fatalf("publish %d: %v", f, err)
		}
		defer p.Close()
	}
	sizes := map[int][2]int{2: {1280, 720}, 0: {320, 180}}
	subs := map[int]*janus.Subscriber{}
	for layer := range sizes {
		s, err := janus.Subscribe(ctx, janus.SubscriberConfig{URL: jn.URL, Room: room, Feeds: feeds, Substream: layer, LocalIP: jn.PeerIP,
			Codec: codec})
		if err != nil {
			t.Fatalf("subscribe (substream %d): %v", layer, err)
		}
		defer s.Close()
		subs[layer] = s
	}
	time.Sleep(4 * time.Second)
	for layer, s := range subs {
		tracks := s.Tracks()
		if len(tracks) != len(feeds) {
			t.Fatalf("substream %d: %d tracks, want %d", layer, len(tracks), len(feeds))
		}
		for _, v := range tracks {
			fps := float64(v.Frames) / time.Since(s.Started).Seconds()
			t.Logf("substream %d, mid %s (%s): %d frames (%.1f fps), %d bytes, keyframes %d of %dx%d, max gap %v",
				layer, v.Mid, v.Codec, v.Frames, fps, v.Bytes, v.Keyframes, v.LastKeyWidth, v.LastKeyHeight, v.MaxFrameGap)
			if fps < 10 {
				t.Errorf("substream %d, mid %s: %.1f fps", layer, v.Mid, fps)
			}
			if !strings.EqualFold(v.Codec, "video/"+codec) {
				t.Errorf("substream %d, mid %s: codec %s", layer, v.Mid, v.Codec)
			}
			if got := [2]int{v.LastKeyWidth, v.LastKeyHeight}; got != sizes[layer] {
				t.Errorf("substream %d, mid %s: keyframes of %v, want %v", layer, v.Mid, got, sizes[layer])
			}
		}
	}
}
