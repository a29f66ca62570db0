package load

import (
	"context"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/confab-media/confab/bench/attendee"
	"github.com/confab-media/confab/bench/phone"
)

// caller is one synthetic phone caller of a run (bench/phone).
type caller struct {
	meeting int
	index   int
	pin     string  // in the PIN flow: what it keys (pin.go)
	hz      float64 // its tone if it talks, else 0
	cfg     phone.Config
	c       *phone.Call
	err     error
}

// SIPReport covers the phone callers.
type SIPReport struct {
	Callers  int      `json:"callers"`
	Answered int      `json:"answered"`
	Errors   []string `json:"errors,omitempty"`
	Codec    string   `json:"codec"`
	// InviteToAnswerMs is INVITE sent → 200 OK; InviteToAudioMs INVITE →
	// the first mixed audio packet.
	InviteToAnswerMs Dist `json:"inviteToAnswerMs"`
	InviteToAudioMs  Dist `json:"inviteToAudioMs"`
	LossPct          Dist `json:"lossPct"`
	JitterMs         Dist `json:"jitterMs"`
	// FromPhoneMs is mouth-to-ear from a talking caller to the WebRTC
	// listeners; ToPhoneMs from the WebRTC talkers to the callers.
	FromPhoneMs Dist `json:"fromPhoneMs"`
	ToPhoneMs   Dist `json:"toPhoneMs"`
	// Bursts heard: of the tone bursts sent while both ends were in the
	// meeting (from the listener's first mixed audio to m2eMaxLag before
	// the end), how many the listener's onset detector matched — phones
	// hearing WebRTC talkers (To) and WebRTC listeners hearing phones
	// (From). A caller that joins late is expected fewer bursts, not
	// counted as missing them.
	ToPhoneBursts        int `json:"toPhoneBursts,omitempty"`
	ToPhoneBurstsHeard   int `json:"toPhoneBurstsHeard,omitempty"`
	FromPhoneBursts      int `json:"fromPhoneBursts,omitempty"`
	FromPhoneBurstsHeard int `json:"fromPhoneBurstsHeard,omitempty"`
	// In the PIN flow (pin.go): Number is the SIP media application's
	// number, JoinedByPIN the callers it joined to their meeting;
	// DigitsToJoinMs is the PIN's terminating "#" keyed (its first event
	// packet) → the handler's ACTION_SUCCESSFUL of JoinChimeMeeting (the
	// digits matched, ReceiveDigits' 50 ms wait for more, the handler's
	// CreateAttendee, the join), InviteToJoinMs INVITE → the same,
	// CreateAttendeeMs the handler's CreateAttendee alone.
	PIN              bool   `json:"pin,omitempty"`
	Number           string `json:"number,omitempty"`
	JoinedByPIN      int    `json:"joinedByPIN,omitempty"`
	DigitsToJoinMs   Dist   `json:"digitsToJoinMs,omitzero"`
	InviteToJoinMs   Dist   `json:"inviteToJoinMs,omitzero"`
	CreateAttendeeMs Dist   `json:"createAttendeeMs,omitzero"`
}

// phoneTalkerHz is the tone of meeting caller j: after the WebRTC
// talkers' frequencies, so that no two talkers of a meeting share one.
func phoneTalkerHz(s Scenario, j int) float64 { return talkerHz(s.Talkers + j) }

// meetingTalkers lists the tones of a meeting's talkers, WebRTC and phone.
func meetingTalkers(s Scenario) []float64 {
	var hz []float64
	for i := range s.Talkers {
		hz = append(hz, talkerHz(i))
	}
	for j := range s.SIPTalkers {
		hz = append(hz, phoneTalkerHz(s, j))
	}
	return hz
}

// others returns the tones in all but own.
func others(all []float64, own float64) []float64 {
	var out []float64
	for _, hz := range all {
		if hz != own {
			out = append(out, hz)
		}
	}
	return out
}

// newCaller plans meeting m's caller j with its join token (empty in the
// PIN flow, where Run gives it the application's number and a PIN).
func newCaller(t Target, s Scenario, m, j int, token string) *caller {
	cl := &caller{meeting: m, index: j}
	cl.cfg = phone.Config{Gateway: t.SIP, Number: t.SIPNumber, JoinToken: token,
		Name: fmt.Sprintf("m%d-p%d", m, j), Codec: s.SIPCodec, SRTP: s.SIPSRTP,
		From: fmt.Sprintf("+1%010d", 2_000_000_000+m*1000+j)} // E.164, one per caller
	if j < s.SIPTalkers {
		cl.hz = phoneTalkerHz(s, j)
		cl.cfg.ToneHz = cl.hz
		n := s.Talkers + s.SIPTalkers
		cl.cfg.Bursts = attendee.Bursts{Period: s.BurstPeriod, Length: s.BurstLength,
			Offset: time.Duration(s.Talkers+j) * s.BurstPeriod / time.Duration(n)}
	}
	cl.cfg.Listen = others(meetingTalkers(s), cl.hz)
	return cl
}

// localIPFor is this host's address on the route to addr, for the
// callers' SDP.
func localIPFor(addr string) (string, error) {
	c, err := net.Dial("udp4", addr)
	if err != nil {
		return "", err
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).IP.String(), nil
}

// dialCallers places every caller at the scenario's join rate through one
// user agent, which it returns (nil without callers).
func dialCallers(ctx context.Context, t Target, s Scenario, callers []*caller, prog *progress) (*phone.Dialer, error) {
	if len(callers) == 0 {
		return nil, nil
	}
	ip, err := localIPFor(t.SIP)
	if err != nil {
		return nil, fmt.Errorf("load: SIP gateway %s: %w", t.SIP, err)
	}
	d, err := phone.NewDialer(net.JoinHostPort(ip, "0"), nil)
	if err != nil {
		return nil, err
	}
	atJoinRate(ctx, len(callers), s.JoinRate, func(dctx context.Context, i int) {
		cl := callers[i]
		cl.c, cl.err = d.Dial(dctx, cl.cfg)
		prog.joined(cl.err == nil)
	})
	return d, nil
}

// hangupCallers sends BYE on every call and closes the user agent.
func hangupCallers(d *phone.Dialer, callers []*caller) {
	if d == nil {
		return
	}
	var wg sync.WaitGroup
	for _, cl := range callers {
		if cl.c == nil {
			continue
		}
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = cl.c.Hangup(ctx)
		})
	}
	wg.Wait()
	d.Close()
}

// collectSIP fills the report's SIP section: the callers' timings and
// audio, and mouth-to-ear between them and the WebRTC attendees; app is
// the PIN flow's application, or nil.
func collectSIP(r *Report, s Scenario, members []*member, callers []*caller, app *pinApp) {
	if len(callers) == 0 {
		return
	}
	rep := &r.SIP
	rep.Codec = s.SIPCodec
	if s.SIPSRTP {
		rep.Codec += ", SRTP"
	}
	var answer, audio, loss, jitter, from, to, digitsJoin, inviteJoin, attendeeMs []float64
	if app != nil {
		rep.PIN, rep.Number = true, app.number
		if err := app.failures(); err != nil {
			rep.Errors = append(rep.Errors, "handler: "+err.Error())
		}
	}
	end := time.Now().Add(-m2eMaxLag)
	for _, cl := range callers {
		rep.Callers++
		if cl.err != nil || cl.c == nil {
			if len(rep.Errors) < 20 {
				rep.Errors = append(rep.Errors, fmt.Sprintf("%s: %v", cl.cfg.Name, cl.err))
			}
			continue
		}
		rep.Answered++
		st := cl.c.Stats()
		answer = append(answer, ms(st.Answered.Sub(st.Invited)))
		if app != nil {
			if joined, createMs := app.joined(cl.pin); !joined.IsZero() {
				rep.JoinedByPIN++
				inviteJoin = append(inviteJoin, ms(joined.Sub(st.Invited)))
				attendeeMs = append(attendeeMs, createMs)
				if !st.LastKeyAt.IsZero() {
					digitsJoin = append(digitsJoin, ms(joined.Sub(st.LastKeyAt)))
				}
			}
		}
		if !st.FirstAudio.IsZero() {
			audio = append(audio, ms(st.FirstAudio.Sub(st.Invited)))
			expected := st.LastArrival.Sub(st.FirstAudio).Seconds()*50 + 1
			loss = append(loss, max(0, 100*(1-float64(st.Packets)/expected)))
			jitter = append(jitter, st.JitterMs)
		}
		// To this caller from every other talker of its meeting.
		for _, mb := range members {
			if mb.meeting == cl.meeting && mb.a != nil && mb.hz != 0 {
				lags := attendee.MouthToEar(burstsFrom(mb.a.Bursts(), st.FirstAudio), cl.c.Onsets(mb.hz), m2eMaxLag)
				for _, l := range lags {
					to = append(to, ms(l))
				}
				if sent := burstsBetween(mb.a.Bursts(), st.FirstAudio, end); sent > 0 {
					rep.ToPhoneBursts += sent
					rep.ToPhoneBurstsHeard += min(sent, len(lags))
				}
			}
		}
		// From this caller to the WebRTC listeners that measure.
		if cl.hz == 0 {
			continue
		}
		bursts := cl.c.Bursts()
		for _, mb := range members {
			if mb.meeting == cl.meeting && mb.a != nil && mb.index < s.Measuring {
				_, heardMix := mb.a.JoinTimes()
				if st.FirstAudio.IsZero() || heardMix.IsZero() {
					continue
				}
				lags := attendee.MouthToEar(burstsFrom(bursts, later(st.FirstAudio, heardMix)), mb.a.Onsets(cl.hz), m2eMaxLag)
				for _, l := range lags {
					from = append(from, ms(l))
				}
				if sent := burstsBetween(bursts, later(st.FirstAudio, heardMix), end); sent > 0 {
					rep.FromPhoneBursts += sent
					rep.FromPhoneBurstsHeard += min(sent, len(lags))
				}
			}
		}
	}
	if r.Raw != nil { // a shard's report: keep the samples for a merge
		r.Raw.SIPAnswerMs, r.Raw.SIPAudioMs, r.Raw.SIPLossPct = answer, audio, loss
		r.Raw.SIPJitterMs, r.Raw.SIPFromPhone, r.Raw.SIPToPhone = jitter, from, to
		r.Raw.SIPDigitsToJoin, r.Raw.SIPInviteToJoin, r.Raw.SIPCreateAttendee = digitsJoin, inviteJoin, attendeeMs
	}
	rep.DigitsToJoinMs, rep.InviteToJoinMs, rep.CreateAttendeeMs = newDist(digitsJoin), newDist(inviteJoin), newDist(attendeeMs)
	rep.InviteToAnswerMs, rep.InviteToAudioMs = newDist(answer), newDist(audio)
	rep.LossPct, rep.JitterMs = newDist(loss), newDist(jitter)
	rep.FromPhoneMs, rep.ToPhoneMs = newDist(from), newDist(to)
}

// burstsFrom returns the bursts sent at or after since (bursts are in
// time order): a listener that came into the meeting during a burst
// hears the rest of it begin at once, which is no mouth-to-ear latency;
// the bursts before it are left out of the match. A zero since leaves
// none.
func burstsFrom(bursts []time.Time, since time.Time) []time.Time {
	if since.IsZero() {
		return nil
	}
	for i, b := range bursts {
		if !b.Before(since) {
			return bursts[i:]
		}
	}
	return nil
}

// burstsBetween counts the bursts sent in [from, to]; none if from is
// zero (the listener never heard the mix).
func burstsBetween(bursts []time.Time, from, to time.Time) int {
	if from.IsZero() {
		return 0
	}
	n := 0
	for _, b := range bursts {
		if !b.Before(from) && !b.After(to) {
			n++
		}
	}
	return n
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
