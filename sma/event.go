package sma

import "encoding/json"

// SchemaVersion is the version of every event and response.
const SchemaVersion = "1.0"

// Invocation event types.
const (
	EventNewInboundCall   = "NEW_INBOUND_CALL"
	EventActionSuccessful = "ACTION_SUCCESSFUL"
	EventActionFailed     = "ACTION_FAILED"
	EventDigitsReceived   = "DIGITS_RECEIVED"
	EventHangup           = "HANGUP"
	// Calls the application places (CreateSipMediaApplicationCall).
	EventNewOutboundCall = "NEW_OUTBOUND_CALL"
	EventCallAnswered    = "CALL_ANSWERED"
	// UpdateSipMediaApplicationCall's arguments, to a call in progress.
	EventCallUpdateRequested = "CALL_UPDATE_REQUESTED"
)

// Participant tags and statuses.
const (
	LegA            = "LEG-A"
	LegB            = "LEG-B"
	StatusConnected = "Connected"
	StatusGone      = "Disconnected"
)

// Event is one invocation of an application's handler.
type Event struct {
	SchemaVersion       string      `json:"SchemaVersion"`
	Sequence            int         `json:"Sequence"`
	InvocationEventType string      `json:"InvocationEventType"`
	ActionData          *ActionData `json:"ActionData,omitempty"`
	CallDetails         CallDetails `json:"CallDetails"`
}

// ActionData is the action an event reports on: its type and parameters
// as the handler sent them, and what came of it.
type ActionData struct {
	Type           string          `json:"Type"`
	Parameters     json.RawMessage `json:"Parameters,omitempty"`
	ReceivedDigits *string         `json:"ReceivedDigits,omitempty"`
	// RecordingDestination is where RecordAudio put the recording.
	RecordingDestination *RecordingDestination `json:"RecordingDestination,omitempty"`
	ErrorType            string                `json:"ErrorType,omitempty"`
	ErrorMessage         string                `json:"ErrorMessage,omitempty"`
}

// CallDetails describes the call; Participants are its legs.
type CallDetails struct {
	TransactionID    string        `json:"TransactionId"`
	AwsAccountID     string        `json:"AwsAccountId"`
	AwsRegion        string        `json:"AwsRegion"`
	SipRuleID        string        `json:"SipRuleId"`
	SipApplicationID string        `json:"SipApplicationId"`
	Participants     []Participant `json:"Participants"`
	// ArgumentsMap is CreateSipMediaApplicationCall's, on an outbound call.
	ArgumentsMap map[string]string `json:"ArgumentsMap,omitempty"`
}

// Participant is one leg of the call: LEG-A the caller, LEG-B the leg
// into a meeting (JoinChimeMeeting).
type Participant struct {
	CallID                  string `json:"CallId"`
	ParticipantTag          string `json:"ParticipantTag"`
	To                      string `json:"To"`
	From                    string `json:"From"`
	Direction               string `json:"Direction"`
	StartTimeInMilliseconds string `json:"StartTimeInMilliseconds"`
	Status                  string `json:"Status"`
}

// Response is a handler's answer. Actions nil (no "Actions" key) keeps the
// actions still to run; an empty list stops them.
type Response struct {
	SchemaVersion string   `json:"SchemaVersion"`
	Actions       []Action `json:"Actions"`
}

// Action is one action of a response: its type and raw parameters, which
// are decoded and validated when it runs (action.go).
type Action struct {
	Type       string          `json:"Type"`
	Parameters json.RawMessage `json:"Parameters"`
}

// RecordingDestination names a stored recording.
type RecordingDestination struct {
	Type       string `json:"Type"`
	BucketName string `json:"BucketName"`
	Key        string `json:"Key,omitempty"`
}
