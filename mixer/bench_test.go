package mixer

import (
	"fmt"
	"testing"

	"gopkg.in/hraban/opus.v2"
)

// Benchmarks: one op is one 20 ms tick of a meeting. All use the Mixer's
// Opus settings (48 kHz mono, 32 kbit/s, complexity 10, FEC on).
//
//	go test -run '^$' -bench . -benchmem ./mixer/
//
// BenchmarkFloor is the codec floor of a tick with 3 talkers: 3 decodes and
// 4 encodes (3 mix-minus + 1 shared). BenchmarkNaive is Janus audiobridge's
// model (one encode per listener), BenchmarkMixer is Confab's Tick.

const benchFrames = 50 // distinct frames each source cycles through

var benchTones = []float64{300, 500, 700}

// benchSource is one leg's pre-encoded input.
type benchSource struct {
	frames [][]byte
	levels []int8
	pcm    [][]int16 // the decoded frames (for the floor's mixes)
}

func newBenchSource(b *testing.B, freq, amp float64) *benchSource {
	g := newTone(b, freq, amp)
	dec, err := opus.NewDecoder(sampleRate, 1)
	must(b, err)
	s := &benchSource{}
	for range benchFrames {
		p, _, lvl := g.next(b)
		pcm := make([]int16, frameSamples)
		_, err := dec.Decode(p, pcm)
		must(b, err)
		s.frames, s.levels, s.pcm = append(s.frames, p), append(s.levels, lvl), append(s.pcm, pcm)
	}
	return s
}

func benchSources(b *testing.B, legs int) []*benchSource {
	srcs := make([]*benchSource, legs)
	silence := newBenchSource(b, 0, 0)
	for i := range srcs {
		srcs[i] = silence
		if i < len(benchTones) {
			srcs[i] = newBenchSource(b, benchTones[i], 8000)
		}
	}
	return srcs
}

func newBenchEncoder(b *testing.B) *opus.Encoder {
	enc, err := encoderSettings{bitrate: 32000, complexity: 10}.newEncoder()
	must(b, err)
	return enc
}

func BenchmarkFloor(b *testing.B) {
	talkers := benchSources(b, 3)
	decs := make([]*opus.Decoder, 3)
	encs := make([]*opus.Encoder, 4)
	for i := range decs {
		var err error
		decs[i], err = opus.NewDecoder(sampleRate, 1)
		must(b, err)
	}
	for i := range encs {
		encs[i] = newBenchEncoder(b)
	}
	// The four outputs of each tick, mixed in advance: 3 mix-minus, 1 full.
	mixes := make([][4][]int16, benchFrames)
	for k := range mixes {
		for o := range 4 {
			mixes[k][o] = make([]int16, frameSamples)
			for i := range frameSamples {
				var v int32
				for t, s := range talkers {
					if t != o {
						v += int32(s.pcm[k][i])
					}
				}
				mixes[k][o][i] = int16(v)
			}
		}
	}
	pcm := make([]int16, frameSamples)
	out := make([]byte, maxPayload)
	b.ReportAllocs()
	for k := 0; b.Loop(); k++ {
		for t, d := range decs {
			if _, err := d.Decode(talkers[t].frames[k%benchFrames], pcm); err != nil {
				b.Fatal(err)
			}
		}
		for o, e := range encs {
			if _, err := e.Encode(mixes[k%benchFrames][o], out); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// naiveMixer is the baseline: Janus audiobridge's model. Every tick it
// decodes the active participants, sums them in int32, and for EVERY
// participant subtracts its own audio, clamps and encodes with that
// participant's own encoder: O(participants) encodes. (Janus also decodes
// silent participants; this baseline does not, which flatters it.)
type naiveMixer struct {
	srcs []*benchSource
	decs []*opus.Decoder
	encs []*opus.Encoder
	pcm  [][]int16
	sum  []int32
	mm   []int16
	out  []byte
}

func newNaiveMixer(b *testing.B, legs int) *naiveMixer {
	n := &naiveMixer{
		srcs: benchSources(b, legs), sum: make([]int32, frameSamples),
		mm: make([]int16, frameSamples), out: make([]byte, maxPayload),
	}
	for range legs {
		dec, err := opus.NewDecoder(sampleRate, 1)
		must(b, err)
		n.decs = append(n.decs, dec)
		n.encs = append(n.encs, newBenchEncoder(b))
		n.pcm = append(n.pcm, make([]int16, frameSamples))
	}
	return n
}

func (n *naiveMixer) tick(k int) {
	clear(n.sum)
	active := len(benchTones)
	for i := range active {
		if _, err := n.decs[i].Decode(n.srcs[i].frames[k%benchFrames], n.pcm[i]); err != nil {
			panic(err)
		}
		for j, v := range n.pcm[i] {
			n.sum[j] += int32(v)
		}
	}
	for i, enc := range n.encs {
		for j, v := range n.sum {
			if i < active {
				v -= int32(n.pcm[i][j])
			}
			n.mm[j] = int16(min(max(v, -32768), 32767))
		}
		if _, err := enc.Encode(n.mm, n.out); err != nil {
			panic(err)
		}
	}
}

func BenchmarkNaive(b *testing.B) {
	for _, legs := range []int{50, 250} {
		b.Run(fmt.Sprintf("%d_3", legs), func(b *testing.B) {
			n := newNaiveMixer(b, legs)
			b.ReportAllocs()
			for k := 0; b.Loop(); k++ {
				n.tick(k)
			}
		})
	}
}

func BenchmarkMixer(b *testing.B) {
	for _, legs := range []int{50, 250} {
		b.Run(fmt.Sprintf("%d_3", legs), func(b *testing.B) {
			m, err := New(Config{}, Params{})
			must(b, err)
			defer m.Close()
			srcs := benchSources(b, legs)
			ls := make([]*Leg, legs)
			for i := range ls {
				ls[i], err = m.AddLeg(LegID(fmt.Sprint("leg", i)), func([]byte, uint32) {})
				must(b, err)
			}
			now, ts := t0, uint32(99)
			tick := func(k int) {
				for i, l := range ls {
					s := srcs[i]
					if err := l.Push(Frame{Payload: s.frames[k%benchFrames], Timestamp: ts, Level: s.levels[k%benchFrames], Arrival: now}); err != nil {
						b.Fatal(err)
					}
				}
				m.Tick(now)
				now, ts = now.Add(frameDur), ts+frameSamples
			}
			for k := range 100 { // fill the jitter buffers, pick the talkers
				tick(k)
			}
			before := m.Stats()
			b.ReportAllocs()
			k := 100
			for b.Loop() {
				tick(k)
				k++
			}
			st := m.Stats()
			ticks := float64(st.Ticks - before.Ticks)
			b.ReportMetric(float64(st.Encoded-before.Encoded)/ticks, "encodes/op")
			b.ReportMetric(float64(st.Decoded-before.Decoded)/ticks, "decodes/op")
		})
	}
}

// BenchmarkConversation: a 10-leg meeting where two people take turns, two
// seconds each, as in a conversation; the others listen. The talker who
// just stopped keeps its slot for the hold time (and is in its hangover
// first): encodes/op shows what that silence costs.
func BenchmarkConversation(b *testing.B) {
	for _, complexity := range []int{10, defaultComplexity} {
		b.Run(fmt.Sprint("complexity=", complexity), func(b *testing.B) {
			m, err := New(Config{Complexity: complexity}, Params{})
			must(b, err)
			defer m.Close()
			talk := []*benchSource{newBenchSource(b, 300, 8000), newBenchSource(b, 500, 8000)}
			silence := newBenchSource(b, 0, 0)
			ls := make([]*Leg, 10)
			for i := range ls {
				ls[i], err = m.AddLeg(LegID(fmt.Sprint("leg", i)), func([]byte, uint32) {})
				must(b, err)
			}
			now, ts := t0, uint32(99)
			tick := func(k int) {
				turn := k / 100 % 2 // who talks: 100 frames each
				for i, l := range ls {
					s := silence
					if i < 2 && i == turn {
						s = talk[i]
					}
					if err := l.Push(Frame{Payload: s.frames[k%benchFrames], Timestamp: ts, Level: s.levels[k%benchFrames], Arrival: now}); err != nil {
						b.Fatal(err)
					}
				}
				m.Tick(now)
				now, ts = now.Add(frameDur), ts+frameSamples
			}
			for k := range 200 {
				tick(k)
			}
			before := m.Stats()
			b.ReportAllocs()
			k := 200
			for b.Loop() {
				tick(k)
				k++
			}
			st := m.Stats()
			b.ReportMetric(float64(st.Encoded-before.Encoded)/float64(st.Ticks-before.Ticks), "encodes/op")
		})
	}
}
