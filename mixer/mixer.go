package mixer

import (
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"gopkg.in/hraban/opus.v2"

	"github.com/confab-media/confab/internal/clock"
	"github.com/confab-media/confab/internal/guard"
)

// Mixer mixes the audio of one meeting. Create it with New, add legs, Start
// it (or drive Tick yourself), and Close it.
type Mixer struct {
	cfg     Config
	clock   clock.Clock
	log     *slog.Logger
	panics  guard.Counter
	onPanic func()
	tickObs Observer
	output  Batcher
	stats   counters

	governor   complexityGovernor // used by the mixing goroutine only
	complexity atomic.Int32       // the encoders' current Opus complexity

	mu     sync.Mutex // guards legs (copy-on-write: replaced, never mutated), byID and closed
	legs   []*Leg
	byID   map[LegID]*Leg
	closed bool

	startOnce sync.Once
	closeOnce sync.Once
	done      chan struct{} // closed by Close
	wg        sync.WaitGroup

	// stepMu guards the mixing state below and the step fields of every Leg;
	// it is held for one Tick.
	stepMu     sync.Mutex
	tick       uint64
	talkers    *talkerSelector
	pool       *encoderPool
	shared     stream
	silent     int     // consecutive ticks the shared mix was silent
	sharedTick uint64  // last tick the shared stream was used
	mix        []int32 // sum of this tick's talkers
	minus      []int32 // scratch: mix minus one talker
	errLog     logLimiter
	stopped    atomic.Bool         // set by Close: Tick does nothing
	g711       [codecs]*g711Stream // shared G.711 full mixes, by codec, made on first use
}

// New returns a Mixer with cfg's zero fields set to their defaults. It fails
// with ErrInvalidConfig or if Opus cannot be set up.
func New(cfg Config, p Params) (*Mixer, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if p.Clock == nil {
		p.Clock = clock.System{}
	}
	if p.Log == nil {
		p.Log = slog.New(slog.DiscardHandler)
	}
	settings := encoderSettings{bitrate: cfg.Bitrate, complexity: cfg.Complexity}
	enc, err := settings.newEncoder()
	if err != nil {
		return nil, err
	}
	m := &Mixer{
		cfg:     cfg,
		clock:   p.Clock,
		log:     p.Log,
		panics:  p.Panics,
		onPanic: p.OnPanic,
		tickObs: p.TickObserver,
		output:  p.Output,
		byID:    make(map[LegID]*Leg),
		done:    make(chan struct{}),
		talkers: newTalkerSelector(cfg),
		pool:    newEncoderPool(settings, cfg.TopN),
		shared:  newStream(enc),
		mix:     make([]int32, frameSamples),
		minus:   make([]int32, frameSamples),
		errLog:  logLimiter{every: 10 * time.Second},
	}
	m.governor = newComplexityGovernor(cfg)
	m.complexity.Store(int32(cfg.Complexity))
	return m, nil
}

// Config returns the effective configuration, defaults filled in.
func (m *Mixer) Config() Config { return m.cfg }

// AddLeg adds an Opus leg whose output goes to sink (see Sink). The leg is
// mixed from the next tick on. AddPCMLeg adds a G.711 one.
func (m *Mixer) AddLeg(id LegID, sink Sink) (*Leg, error) {
	return m.addLeg(id, CodecOpus, sink)
}

func (m *Mixer) addLeg(id LegID, codec Codec, sink Sink) (*Leg, error) {
	if sink == nil {
		return nil, fmt.Errorf("mixer: AddLeg %q: nil sink", id)
	}
	l := &Leg{
		id:     id,
		m:      m,
		codec:  codec,
		tsStep: frameSamples,
		jb:     newJitterBuffer(m.cfg.JitterMin, m.cfg.JitterMax, int8(m.cfg.ActiveLevel), &m.stats),
		sink:   sink,
		pkt:    make([]byte, 0, maxPayload),
		pcm:    make([]int16, frameSamples),
		slot:   -1,
	}
	if codec == CodecOpus {
		dec, err := opus.NewDecoder(sampleRate, 1)
		if err != nil {
			return nil, fmt.Errorf("mixer: opus decoder: %w", err)
		}
		l.dec = dec
	} else {
		l.tsStep = PCMFrame
		l.up = newUpsampler(PCMFrame)
	}
	l.level.Store(int32(levelSilence))
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, ErrClosed
	}
	if _, dup := m.byID[id]; dup {
		return nil, fmt.Errorf("%w: %q", ErrDuplicateLeg, id)
	}
	m.byID[id] = l
	legs := make([]*Leg, len(m.legs), len(m.legs)+1)
	copy(legs, m.legs)
	m.legs = append(legs, l)
	m.log.Debug("mixer: leg added", "leg", id, "legs", len(m.legs))
	return l, nil
}

// RemoveLeg removes the leg with the given ID, if any. When it returns, the
// leg's sink is not called again and its Push returns ErrLegRemoved.
func (m *Mixer) RemoveLeg(id LegID) {
	m.mu.Lock()
	l := m.byID[id]
	if l != nil {
		delete(m.byID, id)
		legs := make([]*Leg, 0, len(m.legs))
		for _, o := range m.legs {
			if o != l {
				legs = append(legs, o)
			}
		}
		m.legs = legs
	}
	n := len(m.legs)
	m.mu.Unlock()
	if l == nil {
		return
	}
	l.removed.Store(true)
	l.sinkMu.Lock() // waits for a sink call in progress
	l.sink = nil
	l.sinkMu.Unlock()
	m.log.Debug("mixer: leg removed", "leg", id, "legs", n)
}

// Leg returns the leg with the given ID, or nil.
func (m *Mixer) Leg(id LegID) *Leg {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.byID[id]
}

// snapshot returns the current leg list; it is never mutated.
func (m *Mixer) snapshot() []*Leg {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.legs
}

// LegLevel is one leg's entry in Levels.
type LegLevel struct {
	ID LegID
	// Level is the leg's smoothed RFC 6464 level in −dBov: 0 loudest … 127
	// silence (also while muted).
	Level  int8
	Talker bool // mixed this tick
	Muted  bool
}

// Levels appends the current level of every leg to dst[:0] and returns it:
// no allocation when cap(dst) suffices. Call it every ~200 ms for the
// signaling layer's audio metadata.
func (m *Mixer) Levels(dst []LegLevel) []LegLevel {
	dst = dst[:0]
	for _, l := range m.snapshot() {
		dst = append(dst, LegLevel{
			ID: l.id, Level: int8(l.level.Load()), Talker: l.talking.Load(), Muted: l.muted.Load(),
		})
	}
	return dst
}

// Stats returns the Mixer's cumulative counters.
func (m *Mixer) Stats() Stats {
	st := m.stats.snapshot()
	st.Complexity = int(m.complexity.Load())
	return st
}

// Start starts the Mixer's goroutine, which mixes a frame every 20 ms of the
// Clock. It catches up on frames a late tick missed, at most MaxCatchUp at
// once; beyond that it skips ahead (Stats.Skipped). Calling Start again, or
// after Close, does nothing.
func (m *Mixer) Start() {
	m.startOnce.Do(func() {
		m.mu.Lock()
		defer m.mu.Unlock()
		if m.closed {
			return
		}
		start := m.clock.Now() // before the ticker, so its first tick is due frame 1
		ticks, stop := m.clock.Tick(frameDur)
		m.wg.Add(1)
		go m.run(start, ticks, stop)
		m.log.Info("mixer: started", "topN", m.cfg.TopN, "bitrate", m.cfg.Bitrate)
	})
}

// Close stops the Mixer's goroutine and waits for it. After Close no sink is
// called again and AddLeg fails with ErrClosed. Close is idempotent.
func (m *Mixer) Close() {
	m.closeOnce.Do(func() {
		m.mu.Lock()
		m.closed = true
		m.mu.Unlock()
		m.stopped.Store(true)
		close(m.done)
		m.wg.Wait()
		m.stepMu.Lock() // wait out a Tick called by the user
		//lint:ignore SA2001 the empty section is the wait
		m.stepMu.Unlock()
		m.log.Info("mixer: closed", "stats", m.stats.snapshot())
	})
}

func (m *Mixer) run(start time.Time, ticks <-chan time.Time, stop func()) {
	defer m.wg.Done()
	defer stop()
	// The tick decodes remote Opus: a panic there ends this meeting's
	// mixing, never the process.
	defer guard.Recover(m.log, m.panics, "mixer", func(any) {
		if m.onPanic != nil {
			m.onPanic()
		}
	})
	var mixed int64 // frames mixed (or skipped) since start
	for {
		select {
		case <-m.done:
			return
		case now := <-ticks:
			due := int64(now.Sub(start) / frameDur)
			if behind := due - mixed; behind > int64(m.cfg.MaxCatchUp) {
				skip := behind - int64(m.cfg.MaxCatchUp)
				m.skip(int(skip))
				mixed += skip
			}
			for first := true; mixed < due; mixed++ {
				select {
				case <-m.done:
					return
				default:
				}
				if !first {
					m.stats.lateTicks.Add(1) // a frame mixed after its tick had passed
				}
				first = false
				t0 := time.Now()
				tickAt := start.Add(time.Duration(mixed+1) * frameDur)
				m.Tick(tickAt)
				if m.tickObs != nil {
					m.tickObs.Observe(time.Since(t0).Seconds())
				}
				if c, changed := m.governor.observe(m.clock.Now().Sub(tickAt)); changed {
					m.setComplexity(c)
					m.log.Info("mixer: opus complexity", "complexity", c, "max", m.cfg.Complexity)
				}
			}
		}
	}
}

// logLimiter lets one log line through per period and counts the rest. It is
// used under stepMu only.
type logLimiter struct {
	every      time.Duration
	last       time.Time
	suppressed int
}

func (r *logLimiter) allow(now time.Time) (ok bool, suppressed int) {
	if !r.last.IsZero() && now.Sub(r.last) < r.every {
		r.suppressed++
		return false, 0
	}
	r.last, suppressed, r.suppressed = now, r.suppressed, 0
	return true, suppressed
}
