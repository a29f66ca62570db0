// Package sma runs SIP media applications: the Chime SDK's way to control
// a phone call with a handler that answers call events with lists of
// actions ("play this prompt, collect a PIN, join that meeting, hang up").
// The contract is the Chime developer guide's "Building Lambda functions
// for SIP media applications" (../shared/seeds/001_…txt): invocation
// events NEW_INBOUND_CALL, ACTION_SUCCESSFUL, ACTION_FAILED,
// DIGITS_RECEIVED and HANGUP with CallDetails and ActionData in the
// guide's JSON shapes, and the actions Pause, PlayAudio, ReceiveDigits,
// PlayAudioAndGetDigits, ModifyChimeMeetingAttendees, RecordAudio,
// JoinChimeMeeting and Hangup with the parameters and error types it lists.
//
// # Pieces
//
//   - Rules (rules.go) map a dialled E.164 number or a Request-URI host
//     to an Application; allowlists of source CIDRs (global or per rule:
//     403) and caps on calls per application and per source (486) are
//     applied first (admit.go).
//   - An Application's handler is an HTTP endpoint or a Lambda function
//     (invoker.go). HTTP: the event is POSTed as JSON, signed like
//     Confab's webhooks (X-Confab-Timestamp, X-Confab-Signature), and the
//     body of a 2xx is the action list. Lambda: invoked RequestResponse
//     through the notifications endpoints that serve its ARN. Each
//     invocation waits 5 s; a failure is retried once, and then the call
//     ends with 480, as the guide says.
//   - Audio sources (audio.go) are {"Type":"S3","BucketName","Key"}; they
//     are read from an S3-compatible store (s3.go, aws-sdk-go-v2; re-read
//     only when the ETag changed) or a local directory
//     (<dir>/<bucket>/<key>), and must be RIFF/WAVE 16-bit PCM mono at 8
//     or 16 kHz, at most 50 MB (InvalidAudioSource otherwise).
//   - RecordAudio keeps the caller's audio as an 8 kHz WAV in a bucket,
//     key <Prefix><CallId>-<n>.wav (recordings.go): in S3, or in the
//     directory <dir>/<bucket>, which must exist.
//   - A Session (session.go) is one call's runtime: one goroutine, owned
//     by the call, that invokes the handler and runs its actions on the
//     call through the Call interface (the SIP gateway implements it).
//   - Calls an application places (outbound.go): NEW_OUTBOUND_CALL,
//     CALL_ANSWERED, and CALL_UPDATE_REQUESTED for the arguments of
//     UpdateSipMediaApplicationCall (any call in progress).

// # Semantics
//
// A new action list replaces the one running, after the current action
// ends; a response without "Actions" keeps the remaining ones; an empty
// list stops running actions (the call stays up: a bridged call talks in
// its meeting). The handler is invoked after the last action of a list
// succeeds, and always after PlayAudioAndGetDigits, ReceiveDigits,
// ModifyChimeMeetingAttendees and JoinChimeMeeting (success or failure).
// A ReceiveDigits action listens in the background for the rest of the
// call (until another replaces it) and raises DIGITS_RECEIVED when the
// collected digits match its regular expression. When the caller hangs
// up, or the application's Hangup ends the call, HANGUP is sent and its
// answer ignored.
//
// Where the guide names no error type — PlayAudioAndGetDigits that
// collected no valid input after all its attempts — the event carries
// ErrorType "InvalidDigitsReceived".
//
// The handler is trusted with what the operator gave it (its URL or ARN);
// what it answers is not: every parameter is checked (action.go), and
// bounded (response size, actions, regexes, durations, prompt sizes).
package sma
