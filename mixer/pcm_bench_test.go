package mixer

import (
	"fmt"
	"testing"

	"github.com/zaf/g711"
	"gopkg.in/hraban/opus.v2"

	"github.com/confab-media/confab/internal/fakeclock"
)

// BenchmarkG711Callers measures one meeting of 50 G.711 phone callers, 3 of
// them talking, per 20 ms tick, the gateway's codec work included:
//
//   - before: what sipgw did until PCM legs — per caller, G.711 decode,
//     ×6 upsample and an Opus encode (20 kbit/s, complexity 5, narrowband)
//     in, an Opus leg in the mixer, and an Opus decode at 8 kHz plus a G.711
//     encode out, for every caller, every tick;
//   - after: PCM legs — per caller only the G.711 decode in; the mixer
//     upsamples what it mixes and encodes G.711 once per tick for all
//     listeners (plus one mix-minus per talker); out is a copy.
//
// One op is one tick of the whole meeting (ns/op = ns per tick); ns/caller
// divides it by the callers; "after" also reports before/after, the ratio of
// the two per-tick times of the same run. Run both side by side:
//
//	go test -run '^$' -bench G711Callers -benchtime 2000x -count 3 ./mixer
func BenchmarkG711Callers(b *testing.B) {
	const callers, talking = 50, 3
	var before float64 // ns per tick of the "before" side's last run
	b.Run("before", func(b *testing.B) { before = benchG711(b, callers, talking, false) })
	b.Run("after", func(b *testing.B) {
		after := benchG711(b, callers, talking, true)
		if before > 0 && after > 0 {
			b.ReportMetric(before/after, "before/after")
		}
	})
}

// g711Caller is one phone as the gateway sees it.
type g711Caller struct {
	in      [][]byte // μ-law frames it sends (tone or silence)
	pcm8    [PCMFrame]int16
	pcm48   [frameSamples]int16
	up      *upsampler
	enc     *opus.Encoder // before: G.711 → Opus
	opusOut [maxPayload]byte
	dec8    *opus.Decoder // before: the mix → 8 kHz
	mix8    [PCMFrame]int16
	rtp     [12 + PCMFrame]byte
	leg     *Leg
}

// benchG711 runs one side and returns its ns per tick.
func benchG711(b *testing.B, callers, talking int, pcmLegs bool) float64 {
	clk := fakeclock.New(t0)
	m, err := New(Config{}, Params{Clock: clk})
	if err != nil {
		b.Fatal(err)
	}
	defer m.Close()
	cs := make([]*g711Caller, callers)
	for i := range cs {
		c := &g711Caller{}
		src := &pcmSource{freq: 300 + 100*float64(i), amp: 8000}
		if i >= talking {
			src.amp = 0
		}
		for range 50 {
			pcm, _ := src.next()
			f := make([]byte, PCMFrame)
			for j, v := range pcm {
				f[j] = g711.EncodeUlawFrame(v)
			}
			c.in = append(c.in, f)
		}
		id := LegID(fmt.Sprint("caller-", i))
		if pcmLegs {
			c.leg, err = m.AddPCMLeg(id, CodecPCMU, func(p []byte, _ uint32) { copy(c.rtp[12:], p) })
		} else {
			c.up = newUpsampler(PCMFrame)
			if c.enc, err = opus.NewEncoder(sampleRate, 1, opus.AppVoIP); err == nil {
				_ = c.enc.SetBitrate(20000)
				_ = c.enc.SetComplexity(5)
				_ = c.enc.SetMaxBandwidth(opus.Narrowband)
				c.dec8, err = opus.NewDecoder(pcmRate, 1)
			}
			if err != nil {
				b.Fatal(err)
			}
			c.leg, err = m.AddLeg(id, func(p []byte, _ uint32) {
				if _, err := c.dec8.Decode(p, c.mix8[:]); err == nil {
					for j, v := range c.mix8 {
						c.rtp[12+j] = g711.EncodeUlawFrame(v)
					}
				}
			})
		}
		if err != nil {
			b.Fatal(err)
		}
		cs[i] = c
	}
	now, n := t0, 0
	tick := func() {
		for _, c := range cs {
			frame := c.in[n%len(c.in)]
			for j, v := range frame {
				c.pcm8[j] = g711.DecodeUlawFrame(v)
			}
			level := LevelFromPCM(c.pcm8[:])
			if pcmLegs {
				_ = c.leg.PushPCM(c.pcm8[:], uint32(n*PCMFrame), level)
				continue
			}
			c.up.process(c.pcm8[:], c.pcm48[:])
			k, err := c.enc.Encode(c.pcm48[:], c.opusOut[:])
			if err != nil {
				b.Fatal(err)
			}
			_ = c.leg.Push(Frame{Payload: c.opusOut[:k], Timestamp: uint32(n * frameSamples), Level: level, Arrival: now})
		}
		m.Tick(now)
		now = now.Add(frameDur)
		clk.Advance(frameDur) // PushPCM stamps arrival with the mixer's clock
		n++
	}
	for range 100 { // past the jitter buffers' start and the talker selection
		tick()
	}
	talkers := 0
	for _, l := range m.Levels(nil) {
		if l.Talker {
			talkers++
		}
	}
	if talkers != talking {
		b.Fatalf("%d talkers in the mix, want %d", talkers, talking)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		tick()
	}
	perTick := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
	b.ReportMetric(perTick/float64(callers), "ns/caller")
	return perTick
}
