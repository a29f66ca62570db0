package sfu

import (
	"sort"
	"time"

	"github.com/confab-media/confab/signaling/protocol"
)

// budgetShare is the part of a subscriber's estimated bandwidth (REMB)
// spent on video; the rest is headroom for audio, RTCP and estimate error.
const budgetShare = 0.85

// congestedLoss is the loss fraction (of 256, as receiver reports carry
// it) from which a subscriber counts as congested: 5 %.
const congestedLoss = 13

// fitLayers fits the subscriber's forwarded layers into its bandwidth
// while it is congested (its receiver reports show loss): each down track,
// content shares first and then cameras in mid order, gets the highest layer at or below the one it asked for
// whose measured bitrate fits what is left of its REMB estimate. A track
// that cannot carry even the lowest layer is paused by the server and the
// client told so (PAUSE with the group id, which the SDK shows as a poor
// connection); it resumes (RESUME) when the lowest layer fits again.
//
// A receive-side estimate only grows with what it receives, and the SFU
// sends no probing padding, so an estimate alone never lowers a layer:
// without loss every track gets the layer it asked for.
func (p *Peer) fitLayers(now time.Time) {
	downs := byFitPriority(p.downTracks())
	congested := false
	for _, d := range downs {
		if d.lost.Load() >= congestedLoss {
			congested = true
		}
	}
	budget := -1.0
	if r := p.remb.Load(); r > 0 && congested {
		budget = float64(r) * budgetShare
	}
	var paused, resumed []uint32
	for _, d := range downs {
		d.mu.Lock()
		if d.want == nil {
			d.mu.Unlock()
			continue
		}
		fit := d.want
		if budget >= 0 {
			fit = fitLayer(d.want, budget)
		}
		if fit != nil && budget >= 0 {
			budget -= float64(fit.avgBps.Load())
		}
		switch {
		case fit == nil && !d.serverPaused:
			d.serverPaused = true
			paused = append(paused, d.want.src.group)
		case fit != nil && d.serverPaused:
			d.serverPaused = false
			resumed = append(resumed, d.want.src.group)
		}
		if fit != d.fit {
			d.fit = fit
			d.retargetLocked(now)
		} else if fit != nil && d.fwd.Current() == 0 {
			d.retargetLocked(now) // the layer had not sent when bound
		}
		d.mu.Unlock()
	}
	p.sendPauseResume(protocol.SdkSignalFrame_PAUSE, paused, now)
	p.sendPauseResume(protocol.SdkSignalFrame_RESUME, resumed, now)
}

// byFitPriority orders down tracks for fitLayers: a content share before
// any camera (a shared screen is what a meeting is looking at, and the
// Chime SDK gives it its own bandwidth ahead of video tiles), then by mid.
func byFitPriority(downs []*downTrack) []*downTrack {
	content := make(map[*downTrack]bool, len(downs))
	for _, d := range downs {
		d.mu.Lock()
		content[d] = d.want != nil && d.want.src.content
		d.mu.Unlock()
	}
	sort.Slice(downs, func(i, j int) bool {
		if content[downs[i]] != content[downs[j]] {
			return content[downs[i]]
		}
		return downs[i].mid < downs[j].mid
	})
	return downs
}

// fitLayer returns the highest active layer of want's source, not above
// want, whose bitrate fits budget; nil if none does.
func fitLayer(want *layer, budget float64) *layer {
	layers := want.src.layers
	top := 0
	for i, l := range layers {
		if l == want {
			top = i
		}
	}
	for i := top; i >= 0; i-- {
		l := layers[i]
		if l.active.Load() && float64(l.avgBps.Load()) <= budget {
			return l
		}
	}
	return nil
}

func (p *Peer) sendPauseResume(t protocol.SdkSignalFrame_Type, groups []uint32, now time.Time) {
	if len(groups) == 0 {
		return
	}
	f := protocol.NewFrame(t, now)
	f.Pause = &protocol.SdkPauseResumeFrame{GroupIds: groups}
	_ = p.sess.Send(f)
}
