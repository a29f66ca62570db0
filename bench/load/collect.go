package load

import (
	"fmt"
	"strconv"
	"time"

	"github.com/confab-media/confab/bench/attendee"
)

// m2eMaxLag bounds a burst-to-onset match: staggered bursts are further
// apart than this, so an onset is never charged to another talker.
const m2eMaxLag = 400 * time.Millisecond

// collect fills the report from every member's observations.
func collect(r *Report, s Scenario, members []*member) {
	now := time.Now()
	var join, m2e, data, loss, jitter []float64
	var vs videoSamples
	meetings := make([]MeetingReport, s.Meetings)
	meetingLoss := make([][]float64, s.Meetings)
	meetingM2E := make([][]float64, s.Meetings)
	byMeeting := make([][]*member, s.Meetings)
	for _, mb := range members {
		byMeeting[mb.meeting] = append(byMeeting[mb.meeting], mb)
		meetings[mb.meeting].Attendees++
		if mb.err != nil {
			if len(r.JoinErrors) < 20 {
				r.JoinErrors = append(r.JoinErrors, fmt.Sprintf("%s: %v", mb.cfg.Name, mb.err))
			}
			continue
		}
		if mb.a == nil {
			continue
		}
		r.Joined++
		meetings[mb.meeting].Joined++
		r.Network.add(mb.a)
		opened, first := mb.a.JoinTimes()
		st := mb.a.Stats()
		if !first.IsZero() {
			r.ListenersWithAudio++
			join = append(join, ms(first.Sub(opened)))
			expected := st.LastArrival.Sub(first).Seconds()*50 + 1
			l := max(0, 100*(1-float64(st.Packets)/expected))
			loss = append(loss, l)
			meetingLoss[mb.meeting] = append(meetingLoss[mb.meeting], l)
			jitter = append(jitter, st.JitterMs)
			r.PerAttendee = append(r.PerAttendee, AttendeeRow{Name: mb.cfg.Name, Meeting: mb.meeting, Path: mb.a.Path(),
				JoinMs: ms(first.Sub(opened)), Packets: st.Packets, LossPct: l, JitterMs: st.JitterMs})
		}
		for _, d := range mb.a.DataMessages() {
			if d.Topic != dataTopic {
				continue
			}
			if sent, err := strconv.ParseInt(string(d.Data), 10, 64); err == nil {
				data = append(data, ms(d.Received.Sub(time.Unix(0, sent))))
			}
		}
		if !mb.subAt.IsZero() {
			for _, v := range mb.a.VideoTracks() {
				if v.StreamID != 0 {
					vs.add(&r.Video, v, now.Sub(mb.subAt))
				}
			}
		}
	}
	// Mouth-to-ear: every listener against every other talker of its meeting.
	for m, group := range byMeeting {
		for _, talker := range group {
			if talker.a == nil || talker.hz == 0 {
				continue
			}
			bursts := talker.a.Bursts()
			for _, listener := range group {
				if listener == talker || listener.a == nil || listener.index >= s.Measuring {
					continue
				}
				r.MouthToEarPairsExpected++
				_, heard := listener.a.JoinTimes()
				lags := attendee.MouthToEar(burstsFrom(bursts, heard), listener.a.Onsets(talker.hz), m2eMaxLag)
				if len(lags) > 0 {
					r.MouthToEarPairs++
				}
				for _, l := range lags {
					m2e = append(m2e, ms(l))
					meetingM2E[m] = append(meetingM2E[m], ms(l))
				}
			}
		}
	}
	r.Meetings = nil
	for m := range meetings {
		if !s.Shard.Has(m) {
			continue
		}
		meetings[m].MeetingID = fmt.Sprintf("meeting %d", m)
		meetings[m].LossPctMean = mean(meetingLoss[m])
		meetings[m].MouthToEarP50Ms = newDist(meetingM2E[m]).P50
		r.Meetings = append(r.Meetings, meetings[m])
	}
	r.JoinLatencyMs, r.MouthToEarMs, r.DataLatencyMs = newDist(join), newDist(m2e), newDist(data)
	r.AudioLossPct, r.AudioJitterMs = newDist(loss), newDist(jitter)
	mine := s.Shard.meetings(s.Meetings)
	r.Video.Publishers = mine * s.VideoPublishers
	r.Video.Subscribers = mine * s.VideoSubscribers
	vs.summarize(&r.Video)
	if s.Shard.On() {
		r.Raw = &RawSamples{JoinMs: join, MouthToEarMs: m2e, DataMs: data, LossPct: loss, JitterMs: jitter, VideoFPS: vs.fps,
			VideoKbps: vs.kbps, VideoMaxGapMs: vs.gaps}
	}
}

// videoSamples gathers the received video streams' per-stream figures.
type videoSamples struct{ fps, kbps, gaps []float64 }

// add counts one received stream, subscribed for the time since, into v
// and the samples; a freeze going on now counts.
func (vs *videoSamples) add(v *VideoReport, st attendee.VideoStats, since time.Duration) {
	st = st.Until(time.Now())
	v.Streams++
	if st.Frames > 0 {
		v.StreamsWithFrames++
	}
	if len(st.SSRCs) > 1 {
		v.SSRCChanges++
	}
	vs.fps = append(vs.fps, float64(st.Frames)/since.Seconds())
	vs.kbps = append(vs.kbps, float64(st.Bytes)*8/1000/since.Seconds())
	vs.gaps = append(vs.gaps, ms(st.MaxFrameGap))
	v.Freezes += int(st.Freezes)
	v.FrozenSeconds += st.FrozenFor.Seconds()
	v.LayerSwitches += int(st.SizeChanges)
	v.addKeyframeSize(st)
}

// summarize puts the samples' distributions into v.
func (vs *videoSamples) summarize(v *VideoReport) {
	v.FPS, v.BitrateKbps, v.MaxFrameGapMs = newDist(vs.fps), newDist(vs.kbps), newDist(vs.gaps)
}

func summarizeServer(r *Report, s *sampler) { r.Server = s.summary() }

// summary is what the sampler saw of one server process.
func (s *sampler) summary() ServerReport {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := summarizeSamples(s.samples, s.err)
	for series, end := range s.countersEnd {
		if d := end - s.countersStart[series]; d != 0 {
			if out.Counters == nil {
				out.Counters = map[string]float64{}
			}
			out.Counters[series] = d
		}
	}
	return out
}

// summarizeSamples is a server's CPU and memory over a run from its
// samples; err (when there are none) says why there are none.
func summarizeSamples(samples []Sample, err error) ServerReport {
	var out ServerReport
	if err != nil && len(samples) == 0 {
		out.Error = err.Error()
		return out
	}
	out.Samples = samples
	var sum float64
	for _, x := range samples {
		sum += x.CPUPercent
		out.CPUPercentMax = max(out.CPUPercentMax, x.CPUPercent)
		out.RSSMaxMB = max(out.RSSMaxMB, x.RSSMB)
	}
	if n := len(samples); n > 0 {
		out.CPUPercentMean = sum / float64(n)
	}
	return out
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func mean(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	var s float64
	for _, x := range v {
		s += x
	}
	return s / float64(len(v))
}
