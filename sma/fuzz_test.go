package sma

import (
	"encoding/json"
	"testing"
)

// FuzzParseResponse: any handler body parses or fails, never panics, and
// every action's parameters decode or give an actionError.
func FuzzParseResponse(f *testing.F) {
	f.Add([]byte(`{"SchemaVersion":"1.0","Actions":[{"Type":"PlayAudioAndGetDigits","Parameters":{"AudioSource":{"Type":"S3","BucketName":"b","Key":"k"},"FailureAudioSource":{"Type":"S3","BucketName":"b","Key":"f"},"MinNumberOfDigits":3,"MaxNumberOfDigits":"5","TerminatorDigits":["#"],"Repeat":3,"RepeatDurationInMilliseconds":10000}}]}`))
	f.Add([]byte(`{"Actions":[{"Type":"ReceiveDigits","Parameters":{"InputDigitsRegex":"^\\d{2}#$","InBetweenDigitsDurationInMilliseconds":1000,"FlushDigitsDurationInMilliseconds":10000}}]}`))
	f.Add([]byte(`{"Actions":[{"Type":"Hangup","Parameters":{"SipResponseCode":"486"}},{"Type":"Pause","Parameters":{"DurationInMilliseconds":"3000"}}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := parseResponse(b)
		if err != nil {
			return
		}
		for _, a := range r.Actions {
			_, _, _ = parseGetDigits(a.Parameters)
			_, _, _ = parseReceiveDigits(a.Parameters)
			var h hangupParams
			if decode(a.Parameters, &h) == nil {
				_, _ = hangupCode(h.SipResponseCode)
			}
			var p pauseParams
			if decode(a.Parameters, &p) == nil {
				_, _ = millis(p.DurationInMilliseconds, 0, "d")
			}
		}
		_, _ = json.Marshal(r)
	})
}

// FuzzDecodeWAV: any file decodes or fails, never panics.
func FuzzDecodeWAV(f *testing.F) {
	f.Add(EncodeWAV([]int16{1, 2, 3}, 8000))
	f.Add(EncodeWAV(make([]int16, 64), 16000))
	f.Add([]byte("RIFF\x00\x00\x00\x00WAVEdata\xff\xff\xff\xff"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if pcm, err := decodeWAV(b); err == nil && len(pcm) > len(b) {
			t.Fatalf("%d samples from %d bytes", len(pcm), len(b))
		}
	})
}
