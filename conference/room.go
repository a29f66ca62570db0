package conference

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/confab-media/confab/internal/guard"
	"github.com/confab-media/confab/mixer"
)

// Room is one meeting's runtime on this node: its mixer, the audio legs
// of its members (WebRTC attendees, content shares, phone callers), the
// level ticker that reports volumes and applies the auto-end rules.
type Room struct {
	reg *Registry
	id  string // meeting id
	mix *mixer.Mixer
	log *slog.Logger

	mu      sync.Mutex // guards legs, phones and closed
	legs    map[*AudioLeg]struct{}
	phones  map[*Phone]struct{}
	closed  bool
	started time.Time
	rules   ruleState // touched by the ticker only
	roster  Roster    // presence and stream ids (roster.go)

	done      chan struct{} // closed by close: stops the ticker
	wg        sync.WaitGroup
	closeOnce sync.Once
	endOnce   sync.Once
}

func newRoom(r *Registry, meetingID string) (*Room, error) {
	rm := &Room{
		reg: r, id: meetingID, log: r.p.Log.With("meeting", meetingID),
		legs: map[*AudioLeg]struct{}{}, phones: map[*Phone]struct{}{},
		started: r.p.Clock.Now(), done: make(chan struct{}),
	}
	m, err := mixer.New(r.cfg.Mixer, mixer.Params{Clock: r.p.Clock, Log: rm.log, Panics: r.p.Panics,
		OnPanic: func() { rm.fail("mixer") }, TickObserver: r.metrics.tick, Output: r.batcher()})
	if err != nil {
		return nil, fmt.Errorf("conference: mixer: %w", err)
	}
	rm.mix = m
	m.Start()
	rm.wg.Add(1)
	go rm.tickLoop()
	return rm, nil
}

// ID is the meeting id.
func (rm *Room) ID() string { return rm.id }

// Roster is the meeting's presence on this node: its members' stream ids
// and mute states.
func (rm *Room) Roster() *Roster { return &rm.roster }

// MixerConfig is the configuration the Room's mixer runs with.
func (rm *Room) MixerConfig() mixer.Config { return rm.mix.Config() }

// Members is the number of audio legs (every kind of member).
func (rm *Room) Members() int {
	rm.mu.Lock()
	defer rm.mu.Unlock()
	return len(rm.legs)
}

// fail ends the meeting after a contained panic in one of the Room's
// goroutines: its clients are told through the meeting's end.
func (rm *Room) fail(what string) {
	rm.endMeeting("internal error in the meeting's " + what)
}

// endMeeting asks the Ender to end the meeting (once); without an Ender,
// or if it cannot, the Room closes itself.
func (rm *Room) endMeeting(reason string) {
	rm.endOnce.Do(func() {
		rm.log.Info("conference: ending meeting", "reason", reason)
		rm.reg.wg.Go(func() {
			if e := rm.reg.p.Ender; e != nil {
				if err := e.EndMeeting(context.Background(), rm.id, reason); err == nil {
					return // End follows, from the meeting's lifecycle
				} else {
					rm.log.Info("conference: end meeting", "err", err)
				}
			}
			rm.reg.forget(rm)
			rm.close()
		})
	})
}

// close stops the ticker and the mixer and hangs up the phones. Legs of
// WebRTC peers stay attached until their transport removes them (their
// sinks get nothing more).
func (rm *Room) close() {
	rm.closeOnce.Do(func() {
		rm.mu.Lock()
		rm.closed = true
		phones := make([]*Phone, 0, len(rm.phones))
		for ph := range rm.phones {
			phones = append(phones, ph)
		}
		rm.mu.Unlock()
		for _, ph := range phones {
			ph.hangUp()
		}
		close(rm.done)
		rm.wg.Wait()
		rm.mix.Close()
		rm.reg.metrics.retire(rm)
	})
}

// recoverLoop is deferred by the Room's loops.
func (rm *Room) recoverLoop(what string) {
	if v := recover(); v != nil {
		guard.Handle(rm.log, rm.reg.p.Panics, what, v)
		rm.fail(what)
	}
}

// tickLoop reports levels every LevelInterval and applies the auto-end
// rules, until the Room closes.
func (rm *Room) tickLoop() {
	defer rm.wg.Done()
	defer rm.recoverLoop("conference level ticker")
	clock := rm.reg.p.Clock
	ticks, stop := clock.Tick(rm.reg.cfg.LevelInterval)
	defer stop()
	lv := newLevelState(clock.Now())
	for {
		select {
		case <-rm.done:
			return
		case <-ticks:
		}
		now := clock.Now()
		rm.reportLevels(lv, now)
		if reason := rm.checkRules(now, lv.seen); reason != "" {
			rm.endMeeting(reason)
		}
	}
}
