// Package events defines Confab's meeting events and the bus that carries them.
//
// Every state change of a meeting or attendee becomes an Event shaped exactly
// like the Amazon EventBridge event Chime emits ("Chime Meeting State Change",
// source "aws.chime"), so consumers written for Chime parse Confab's events
// unchanged. See
// https://docs.aws.amazon.com/chime-sdk/latest/dg/using-events.html.
//
// Producers call Bus.Publish; the bus hands each event to every Sink. Delivery
// to webhooks, SQS and SNS is a Sink of its own (a later package); the LogSink
// here writes events to the structured log.
package events

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"time"
)

// Type is a Chime meeting event type, such as "chime:MeetingStarted".
type Type string

// The event types the control plane emits today. The media layer adds the
// join/leave/video ones as it learns about connections.
const (
	MeetingStarted              Type = "chime:MeetingStarted"
	MeetingEnded                Type = "chime:MeetingEnded"
	AttendeeAdded               Type = "chime:AttendeeAdded"
	AttendeeDeleted             Type = "chime:AttendeeDeleted"
	AttendeeAuthorized          Type = "chime:AttendeeAuthorized"
	AttendeeJoined              Type = "chime:AttendeeJoined"
	AttendeeLeft                Type = "chime:AttendeeLeft"
	AttendeeDropped             Type = "chime:AttendeeDropped"
	AttendeeCapabilitiesUpdated Type = "chime:AttendeeCapabilitiesUpdated"
	AttendeeVideoStarted        Type = "chime:AttendeeVideoStarted"
	AttendeeVideoStopped        Type = "chime:AttendeeVideoStopped"
	AttendeeContentJoined       Type = "chime:AttendeeContentJoined"
	AttendeeContentLeft         Type = "chime:AttendeeContentLeft"
	AttendeeContentDropped      Type = "chime:AttendeeContentDropped"
	AttendeeContentVideoStarted Type = "chime:AttendeeContentVideoStarted"
	AttendeeContentVideoStopped Type = "chime:AttendeeContentVideoStopped"
)

// Envelope constants of every Chime meeting event.
const (
	DetailType = "Chime Meeting State Change"
	Source     = "aws.chime"
)

// Detail is the "detail" object of a Chime meeting event. Attendee fields are
// empty (and omitted) on meeting-level events.
type Detail struct {
	Version              string        `json:"version"`
	EventType            Type          `json:"eventType"`
	Timestamp            int64         `json:"timestamp"` // epoch milliseconds
	MeetingID            string        `json:"meetingId"`
	AttendeeID           string        `json:"attendeeId,omitempty"`
	ExternalUserID       string        `json:"externalUserId,omitempty"`
	NetworkType          string        `json:"networkType,omitempty"`
	ExternalMeetingID    string        `json:"externalMeetingId"`
	MediaRegion          string        `json:"mediaRegion"`
	Success              string        `json:"success,omitempty"`
	AttendeeCapabilities *Capabilities `json:"attendeeCapabilities,omitempty"`
}

// Capabilities is the lower-case capability object carried by
// chime:AttendeeCapabilitiesUpdated.
type Capabilities struct {
	Audio   string `json:"audio"`
	Video   string `json:"video"`
	Content string `json:"content"`
}

// Event is the EventBridge envelope around a Detail.
type Event struct {
	Version    string   `json:"version"`
	ID         string   `json:"id"`
	DetailType string   `json:"detail-type"`
	Source     string   `json:"source"`
	Account    string   `json:"account"`
	Time       string   `json:"time"` // RFC 3339, UTC, seconds precision
	Region     string   `json:"region"`
	Resources  []string `json:"resources"`
	Detail     Detail   `json:"detail"`

	// Outboxed is set on an event that was written to the durable delivery
	// outbox in the same transaction as the change it reports (see
	// store.Outbox); a sink that keeps such an outbox must not queue it
	// again. Never serialised.
	Outboxed bool `json:"-"`
}

// New builds an event of type t at time now for the given account and region;
// the caller fills the meeting and attendee fields of the returned Detail.
func New(t Type, now time.Time, account, region string) Event {
	return Event{
		Version:    "0",
		ID:         newID(),
		DetailType: DetailType,
		Source:     Source,
		Account:    account,
		Time:       now.UTC().Format(time.RFC3339),
		Region:     region,
		Resources:  []string{},
		Detail: Detail{
			Version:     "0",
			EventType:   t,
			Timestamp:   now.UnixMilli(),
			MediaRegion: region,
		},
	}
}

// JSON encodes the event as the exact bytes a sink delivers.
func (e Event) JSON() []byte {
	b, err := json.Marshal(e)
	if err != nil { // only plain strings and numbers: cannot fail
		panic(fmt.Sprintf("events: marshal: %v", err))
	}
	return b
}

// newID returns a random RFC 4122 version 4 UUID string.
func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
