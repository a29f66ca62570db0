package sipgw

import (
	"testing"

	"github.com/zaf/g711"
	"gopkg.in/hraban/opus.v2"
)

type pushed struct {
	ts    uint32
	level int8
	n     int
}

// g711Feed builds a g711Rx that records its pushes.
func g711Feed(t *testing.T) (*g711Rx, *[]pushed, *rxStats) {
	t.Helper()
	var got []pushed
	stats := &rxStats{}
	r := newG711Rx(codecPCMU, func(pcm []int16, ts uint32, level int8) {
		if len(pcm) != g711Frame {
			t.Errorf("pushed %d samples of PCM, want 20 ms (%d)", len(pcm), g711Frame)
		}
		got = append(got, pushed{ts, level, len(pcm)})
	}, stats)
	return r, &got, stats
}

// ulaw encodes PCM.
func ulaw(pcm []int16) []byte {
	b := make([]byte, len(pcm))
	for i, v := range pcm {
		b[i] = g711.EncodeUlawFrame(v)
	}
	return b
}

func checkTimestamps(t *testing.T, got []pushed, base uint32) {
	t.Helper()
	for i, p := range got {
		if want := base + uint32(i)*g711Frame; p.ts != want {
			t.Fatalf("frame %d: ts %d, want %d", i, p.ts, want)
		}
	}
}

// TestG711RxPtimes: any packet size yields 20 ms PCM frames with the
// caller's timestamps, continuous.
func TestG711RxPtimes(t *testing.T) {
	for _, ptime := range []int{10, 20, 30, 40} {
		r, got, st := g711Feed(t)
		n := ptime * 8
		audio := ulaw(sine8k(n*30, 1000, 8000, 0))
		for i := 0; i < 30; i++ {
			r.packet(audio[i*n:(i+1)*n], 5000+uint32(i*n), i == 0)
		}
		// Every complete 20 ms is pushed at once (the concealer's 3.75 ms
		// delay is inside the frames).
		if want := n * 30 / g711Frame; len(*got) != want {
			t.Errorf("ptime %d: %d frames, want %d", ptime, len(*got), want)
		}
		checkTimestamps(t, *got, 5000)
		if st.lostUnits != 0 || st.late != 0 {
			t.Errorf("ptime %d: stats %+v", ptime, *st)
		}
		if l := (*got)[len(*got)-1].level; l < 13 || l > 16 {
			t.Errorf("ptime %d: level %d, want ~15 (-15 dBov tone)", ptime, l)
		}
	}
}

// TestG711RxReorderAndLoss: one reordered packet is put back in order;
// a lost one is concealed once newer audio is 40 ms past it; a late
// packet after that is counted and dropped; timestamps stay continuous.
func TestG711RxReorderAndLoss(t *testing.T) {
	r, got, st := g711Feed(t)
	audio := ulaw(sine8k(160*40, 500, 8000, 0))
	pkt := func(i int) { r.packet(audio[i*160:(i+1)*160], uint32(i*160), false) }
	for i := range 5 {
		pkt(i)
	}
	pkt(6) // 5 is reordered
	pkt(5)
	if st.lostUnits != 0 {
		t.Fatalf("reordered packet concealed: %+v", *st)
	}
	pkt(7)
	// 8 is lost: 9 arrives (20 ms past), not yet concealed; 10 makes it 40 ms.
	pkt(9)
	if st.lostUnits != 0 {
		t.Fatalf("gap concealed before 40 ms of newer audio: %+v", *st)
	}
	n := len(*got)
	pkt(10)
	if st.lostUnits != 2 || len(*got) < n+2 {
		t.Fatalf("lost packet not concealed: %+v, %d frames", *st, len(*got)-n)
	}
	pkt(8) // too late now
	if st.late != 1 {
		t.Errorf("late packet not counted: %+v", *st)
	}
	for i := 11; i < 20; i++ {
		pkt(i)
	}
	checkTimestamps(t, *got, 0)
}

// TestG711RxJump: a talk spurt after silence suppression (marker bit) or a
// timestamp jump restarts playout without concealing the gap, and the
// pushed timestamps jump as much.
func TestG711RxJump(t *testing.T) {
	r, got, st := g711Feed(t)
	audio := ulaw(sine8k(160, 500, 8000, 0))
	for i := range 5 {
		r.packet(audio, uint32(i*160), false)
	}
	n := len(*got)
	r.packet(audio, 5*160+8000, true) // 1 s later, marker
	r.packet(audio, 6*160+8000, false)
	r.packet(audio, 7*160+8000, false)
	if st.lostUnits != 0 {
		t.Errorf("silence concealed as loss: %+v", *st)
	}
	if len(*got) <= n {
		t.Fatal("nothing emitted after the jump")
	}
	if d := (*got)[n].ts - (*got)[n-1].ts; d < 8000 {
		t.Errorf("timestamp advanced %d across a 1 s gap", d)
	}
	// A jump far ahead without a marker (a new stream) restarts too.
	r.packet(audio, 500000, false)
	r.packet(audio, 500160, false)
	if st.lostUnits != 0 {
		t.Errorf("timestamp jump concealed as loss: %+v", *st)
	}
}

// TestOpusRx: packets are pushed as they arrive, with the level of the
// decoded audio; a gap runs FEC/PLC in the level decoder, a reordered
// packet is pushed with the last level.
func TestOpusRx(t *testing.T) {
	g := newToneEncoder(t, 48000, 1000, 8000)
	var frames [][]byte
	for range 20 {
		p, _ := g.next()
		frames = append(frames, p)
	}
	var got []pushed
	st := &rxStats{}
	r, err := newOpusRx(func(p []byte, ts uint32, level int8) { got = append(got, pushed{ts, level, len(p)}) }, st)
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range frames {
		switch i {
		case 7: // lost
		case 10: // reordered after 11
		case 11:
			r.packet(p, uint32(i*960))
			r.packet(frames[10], 10*960)
		default:
			r.packet(p, uint32(i*960))
		}
	}
	if len(got) != 19 {
		t.Fatalf("%d pushes, want 19", len(got))
	}
	if got[10].ts != 10*960 || st.late != 1 {
		t.Errorf("reordered packet: ts %d, late %d", got[10].ts, st.late)
	}
	if l := got[18].level; l < 13 || l > 18 {
		t.Errorf("level %d, want ~15", l)
	}
	// Not a 20 ms packet: refused (the mixer takes 20 ms frames only).
	enc, _ := opus.NewEncoder(48000, 1, opus.AppVoIP)
	buf := make([]byte, 1000)
	n, _ := enc.Encode(make([]int16, 480), buf)
	r.packet(buf[:n], 100000)
	if st.invalid != 1 || len(got) != 19 {
		t.Errorf("10 ms packet accepted: invalid %d, pushes %d", st.invalid, len(got))
	}
}
