package sma

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/confab-media/confab/internal/ids"
)

// outcome is how an action ended.
type outcome struct {
	err    *actionError
	digits *string // ReceivedDigits of a digits action
	// recording is RecordAudio's ActionData.RecordingDestination.
	recording *RecordingDestination
	invoke    bool // the handler is invoked even if more actions follow
	hungUp    bool // the action ended the call
}

// exec runs one action on the call.
func (s *Session) exec(a Action) outcome {
	switch a.Type {
	case ActionPause:
		var p pauseParams
		if err := decode(a.Parameters, &p); err != nil {
			return outcome{err: err}
		}
		if _, err := s.leg(p.legParams); err != nil {
			return outcome{err: err}
		}
		d, err := millis(p.DurationInMilliseconds, 0, "DurationInMilliseconds")
		if err != nil {
			return outcome{err: err}
		}
		s.sleep(d)
		return outcome{}
	case ActionPlayAudio:
		var p playParams
		if err := decode(a.Parameters, &p); err != nil {
			return outcome{err: err}
		}
		if err := s.mediaLeg(p.legParams); err != nil {
			return outcome{err: err}
		}
		if !p.AudioSource.valid() {
			return outcome{err: errAudioSource}
		}
		pcm, err := s.rt.Audio.Load(*p.AudioSource)
		if err != nil {
			return outcome{err: errAudioSource}
		}
		_, aerr := s.play(pcm, true) // a key press stops it
		return outcome{err: aerr}
	case ActionPlayAudioAndGetDigits:
		return s.getDigits(a)
	case ActionReceiveDigits:
		lp, spec, err := parseReceiveDigits(a.Parameters)
		if err == nil {
			err = s.mediaLeg(lp)
		}
		if err != nil {
			return outcome{err: err, invoke: true}
		}
		s.matcher = newDigitMatcher(spec, a.Parameters)
		empty := ""
		return outcome{digits: &empty, invoke: true}
	case ActionJoinChimeMeeting:
		return outcome{err: s.join(a), invoke: true}
	case ActionModifyAttendees:
		return outcome{err: s.modify(a), invoke: true}
	case ActionHangup:
		return s.hangup(a)
	case ActionRecordAudio:
		return s.record(a)
	}
	return outcome{err: invalidParam("Action type " + truncate(a.Type, 64) + " is not supported.")}
}

// leg resolves an action's CallId or ParticipantTag to LEG-A or LEG-B
// (only while bridged); neither given is LEG-A.
func (s *Session) leg(p legParams) (string, *actionError) {
	if p.CallID != "" {
		for i, q := range s.details.Participants {
			if q.CallID == p.CallID && q.Status == StatusConnected && (i == 0 || i == s.legB) {
				return q.ParticipantTag, nil
			}
		}
		return "", errLeg
	}
	switch p.ParticipantTag {
	case "", LegA:
		return LegA, nil
	case LegB:
		if s.legB >= 0 {
			return LegB, nil
		}
	}
	return "", errLeg
}

// mediaLeg resolves the leg of an action that plays to or hears the
// caller: LEG-A only.
func (s *Session) mediaLeg(p legParams) *actionError {
	tag, err := s.leg(p)
	if err != nil {
		return err
	}
	if tag != LegA {
		return &actionError{Type: ErrSystemException, Message: "Audio actions on LEG-B are not supported."}
	}
	return nil
}

// getDigits runs PlayAudioAndGetDigits: play the prompt (a key press cuts
// it short), collect digits until MaxNumberOfDigits, a terminator, or a
// pause of InBetweenDigitsDurationInMilliseconds after a digit
// (RepeatDurationInMilliseconds after the prompt if none came); input of
// fewer than MinNumberOfDigits, or that does not match InputDigitsRegex,
// plays the failure prompt and starts over, Repeat attempts in all.
func (s *Session) getDigits(a Action) outcome {
	lp, spec, err := parseGetDigits(a.Parameters)
	if err == nil {
		err = s.mediaLeg(lp)
	}
	if err != nil {
		return outcome{err: err, invoke: true}
	}
	prompt, lerr := s.rt.Audio.Load(spec.prompt)
	if lerr != nil {
		return outcome{err: errAudioSource, invoke: true}
	}
	failure, lerr := s.rt.Audio.Load(spec.failure)
	if lerr != nil {
		return outcome{err: errAudioSource, invoke: true}
	}
	for attempt := 0; attempt < spec.repeat; attempt++ {
		got, ok, perr := s.collect(prompt, spec)
		if perr != nil {
			return outcome{err: perr, invoke: true}
		}
		if !ok {
			return outcome{hungUp: true} // the call ended
		}
		if valid := len(got) >= spec.min && (spec.re == nil || spec.re.MatchString(got)); valid {
			return outcome{digits: &got, invoke: true}
		}
		if alive, perr := s.play(failure, false); perr != nil {
			return outcome{err: perr, invoke: true}
		} else if !alive {
			return outcome{hungUp: true}
		}
	}
	return outcome{err: errDigits, invoke: true}
}

// collect plays the prompt and gathers one attempt's digits; ok is false
// when the call ended.
func (s *Session) collect(prompt []int16, spec getDigitsSpec) (got string, ok bool, err *actionError) {
	done, perr := s.call.Play(prompt)
	if perr != nil {
		return "", true, playError(perr)
	}
	var digits strings.Builder
	var timer <-chan time.Time
	for {
		ev, d := s.wait(done, timer, true)
		switch ev {
		case waitEnded:
			s.call.StopPlay()
			return "", false, nil
		case waitDone:
			done = nil
			if digits.Len() == 0 {
				timer = s.rt.Clock.After(spec.repeatD)
			}
		case waitTimer:
			return digits.String(), true, nil
		case waitDigit:
			if done != nil {
				s.call.StopPlay()
				done = nil
			}
			if strings.ContainsRune(spec.terminators, d) {
				return digits.String(), true, nil
			}
			digits.WriteRune(d)
			if digits.Len() >= spec.max {
				return digits.String(), true, nil
			}
			timer = s.rt.Clock.After(spec.between)
		}
	}
}

// join runs JoinChimeMeeting on LEG-A: the caller becomes the token's
// attendee, and LEG-B joins the call details.
func (s *Session) join(a Action) *actionError {
	var p joinParams
	if err := decode(a.Parameters, &p); err != nil {
		return err
	}
	tag, err := s.leg(p.legParams)
	if err != nil {
		return err
	}
	if tag != LegA {
		return errLeg
	}
	if s.bridge != nil {
		return errNotBridged // "You can't run this action on a bridged call."
	}
	if p.JoinToken == "" || len(p.JoinToken) > 4096 {
		return errJoinToken
	}
	b, jerr := s.call.Join(p.JoinToken)
	if jerr != nil {
		s.log.Info("sma: JoinChimeMeeting failed", "err", jerr)
		if errors.Is(jerr, ErrJoinToken) {
			return errJoinToken
		}
		return errSystem
	}
	s.bridge = b
	s.details.Participants = append(s.details.Participants, Participant{
		CallID: ids.New(), ParticipantTag: LegB, To: "SMA", From: s.bridgeFrom, Direction: "Outbound",
		StartTimeInMilliseconds: millisNow(s.rt.Clock), Status: StatusConnected,
	})
	s.legB = len(s.details.Participants) - 1
	return nil
}

// modify runs ModifyChimeMeetingAttendees: Mute or Unmute the bridged
// caller's own attendee (the only one a call may change here).
func (s *Session) modify(a Action) *actionError {
	var p modifyParams
	if err := decode(a.Parameters, &p); err != nil {
		return err
	}
	if p.Operation != "Mute" && p.Operation != "Unmute" {
		return errOperation
	}
	if p.MeetingID == "" {
		return errMeetingID
	}
	if len(p.AttendeeList) == 0 || len(p.AttendeeList) > maxAttendees {
		return errAttendeeList
	}
	if p.CallID != "" || p.ParticipantTag != "" {
		if _, err := s.leg(p.legParams); err != nil {
			return err
		}
	}
	if s.bridge == nil {
		return invalidParam("Call is not connected to Chime Meeting.")
	}
	if p.MeetingID != s.bridge.MeetingID() {
		return errMeetingID
	}
	for _, id := range p.AttendeeList {
		if id != s.bridge.AttendeeID() {
			return errNotMember
		}
	}
	s.bridge.SetMuted(p.Operation == "Mute")
	return nil
}

// hangup runs Hangup: LEG-A ends the call with the code; LEG-B leaves
// the meeting and the call goes on.
func (s *Session) hangup(a Action) outcome {
	var p hangupParams
	if err := decode(a.Parameters, &p); err != nil {
		return outcome{err: err}
	}
	tag, err := s.leg(p.legParams)
	if err != nil {
		return outcome{err: err}
	}
	code, err := hangupCode(p.SipResponseCode)
	if err != nil {
		return outcome{err: err}
	}
	if tag == LegB {
		s.dropBridge()
		return outcome{}
	}
	s.call.Hangup(code)
	return outcome{hungUp: true}
}

// record runs RecordAudio: the caller's audio until DurationInSeconds, a
// RecordingTerminators digit or the end of the call, kept as an 8 kHz WAV
// in the bucket (Runtime.Recordings).
func (s *Session) record(a Action) outcome {
	lp, spec, err := parseRecord(a.Parameters)
	if err == nil {
		err = s.mediaLeg(lp)
	}
	if err != nil {
		return outcome{err: err, invoke: true}
	}
	if s.rt.Recordings == nil || !s.rt.Recordings.ok(spec.bucket) {
		return outcome{err: &actionError{Type: ErrInvalidActionParameter, Message: "RecordingDestination parameter value is invalid."}, invoke: true}
	}
	if rerr := s.call.StartRecording(spec.duration); rerr != nil {
		return outcome{err: errSystem, invoke: true}
	}
	timer := s.rt.Clock.After(spec.duration)
	for stop := false; !stop; {
		ev, d := s.wait(nil, timer, true)
		switch ev {
		case waitTimer, waitEnded:
			stop = true
		case waitDigit:
			stop = strings.ContainsRune(spec.terminators, d)
		}
	}
	pcm := s.call.StopRecording()
	s.recordings++
	key := fmt.Sprintf("%s%s-%d.wav", spec.keyPrefix, s.details.Participants[0].CallID, s.recordings)
	if werr := s.rt.Recordings.Put(spec.bucket, key, EncodeWAV(pcm, 8000)); werr != nil {
		s.log.Warn("sma: recording not stored", "bucket", spec.bucket, "key", key, "err", werr)
		return outcome{err: errSystem, invoke: true}
	}
	return outcome{invoke: true, recording: &RecordingDestination{Type: "S3", BucketName: spec.bucket, Key: key}}
}
