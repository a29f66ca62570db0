package sipgw

import (
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/zaf/g711"
	"gopkg.in/hraban/opus.v2"

	"github.com/confab-media/confab/internal/clock"
	"github.com/confab-media/confab/internal/guard"
)

// prompter plays a SIP media application's prompts to an app call: one
// goroutine that, every 20 ms while a prompt plays, encodes 160 samples
// of its 8 kHz PCM in the call's codec (G.711, or Opus from 8 kHz input)
// and hands the frame to the call's sender as the meeting mix would.
type prompter struct {
	clock clock.Clock
	codec codec
	mix   func(payload []byte, ts uint32)
	enc   *opus.Encoder // Opus calls only

	cmds chan *prompt // a prompt to play, or nil to stop
	quit chan struct{}
	done chan struct{}
	once sync.Once // the goroutine runs, or (close first) never will

	// Owned by the goroutine.
	ts  uint32
	out [maxOpus]byte
	pcm [promptFrame]int16
}

// prompt is one PlayAudio: done closes when it played out or was cut.
type prompt struct {
	pcm  []int16
	done chan struct{}
}

// promptFrame is 20 ms at 8 kHz.
const promptFrame = 160

func newPrompter(c clock.Clock, cd codec, mix func([]byte, uint32)) (*prompter, error) {
	p := &prompter{clock: c, codec: cd, mix: mix, cmds: make(chan *prompt), quit: make(chan struct{}), done: make(chan struct{})}
	if cd == codecOpus {
		enc, err := opus.NewEncoder(8000, 1, opus.AppVoIP)
		if err != nil {
			return nil, fmt.Errorf("sipgw: prompt encoder: %w", err)
		}
		p.enc = enc
	}
	return p, nil
}

// start runs the goroutine (a panic in it is contained, counted and ends
// only the prompts); close stops it and waits.
func (p *prompter) start(log *slog.Logger, panics guard.Counter) {
	p.once.Do(func() { go p.run(log, panics) })
}

func (p *prompter) close() {
	p.once.Do(func() { close(p.done) }) // never started: nothing to wait for
	select {
	case <-p.quit:
	default:
		close(p.quit)
	}
	<-p.done
}

// play starts pcm, replacing what plays.
func (p *prompter) play(pcm []int16) <-chan struct{} {
	pr := &prompt{pcm: pcm, done: make(chan struct{})}
	select {
	case p.cmds <- pr:
	case <-p.done: // closed, or ended on a panic
		close(pr.done)
	}
	return pr.done
}

// stop cuts what plays short.
func (p *prompter) stop() {
	select {
	case p.cmds <- nil:
	case <-p.done:
	}
}

func (p *prompter) run(log *slog.Logger, panics guard.Counter) {
	defer close(p.done)
	defer guard.Recover(log, panics, "sipgw prompt player", nil)
	var cur *prompt
	var pos int
	var ticks <-chan time.Time
	stopTicks := func() {}
	finish := func() {
		if cur != nil {
			close(cur.done)
			cur = nil
		}
	}
	defer func() { finish(); stopTicks() }()
	for {
		select {
		case <-p.quit:
			return
		case next := <-p.cmds:
			finish()
			cur, pos = next, 0
			if cur != nil && ticks == nil {
				ticks, stopTicks = p.clock.Tick(20 * time.Millisecond)
			}
		case <-ticks:
			if cur == nil {
				stopTicks()
				ticks, stopTicks = nil, func() {}
				continue
			}
			n := copy(p.pcm[:], cur.pcm[pos:])
			clear(p.pcm[n:])
			pos += n
			p.send()
			if pos >= len(cur.pcm) {
				finish()
			}
		}
	}
}

// send encodes p.pcm and hands it to the sender.
func (p *prompter) send() {
	if p.enc != nil {
		n, err := p.enc.Encode(p.pcm[:], p.out[:])
		if err == nil && n > 0 {
			p.mix(p.out[:n], p.ts)
		}
		p.ts += 960 // 20 ms at Opus's 48 kHz RTP clock
		return
	}
	enc := g711.EncodeUlawFrame
	if p.codec == codecPCMA {
		enc = g711.EncodeAlawFrame
	}
	for i, v := range p.pcm {
		p.out[i] = enc(v)
	}
	p.mix(p.out[:promptFrame], p.ts)
	p.ts += promptFrame
}
