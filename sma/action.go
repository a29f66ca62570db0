package sma

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Action types.
const (
	ActionPause                 = "Pause"
	ActionPlayAudio             = "PlayAudio"
	ActionReceiveDigits         = "ReceiveDigits"
	ActionPlayAudioAndGetDigits = "PlayAudioAndGetDigits"
	ActionModifyAttendees       = "ModifyChimeMeetingAttendees"
	ActionRecordAudio           = "RecordAudio"
	ActionJoinChimeMeeting      = "JoinChimeMeeting"
	ActionHangup                = "Hangup"
)

// Error types of ACTION_FAILED, as the guide lists them.
const (
	ErrInvalidAudioSource     = "InvalidAudioSource"
	ErrInvalidActionParameter = "InvalidActionParameter"
	ErrSystemException        = "SystemException"
	// ErrInvalidDigitsReceived: PlayAudioAndGetDigits collected no valid
	// input in all its attempts (the guide names no type for this).
	ErrInvalidDigitsReceived = "InvalidDigitsReceived"
)

// actionError is why an action failed: an ACTION_FAILED event's
// ErrorType and ErrorMessage.
type actionError struct {
	Type, Message string
}

func (e *actionError) Error() string { return e.Type + ": " + e.Message }

func invalidParam(msg string) *actionError {
	return &actionError{Type: ErrInvalidActionParameter, Message: msg}
}

var (
	errLeg          = invalidParam("CallId or ParticipantTag parameter for action is invalid.")
	errAudioSource  = &actionError{Type: ErrInvalidAudioSource, Message: "Audio Source parameter value is invalid."}
	errSystem       = &actionError{Type: ErrSystemException, Message: "System error while running action."}
	errDigits       = &actionError{Type: ErrInvalidDigitsReceived, Message: "Invalid digits received."}
	errJoinToken    = invalidParam("JoinToken parameter value is invalid.")
	errNotBridged   = invalidParam("Invalid action on the call.")
	errOperation    = invalidParam("The ModifyChimeMeetingAttendees Operation parameter value is invalid")
	errMeetingID    = invalidParam("Meeting ID parameter value is invalid.")
	errAttendeeList = invalidParam("Attendee List parameter value is invalid.")
	errNotMember    = invalidParam("One or more attendees are not part of this meeting. All attendees must be part of this meeting.")
)

// Limits on what a handler may ask for.
const (
	maxDuration   = time.Hour // Pause, digit timers
	maxDigits     = 128       // MaxNumberOfDigits, and the digits ReceiveDigits keeps
	maxRepeat     = 10
	maxRegexBytes = 256
	maxAttendees  = 100 // ModifyChimeMeetingAttendees.AttendeeList
)

// flexInt is an integer parameter the guide shows both as a JSON number
// and as a string ("DurationInMilliseconds": "3000").
type flexInt struct {
	set bool
	v   int64
}

func (f *flexInt) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if string(b) == "null" {
		return nil
	}
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		b = []byte(strings.TrimSpace(s))
	}
	v, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil {
		return fmt.Errorf("not an integer: %q", b)
	}
	f.set, f.v = true, v
	return nil
}

// legParams picks the leg an action runs on.
type legParams struct {
	CallID         string `json:"CallId"`
	ParticipantTag string `json:"ParticipantTag"`
}

// AudioSource is where a prompt is read from.
type AudioSource struct {
	Type       string `json:"Type"`
	BucketName string `json:"BucketName"`
	Key        string `json:"Key"`
}

func (a *AudioSource) valid() bool {
	return a != nil && a.Type == "S3" && a.BucketName != "" && a.Key != ""
}

type pauseParams struct {
	legParams
	DurationInMilliseconds flexInt
}

type playParams struct {
	legParams
	AudioSource *AudioSource
}

type receiveDigitsParams struct {
	legParams
	InputDigitsRegex                      string
	InBetweenDigitsDurationInMilliseconds flexInt
	FlushDigitsDurationInMilliseconds     flexInt
}

type getDigitsParams struct {
	legParams
	InputDigitsRegex                      string
	AudioSource                           *AudioSource
	FailureAudioSource                    *AudioSource
	MinNumberOfDigits                     flexInt
	MaxNumberOfDigits                     flexInt
	TerminatorDigits                      []string
	InBetweenDigitsDurationInMilliseconds flexInt
	Repeat                                flexInt
	RepeatDurationInMilliseconds          flexInt
}

type modifyParams struct {
	legParams
	Operation    string
	MeetingID    string `json:"MeetingId"`
	AttendeeList []string
}

type joinParams struct {
	legParams
	JoinToken string
}

type hangupParams struct {
	legParams
	SipResponseCode flexInt
}

// decode unmarshals an action's parameters; malformed JSON or a wrong
// type is InvalidActionParameter.
func decode(raw json.RawMessage, v any) *actionError {
	if len(raw) == 0 {
		raw = []byte("{}")
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return invalidParam("Parameters are invalid: " + truncate(err.Error(), 200))
	}
	return nil
}

// millis turns a positive millisecond parameter into a duration; def
// applies when it is absent (0: required).
func millis(f flexInt, def time.Duration, name string) (time.Duration, *actionError) {
	if !f.set {
		if def > 0 {
			return def, nil
		}
		return 0, invalidParam(name + " parameter value is invalid.")
	}
	d := time.Duration(f.v) * time.Millisecond
	if f.v <= 0 || d > maxDuration {
		return 0, invalidParam(name + " parameter value is invalid.")
	}
	return d, nil
}

// digitsRegex compiles an InputDigitsRegex (RE2 syntax, bounded size).
func digitsRegex(s string) (*regexp.Regexp, *actionError) {
	if len(s) > maxRegexBytes {
		return nil, invalidParam("InputDigitsRegex parameter value is invalid.")
	}
	re, err := regexp.Compile(s)
	if err != nil {
		return nil, invalidParam("InputDigitsRegex parameter value is invalid.")
	}
	return re, nil
}

// isDigit reports whether r is a DTMF symbol the guide allows in
// terminators: 0–9, * and #.
func isDigit(r rune) bool { return (r >= '0' && r <= '9') || r == '*' || r == '#' }

// getDigitsSpec is a validated PlayAudioAndGetDigits.
type getDigitsSpec struct {
	prompt, failure  AudioSource
	re               *regexp.Regexp // nil: any digits
	min, max         int
	terminators      string
	between, repeatD time.Duration
	repeat           int
}

func parseGetDigits(raw json.RawMessage) (legParams, getDigitsSpec, *actionError) {
	var p getDigitsParams
	if err := decode(raw, &p); err != nil {
		return p.legParams, getDigitsSpec{}, err
	}
	s := getDigitsSpec{min: 0, max: maxDigits, terminators: "#", repeat: 1}
	if !p.AudioSource.valid() || !p.FailureAudioSource.valid() {
		return p.legParams, s, errAudioSource
	}
	s.prompt, s.failure = *p.AudioSource, *p.FailureAudioSource
	if p.InputDigitsRegex != "" {
		re, err := digitsRegex(p.InputDigitsRegex)
		if err != nil {
			return p.legParams, s, err
		}
		s.re = re
	}
	if p.MinNumberOfDigits.set {
		if p.MinNumberOfDigits.v < 0 || p.MinNumberOfDigits.v > maxDigits {
			return p.legParams, s, invalidParam("MinNumberOfDigits parameter value is invalid.")
		}
		s.min = int(p.MinNumberOfDigits.v)
	}
	if p.MaxNumberOfDigits.set {
		if p.MaxNumberOfDigits.v < int64(s.min) || p.MaxNumberOfDigits.v > maxDigits || p.MaxNumberOfDigits.v <= 0 {
			return p.legParams, s, invalidParam("MaxNumberOfDigits parameter value is invalid.")
		}
		s.max = int(p.MaxNumberOfDigits.v)
	}
	if p.TerminatorDigits != nil {
		var b strings.Builder
		for _, t := range p.TerminatorDigits {
			if len(t) != 1 || !isDigit(rune(t[0])) {
				return p.legParams, s, invalidParam("TerminatorDigits parameter value is invalid.")
			}
			b.WriteString(t)
		}
		s.terminators = b.String()
	}
	if p.Repeat.set {
		if p.Repeat.v <= 0 || p.Repeat.v > maxRepeat {
			return p.legParams, s, invalidParam("Repeat parameter value is invalid.")
		}
		s.repeat = int(p.Repeat.v)
	}
	var err *actionError
	if s.repeatD, err = millis(p.RepeatDurationInMilliseconds, 0, "RepeatDurationInMilliseconds"); err != nil {
		return p.legParams, s, err
	}
	if s.between, err = millis(p.InBetweenDigitsDurationInMilliseconds, s.repeatD, "InBetweenDigitsDurationInMilliseconds"); err != nil {
		return p.legParams, s, err
	}
	return p.legParams, s, nil
}

// receiveDigitsSpec is a validated ReceiveDigits.
type receiveDigitsSpec struct {
	re             *regexp.Regexp
	between, flush time.Duration
}

func parseReceiveDigits(raw json.RawMessage) (legParams, receiveDigitsSpec, *actionError) {
	var p receiveDigitsParams
	if err := decode(raw, &p); err != nil {
		return p.legParams, receiveDigitsSpec{}, err
	}
	var s receiveDigitsSpec
	if p.InputDigitsRegex == "" {
		return p.legParams, s, invalidParam("InputDigitsRegex parameter value is invalid.")
	}
	var err *actionError
	if s.re, err = digitsRegex(p.InputDigitsRegex); err != nil {
		return p.legParams, s, err
	}
	if s.between, err = millis(p.InBetweenDigitsDurationInMilliseconds, 0, "InBetweenDigitsDurationInMilliseconds"); err != nil {
		return p.legParams, s, err
	}
	if s.flush, err = millis(p.FlushDigitsDurationInMilliseconds, 0, "FlushDigitsDurationInMilliseconds"); err != nil {
		return p.legParams, s, err
	}
	return p.legParams, s, nil
}

// hangupCode validates Hangup's SipResponseCode: 0 (normal), 480 or 486.
func hangupCode(f flexInt) (int, *actionError) {
	if !f.set {
		return 0, nil
	}
	switch f.v {
	case 0, 480, 486:
		return int(f.v), nil
	}
	return 0, invalidParam("SipResponseCode parameter value is invalid.")
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

type recordParams struct {
	legParams
	DurationInSeconds    flexInt
	RecordingTerminators []string
	RecordingDestination *struct {
		Type       string
		BucketName string
		Prefix     string
	}
}

// recordSpec is a validated RecordAudio.
type recordSpec struct {
	duration          time.Duration
	terminators       string
	bucket, keyPrefix string
}

// maxRecording bounds RecordAudio's DurationInSeconds.
const maxRecording = 10 * time.Minute

func parseRecord(raw json.RawMessage) (legParams, recordSpec, *actionError) {
	var p recordParams
	if err := decode(raw, &p); err != nil {
		return p.legParams, recordSpec{}, err
	}
	var s recordSpec
	if !p.DurationInSeconds.set || p.DurationInSeconds.v <= 0 || time.Duration(p.DurationInSeconds.v)*time.Second > maxRecording {
		return p.legParams, s, invalidParam("DurationInSeconds parameter value is invalid.")
	}
	s.duration = time.Duration(p.DurationInSeconds.v) * time.Second
	for _, t := range p.RecordingTerminators {
		if len(t) != 1 || !isDigit(rune(t[0])) {
			return p.legParams, s, invalidParam("RecordingTerminators parameter value is invalid.")
		}
		s.terminators += t
	}
	d := p.RecordingDestination
	if d == nil || d.Type != "S3" || d.BucketName == "" || len(d.Prefix) > 512 {
		return p.legParams, s, invalidParam("RecordingDestination parameter value is invalid.")
	}
	s.bucket, s.keyPrefix = d.BucketName, d.Prefix
	return p.legParams, s, nil
}
