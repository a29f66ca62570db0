package janus_test

import (
	"context"
	"fmt"
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
