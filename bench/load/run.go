package load

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/confab-media/confab/bench/attendee"
)

// dataTopic carries the data messages whose latency is measured.
const dataTopic = "confab-bench"

// member is one synthetic attendee of a run.
type member struct {
	meeting int
	index   int
	hz      float64 // its tone if it talks, else 0
	cfg     attendee.Config
	a       *attendee.Attendee
	err     error
	subAt   time.Time // when its video subscription was answered
}

// Run loads the target with the scenario and returns what it measured.
// progress (nil for none) gets a live status line.
func Run(ctx context.Context, t Target, s Scenario, progress io.Writer, log *slog.Logger) (*Report, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s, err := s.WithDefaults()
	if err != nil {
		return nil, err
	}
	if err := t.check(); err != nil {
		return nil, err
	}
	if t.Janus != "" {
		return runJanus(ctx, t, s, progress)
	}
	chime := newChimeClient(&t)
	r := &Report{Scenario: s, Target: t.URL, Started: time.Now()}
	cpu0 := processCPU()
	runID := randomHex(4)

	// 1. Meetings and attendees through the control plane.
	meetingIDs := make([]string, s.Meetings)
	placed := nodePlacements{}
	var members []*member
	var callers []*caller
	defer func() { deleteMeetings(chime, meetingIDs) }()
	var app *pinApp // the PIN flow's SIP media application
	if s.SIPPIN && s.SIPCallers > 0 {
		ip, err := localIPFor(t.SIP)
		if err != nil {
			return nil, fmt.Errorf("load: SIP gateway %s: %w", t.SIP, err)
		}
		var secret []byte
		if t.SIPAppSecret != "" {
			secret = []byte(t.SIPAppSecret)
		}
		if app, err = startPINApp(ctx, chime, ip, "bench-"+runID, secret); err != nil {
			return nil, err
		}
		defer app.close() // after the callers hang up (deferred later)
	}
	for m := range s.Meetings {
		if !s.Shard.Has(m) {
			continue // another bench process runs it
		}
		name := fmt.Sprintf("bench-%s-%d", runID, m)
		cm, err := chime.createMeeting(ctx, name, name)
		if err != nil {
			return nil, fmt.Errorf("load: CreateMeeting: %w", err)
		}
		meetingIDs[m] = cm.MeetingId
		signalingURL := cm.MediaPlacement.SignalingUrl
		placed.add(signalingURL)
		talkers := meetingTalkers(s)
		users := make([]string, s.AttendeesPerMeeting, s.AttendeesPerMeeting+s.SIPCallers)
		for i := range users {
			users[i] = fmt.Sprintf("bench-%d-%d", m, i)
		}
		if app == nil { // with a join token each; in the PIN flow the handler creates them
			for j := range s.SIPCallers {
				users = append(users, fmt.Sprintf("bench-%d-p%d", m, j))
			}
		}
		created, err := chime.createAttendees(ctx, cm.MeetingId, users)
		if err != nil {
			return nil, fmt.Errorf("load: BatchCreateAttendee: %w", err)
		}
		for j, ca := range created[s.AttendeesPerMeeting:] {
			callers = append(callers, newCaller(t, s, m, j, ca.JoinToken))
		}
		for j := range s.SIPCallers {
			if app != nil {
				cl := newCaller(t, s, m, j, "")
				cl.pin = app.add(cm.MeetingId, fmt.Sprintf("bench-%d-p%d", m, j))
				cl.cfg.Number, cl.cfg.Digits = app.number, cl.pin+"#"
				callers = append(callers, cl)
			}
		}
		for i, ca := range created[:s.AttendeesPerMeeting] {
			mb := &member{meeting: m, index: i}
			mb.cfg = attendee.Config{
				SignalingURL: signalingURL, JoinToken: ca.JoinToken,
				Name: fmt.Sprintf("m%d-a%d", m, i), Loopback: !t.AllowRemote, History: time.Second,
				Log: log, Relay: s.Relay,
				Impair: attendee.Impairment{LossPct: s.LossPct, Delay: s.Delay, Jitter: s.Jitter,
					BandwidthKbps: s.BandwidthKbps, Seed: s.Seed + uint64(m)<<20 + uint64(i)},
				Video: attendee.VideoConfig{Codec: s.VideoCodec}, // everyone offers the one codec
			}
			if i < s.Talkers {
				mb.hz = talkerHz(i)
				mb.cfg.ToneHz = mb.hz
				mb.cfg.Bursts = attendee.Bursts{Period: s.BurstPeriod, Length: s.BurstLength,
					Offset: time.Duration(i) * s.BurstPeriod / time.Duration(s.Talkers+s.SIPTalkers)} // phones take the last slots
			}
			if i < s.Measuring {
				mb.cfg.Listen = others(talkers, mb.hz)
			} else {
				mb.cfg.History = -1 // count packets only: no decoding
			}
			if i < s.VideoPublishers {
				mb.cfg.Video.Layers = 3
			}
			members = append(members, mb)
		}
	}
	r.Attendees = len(members)

	// 2. Server sampling for the whole run.
	sctx, stopSampling := context.WithCancel(ctx)
	smp := &sampler{url: t.MetricsURL, start: r.Started}
	var bg sync.WaitGroup
	if t.MetricsURL != "-" {
		bg.Go(func() { smp.run(sctx, time.Second) })
	}
	defer func() { stopSampling(); bg.Wait() }()
	// A cluster spread the meetings over several nodes: sample each.
	var nodeSamplers []*sampler
	if len(placed) > 1 && t.MetricsURL != "-" {
		for _, u := range placed.urls() {
			ns := &sampler{url: u + "/metrics", start: r.Started}
			nodeSamplers = append(nodeSamplers, ns)
			bg.Go(func() { ns.run(sctx, time.Second) })
		}
	}

	// 3. Join at the scenario's rate.
	prog := newProgress(progress, len(members)+len(callers))
	atJoinRate(ctx, len(members), s.JoinRate, func(dctx context.Context, i int) {
		mb := members[i]
		mb.a, mb.err = attendee.Dial(dctx, mb.cfg)
		prog.joined(mb.err == nil)
	})
	defer closeAll(members)
	dialer, err := dialCallers(ctx, t, s, callers, prog)
	if err != nil {
		return nil, err
	}
	defer hangupCallers(dialer, callers)

	// 4. Video subscribers take every other publisher's top layer.
	subscribeVideo(ctx, s, members)

	// 5. Data messages from each meeting's first attendee, every second,
	//    while everyone stays for the scenario's duration.
	end := time.Now().Add(s.Duration)
	tick := time.NewTicker(time.Second)
	for (s.UntilInterrupted || time.Now().Before(end)) && ctx.Err() == nil {
		select {
		case <-ctx.Done():
		case <-tick.C:
		}
		for _, mb := range members {
			if mb.index == 0 && mb.a != nil {
				_ = mb.a.SendData(ctx, dataTopic, []byte(strconv.FormatInt(time.Now().UnixNano(), 10)), 0)
			}
		}
		left := time.Until(end)
		if s.UntilInterrupted {
			left = 0 // until Ctrl-C
		}
		prog.tick(left, lastCPU(smp))
	}
	tick.Stop()
	prog.done()

	// 6. Measure, then leave.
	collect(r, s, members)
	collectSIP(r, s, members, callers, app)
	stopSampling()
	bg.Wait()
	summarizeServer(r, smp)
	for i, u := range placed.urls() {
		if i < len(nodeSamplers) {
			r.Nodes = append(r.Nodes, NodeReport{URL: u, Meetings: placed[u], Server: nodeSamplers[i].summary()})
		}
	}
	r.WallSeconds = time.Since(r.Started).Seconds()
	r.HarnessCPUPercentMean = 100 * (processCPU() - cpu0).Seconds() / r.WallSeconds
	if ctx.Err() != nil && !s.UntilInterrupted { // an interrupt is how such a run ends
		return r, ctx.Err()
	}
	return r, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// lastCPU is the newest server CPU reading, or -1.
func lastCPU(s *sampler) float64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.samples) == 0 {
		return -1
	}
	return s.samples[len(s.samples)-1].CPUPercent
}

// subscribeVideo makes each meeting's video subscribers subscribe to the
// chosen layer (Scenario.VideoLayer) of every publisher but themselves,
// once INDEX lists them.
func subscribeVideo(ctx context.Context, s Scenario, members []*member) {
	if s.VideoPublishers == 0 || s.VideoSubscribers == 0 {
		return
	}
	var wg sync.WaitGroup
	for _, mb := range members {
		if mb.a == nil || mb.index < s.AttendeesPerMeeting-s.VideoSubscribers {
			continue
		}
		want := s.VideoPublishers
		if mb.index < s.VideoPublishers {
			want-- // not itself
		}
		wg.Go(func() {
			deadline := time.Now().Add(20 * time.Second)
			var ids []uint32
			for time.Now().Before(deadline) && ctx.Err() == nil {
				if ids = chooseLayers(mb.a, s.VideoLayer); len(ids) >= want {
					break
				}
				time.Sleep(200 * time.Millisecond)
			}
			if len(ids) == 0 {
				return
			}
			sctx, cancel := context.WithTimeout(ctx, 20*time.Second)
			defer cancel()
			if _, err := mb.a.Subscribe(sctx, ids...); err == nil {
				mb.subAt = time.Now()
			}
		})
	}
	wg.Wait()
}

// chooseLayers returns, for every group (publisher) in the attendee's
// last INDEX, the stream of the layer asked for: "low" the lowest
// max_bitrate_kbps, "mid" the middle one (the lower of two), "high" or
// "auto" the highest (the SFU lowers what it forwards to fit the
// subscriber's bandwidth either way, as for the SDK's
// AllHighestVideoBandwidthPolicy).
func chooseLayers(a *attendee.Attendee, layer string) []uint32 {
	idx := a.Index()
	if idx == nil {
		return nil
	}
	type opt struct{ kbps, id uint32 }
	groups := map[uint32][]opt{}
	for _, src := range idx.GetSources() {
		g := src.GetGroupId()
		groups[g] = append(groups[g], opt{src.GetMaxBitrateKbps(), src.GetStreamId()})
	}
	ids := make([]uint32, 0, len(groups))
	for _, opts := range groups {
		slices.SortFunc(opts, func(x, y opt) int { return cmp.Compare(x.kbps, y.kbps) })
		switch layer {
		case "low":
			ids = append(ids, opts[0].id)
		case "mid":
			ids = append(ids, opts[(len(opts)-1)/2].id)
		default:
			ids = append(ids, opts[len(opts)-1].id)
		}
	}
	return ids
}

func closeAll(members []*member) {
	var wg sync.WaitGroup
	for _, mb := range members {
		if mb.a == nil {
			continue
		}
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := mb.a.Leave(ctx); err != nil {
				_ = mb.a.Close()
			}
		})
	}
	wg.Wait()
}

func deleteMeetings(chime *chimeClient, ids []string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, id := range ids {
		if id != "" {
			_ = chime.deleteMeeting(ctx, id)
		}
	}
}

// atJoinRate runs join(ctx, i) for i in [0, n), one started every
// 1/rate seconds, each in its own goroutine with 30 s to complete, and
// waits for all of them. It stops starting new ones when ctx ends.
func atJoinRate(ctx context.Context, n int, rate float64, join func(ctx context.Context, i int)) {
	var wg sync.WaitGroup
	interval := time.Duration(float64(time.Second) / rate)
	for i := range n {
		if i > 0 {
			select {
			case <-ctx.Done():
			case <-time.After(interval):
			}
		}
		if ctx.Err() != nil {
			break
		}
		wg.Go(func() {
			dctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			defer cancel()
			join(dctx, i)
		})
	}
	wg.Wait()
}
