package load

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/confab-media/confab/bench/attendee"
	"github.com/confab-media/confab/bench/janus"
)

// runJanus runs the scenario against a Janus server (Target.Janus)
// instead of Confab, as a Janus deployment serves a meeting: per meeting
// an AudioBridge room that every attendee joins (a bench/janus peer with
// the same tone bursts and onset detection, so that join — session opened
// → first mixed packet —, mouth-to-ear, loss and jitter mean the same as
// against Confab) and, with video, a VideoRoom where the video publishers
// publish the attendee's simulcast camera and the video subscribers
// receive every other publisher at the --video-layer substream, recorded
// as an attendee records Confab's streams. Janus has no /metrics: its CPU
// and memory come from /proc/<Target.ServerPID>. Not measured: data
// messages, phone callers.
func runJanus(ctx context.Context, t Target, s Scenario, progress io.Writer) (*Report, error) {
	if s.SIPCallers > 0 || s.Relay != "" || s.Shard.On() {
		return nil, errors.New("load: against Janus the audio and video scenarios run (no phone callers, relay or shards)")
	}
	r := &Report{Scenario: s, Target: "janus " + t.Janus, Started: time.Now()}
	cpu0 := processCPU()
	base := uint64(rand.Uint32()) << 16
	var destroys []func()
	defer func() {
		for _, d := range destroys {
			d()
		}
	}()
	talkers := meetingTalkers(s)
	var peers []*janusPeer
	for m := range s.Meetings {
		room := base + uint64(m)
		destroy, err := janus.CreateRoom(ctx, t.Janus, room)
		if err != nil {
			return nil, fmt.Errorf("load: AudioBridge create: %w", err)
		}
		destroys = append(destroys, destroy)
		if s.VideoPublishers > 0 {
			destroy, err := janus.CreateVideoRoom(ctx, t.Janus, room, s.VideoPublishers, s.VideoCodec)
			if err != nil {
				return nil, fmt.Errorf("load: VideoRoom create: %w", err)
			}
			destroys = append(destroys, destroy)
		}
		for i := range s.AttendeesPerMeeting {
			jp := &janusPeer{meeting: m, index: i, room: room}
			jp.cfg = janus.Config{URL: t.Janus, Room: room, Display: fmt.Sprintf("m%d-a%d", m, i), LocalIP: t.LocalIP}
			if i < s.Talkers {
				jp.hz = talkerHz(i)
				jp.cfg.ToneHz = jp.hz
				jp.cfg.Bursts = attendee.Bursts{Period: s.BurstPeriod, Length: s.BurstLength,
					Offset: time.Duration(i) * s.BurstPeriod / time.Duration(s.Talkers)}
			}
			if i < s.Measuring {
				jp.cfg.Listen = others(talkers, jp.hz)
			}
			peers = append(peers, jp)
		}
	}
	r.Attendees = len(peers)

	sctx, stopSampling := context.WithCancel(ctx)
	smp := &pidSampler{pid: t.ServerPID, start: r.Started}
	var bg sync.WaitGroup
	if t.ServerPID > 0 {
		bg.Go(func() { smp.run(sctx, time.Second) })
	}
	defer func() { stopSampling(); bg.Wait() }()

	prog := newProgress(progress, len(peers))
	atJoinRate(ctx, len(peers), s.JoinRate, func(dctx context.Context, i int) {
		jp := peers[i]
		jp.p, jp.err = janus.Join(dctx, jp.cfg)
		if jp.err == nil && jp.index < s.VideoPublishers {
			jp.pub, jp.err = janus.Publish(dctx, janus.PublisherConfig{URL: t.Janus, Room: jp.room, Feed: janusFeed(jp.index),
				Display: jp.cfg.Display, Layers: 3, LocalIP: t.LocalIP, Video: attendee.VideoConfig{Codec: s.VideoCodec}})
		}
		prog.joined(jp.err == nil)
	})
	defer func() {
		var wg sync.WaitGroup
		for _, jp := range peers {
			wg.Go(jp.close)
		}
		wg.Wait()
	}()
	subscribeJanusVideo(ctx, t, s, peers)
	end := time.Now().Add(s.Duration)
	tick := time.NewTicker(time.Second)
	for (s.UntilInterrupted || time.Now().Before(end)) && ctx.Err() == nil {
		select {
		case <-ctx.Done():
		case <-tick.C:
		}
		left := time.Until(end)
		if s.UntilInterrupted {
			left = 0
		}
		prog.tick(left, smp.last())
	}
	tick.Stop()
	prog.done()

	collectJanus(r, s, peers)
	stopSampling()
	bg.Wait()
	if t.ServerPID > 0 {
		r.Server = smp.summary()
	} else {
		r.Server.Error = "no --server-pid: Janus has no /metrics"
	}
	r.WallSeconds = time.Since(r.Started).Seconds()
	r.HarnessCPUPercentMean = 100 * (processCPU() - cpu0).Seconds() / r.WallSeconds
	if ctx.Err() != nil && !s.UntilInterrupted {
		return r, ctx.Err()
	}
	return r, nil
}

// janusPeer is one synthetic participant of a Janus run: an AudioBridge
// peer and, with video, a VideoRoom publisher or subscriber (or both).
type janusPeer struct {
	meeting, index int
	room           uint64 // the meeting's AudioBridge and VideoRoom id
	hz             float64
	cfg            janus.Config
	p              *janus.Peer
	pub            *janus.Publisher
	sub            *janus.Subscriber
	err            error // joining (the AudioBridge, publishing)
	subErr         error // subscribing to the video
}

func (jp *janusPeer) close() {
	if jp.sub != nil {
		_ = jp.sub.Close()
	}
	if jp.pub != nil {
		_ = jp.pub.Close()
	}
	if jp.p != nil {
		_ = jp.p.Close()
	}
}

// janusFeed is the VideoRoom publisher id of a meeting's attendee index.
func janusFeed(index int) uint64 { return uint64(index) + 1 }

// subscribeJanusVideo makes each meeting's video subscribers (its last
// VideoSubscribers attendees, as against Confab) subscribe to every other
// publisher of the meeting at the --video-layer substream.
func subscribeJanusVideo(ctx context.Context, t Target, s Scenario, peers []*janusPeer) {
	if s.VideoPublishers == 0 || s.VideoSubscribers == 0 {
		return
	}
	substream := map[string]int{"low": 0, "mid": 1, "high": 2, "auto": -1}[s.VideoLayer]
	if s.VideoLayer == "" {
		substream = 2
	}
	var wg sync.WaitGroup
	for _, jp := range peers {
		if jp.err != nil || jp.index < s.AttendeesPerMeeting-s.VideoSubscribers {
			continue
		}
		var feeds []uint64
		for _, other := range peers {
			if other.meeting == jp.meeting && other != jp && other.pub != nil {
				feeds = append(feeds, janusFeed(other.index))
			}
		}
		if len(feeds) == 0 {
			continue
		}
		wg.Go(func() {
			sctx, cancel := context.WithTimeout(ctx, 20*time.Second)
			defer cancel()
			sub, err := janus.Subscribe(sctx, janus.SubscriberConfig{URL: t.Janus, Room: jp.room, Feeds: feeds, Substream: substream, LocalIP: t.LocalIP,
				Codec: s.VideoCodec})
			if err != nil {
				jp.subErr = err
				return
			}
			jp.sub = sub
		})
	}
	wg.Wait()
}

// collectJanus fills the report as collect does for Confab.
func collectJanus(r *Report, s Scenario, peers []*janusPeer) {
	now := time.Now()
	var join, m2e, loss, jitter []float64
	var vs videoSamples
	meetings := make([]MeetingReport, s.Meetings)
	meetingLoss := make([][]float64, s.Meetings)
	meetingM2E := make([][]float64, s.Meetings)
	for _, jp := range peers {
		meetings[jp.meeting].Attendees++
		if jp.err != nil || jp.p == nil {
			if len(r.JoinErrors) < 20 {
				r.JoinErrors = append(r.JoinErrors, fmt.Sprintf("%s: %v", jp.cfg.Display, jp.err))
			}
			continue
		}
		r.Joined++
		meetings[jp.meeting].Joined++
		if jp.subErr != nil && len(r.JoinErrors) < 20 {
			r.JoinErrors = append(r.JoinErrors, fmt.Sprintf("%s: subscribe: %v", jp.cfg.Display, jp.subErr))
		}
		if jp.sub != nil {
			for _, v := range jp.sub.Tracks() {
				vs.add(&r.Video, v, now.Sub(jp.sub.Started))
			}
		}
		st := jp.p.Stats()
		if st.FirstAudio.IsZero() {
			continue
		}
		r.ListenersWithAudio++
		join = append(join, ms(st.FirstAudio.Sub(st.Opened)))
		expected := st.LastArrival.Sub(st.FirstAudio).Seconds()*50 + 1
		l := max(0, 100*(1-float64(st.Packets)/expected))
		loss = append(loss, l)
		meetingLoss[jp.meeting] = append(meetingLoss[jp.meeting], l)
		jitter = append(jitter, st.JitterMs)
		r.PerAttendee = append(r.PerAttendee, AttendeeRow{Name: jp.cfg.Display, Meeting: jp.meeting,
			JoinMs: ms(st.FirstAudio.Sub(st.Opened)), Packets: st.Packets, LossPct: l, JitterMs: st.JitterMs})
	}
	for _, talker := range peers {
		if talker.p == nil || talker.hz == 0 {
			continue
		}
		bursts := talker.p.Bursts()
		for _, listener := range peers {
			if listener == talker || listener.p == nil || listener.meeting != talker.meeting || listener.index >= s.Measuring {
				continue
			}
			r.MouthToEarPairsExpected++
			lags := attendee.MouthToEar(bursts, listener.p.Onsets(talker.hz), m2eMaxLag)
			if len(lags) > 0 {
				r.MouthToEarPairs++
			}
			for _, l := range lags {
				m2e = append(m2e, ms(l))
				meetingM2E[talker.meeting] = append(meetingM2E[talker.meeting], ms(l))
			}
		}
	}
	for m := range meetings {
		meetings[m].MeetingID = fmt.Sprintf("meeting %d", m)
		meetings[m].LossPctMean = mean(meetingLoss[m])
		meetings[m].MouthToEarP50Ms = newDist(meetingM2E[m]).P50
	}
	r.Meetings = meetings
	r.Video.Publishers, r.Video.Subscribers = s.Meetings*s.VideoPublishers, s.Meetings*s.VideoSubscribers
	vs.summarize(&r.Video)
	r.JoinLatencyMs, r.MouthToEarMs = newDist(join), newDist(m2e)
	r.AudioLossPct, r.AudioJitterMs = newDist(loss), newDist(jitter)
}

// pidSampler reads a local process's CPU and memory from /proc every
// interval, for a server without /metrics.
type pidSampler struct {
	pid   int
	start time.Time

	mu      sync.Mutex
	samples []Sample
	err     error
}

func (p *pidSampler) run(ctx context.Context, interval time.Duration) {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	last, lastAt := time.Duration(-1), time.Time{}
	for {
		now := time.Now()
		cpu, err := processCPUOf(p.pid)
		rss := processRSS(p.pid)
		p.mu.Lock()
		switch {
		case err != nil:
			p.err = err
		case last >= 0:
			p.samples = append(p.samples, Sample{At: now.Sub(p.start).Seconds(), RSSMB: rss,
				CPUPercent: 100 * (cpu - last).Seconds() / now.Sub(lastAt).Seconds()})
		}
		p.mu.Unlock()
		if err == nil {
			last, lastAt = cpu, now
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

func (p *pidSampler) last() float64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.samples) == 0 {
		return -1
	}
	return p.samples[len(p.samples)-1].CPUPercent
}

func (p *pidSampler) summary() ServerReport {
	p.mu.Lock()
	defer p.mu.Unlock()
	return summarizeSamples(p.samples, p.err)
}

// processRSS is process pid's resident memory in MB (/proc/<pid>/status
// VmRSS), 0 if unknown.
func processRSS(pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			return kb / 1024
		}
	}
	return 0
}
