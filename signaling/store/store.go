// Package store keeps Confab's control-plane state durable: meetings,
// attendees (with their join-token nonces), idempotency tokens and tags.
//
// The Store interface is deliberately small: the meeting service keeps the
// live model in memory and hands the store ordered mutations (Submit), which
// the store makes durable and acknowledges. Submitting under the caller's own
// lock and waiting outside it keeps per-meeting order without serialising
// unrelated requests behind disk syncs. Bolt is the embedded default; Memory
// serves unit tests; a Redis store for several nodes can come later behind the
// same interface.
package store

import (
	"context"
	"errors"
	"time"

	"github.com/confab-media/confab/signaling/events"
)

// ErrClosed is returned by Submit after Close.
var ErrClosed = errors.New("store: closed")

// Store persists meeting and attendee records.
type Store interface {
	// Load returns every stored meeting and attendee, for rebuilding the live
	// model at start-up. Attendees whose meeting is missing are not returned.
	Load(ctx context.Context) ([]MeetingRecord, []AttendeeRecord, error)
	// Submit queues ops to be applied atomically, after every op submitted
	// before it. The returned channel yields exactly one value: nil once the
	// ops are durable, or the error that kept them from being written.
	Submit(ops ...Op) <-chan error
	// Close flushes queued ops, stops the writer and releases the files.
	Close() error
}

// MeetingRecord is the durable part of a meeting. Field names follow the
// Chime API; nested option objects are kept as the API gave them.
type MeetingRecord struct {
	MeetingID                 string                      `json:"meetingId"`
	ExternalMeetingID         string                      `json:"externalMeetingId,omitempty"`
	MeetingHostID             string                      `json:"meetingHostId,omitempty"`
	MediaRegion               string                      `json:"mediaRegion"`
	MediaGroup                string                      `json:"mediaGroup"`
	ClientRequestToken        string                      `json:"clientRequestToken"`
	PrimaryMeetingID          string                      `json:"primaryMeetingId,omitempty"`
	TenantIDs                 []string                    `json:"tenantIds,omitempty"`
	MediaPlacementNetworkType string                      `json:"mediaPlacementNetworkType,omitempty"`
	Features                  *MeetingFeatures            `json:"features,omitempty"`
	Notifications             *NotificationsConfiguration `json:"notifications,omitempty"`
	Tags                      []Tag                       `json:"tags,omitempty"`
	CreatedAt                 time.Time                   `json:"createdAt"`
}

// MeetingFeatures mirrors the API's MeetingFeaturesConfiguration.
type MeetingFeatures struct {
	Audio    *AudioFeatures    `json:"Audio,omitempty"`
	Video    *VideoFeatures    `json:"Video,omitempty"`
	Content  *ContentFeatures  `json:"Content,omitempty"`
	Attendee *AttendeeFeatures `json:"Attendee,omitempty"`
}

// AudioFeatures is MeetingFeatures.Audio.
type AudioFeatures struct {
	EchoReduction string `json:"EchoReduction,omitempty"`
}

// VideoFeatures is MeetingFeatures.Video.
type VideoFeatures struct {
	MaxResolution string `json:"MaxResolution,omitempty"`
}

// ContentFeatures is MeetingFeatures.Content.
type ContentFeatures struct {
	MaxResolution string `json:"MaxResolution,omitempty"`
}

// AttendeeFeatures is MeetingFeatures.Attendee.
type AttendeeFeatures struct {
	MaxCount *int `json:"MaxCount,omitempty"`
}

// NotificationsConfiguration is where a meeting's events go.
type NotificationsConfiguration struct {
	LambdaFunctionArn string `json:"LambdaFunctionArn,omitempty"`
	SnsTopicArn       string `json:"SnsTopicArn,omitempty"`
	SqsQueueArn       string `json:"SqsQueueArn,omitempty"`
}

// Tag is a resource tag.
type Tag struct {
	Key   string `json:"Key"`
	Value string `json:"Value"`
}

// Capabilities are an attendee's media rights: SendReceive, Send, Receive or None.
type Capabilities struct {
	Audio   string `json:"Audio"`
	Video   string `json:"Video"`
	Content string `json:"Content"`
}

// AttendeeRecord is the durable part of an attendee.
type AttendeeRecord struct {
	MeetingID      string `json:"meetingId"`
	AttendeeID     string `json:"attendeeId"`
	ExternalUserID string `json:"externalUserId"`
	// Seq orders attendees within their meeting by creation (ListAttendees).
	Seq          uint64       `json:"seq"`
	Capabilities Capabilities `json:"capabilities"`
	// TokenNonce is the random half of the attendee's join token; the other
	// half is an HMAC over it, so the token itself is never stored.
	TokenNonce []byte    `json:"tokenNonce"`
	CreatedAt  time.Time `json:"createdAt"`
}

type opKind uint8

const (
	opPutMeeting opKind = iota + 1
	opDeleteMeeting
	opPutAttendee
	opDeleteAttendee
	opEvent
	opPutObject
	opDeleteObject
)

// Op is one mutation. Build it with PutMeeting, DeleteMeeting, PutAttendee or
// DeleteAttendee.
type Op struct {
	kind       opKind
	meeting    MeetingRecord
	attendee   AttendeeRecord
	meetingID  string
	attendeeID string
	event      events.Event
	object     Object // opPutObject: the whole; opDeleteObject: Kind and ID
}

// Object is a small configuration record that is neither a meeting nor an
// attendee (a SIP media application, a SIP rule): Data is its JSON, kept
// per Kind under ID.
type Object struct {
	Kind, ID string
	Data     []byte
}

// PutObject stores (or replaces) an object.
func PutObject(o Object) Op { return Op{kind: opPutObject, object: o} }

// DeleteObject removes an object.
func DeleteObject(kind, id string) Op {
	return Op{kind: opDeleteObject, object: Object{Kind: kind, ID: id}}
}

// Objects is implemented by the stores that keep Objects (all of
// Confab's): LoadObjects returns those of one kind.
type Objects interface {
	LoadObjects(ctx context.Context, kind string) ([]Object, error)
}

// PutMeeting stores (or replaces) a meeting record.
func PutMeeting(m MeetingRecord) Op {
	return Op{kind: opPutMeeting, meeting: m, meetingID: m.MeetingID}
}

// DeleteMeeting removes a meeting and all of its attendees.
func DeleteMeeting(meetingID string) Op { return Op{kind: opDeleteMeeting, meetingID: meetingID} }

// PutAttendee stores (or replaces) an attendee record.
func PutAttendee(a AttendeeRecord) Op {
	return Op{kind: opPutAttendee, attendee: a, meetingID: a.MeetingID, attendeeID: a.AttendeeID}
}

// DeleteAttendee removes one attendee.
func DeleteAttendee(meetingID, attendeeID string) Op {
	return Op{kind: opDeleteAttendee, meetingID: meetingID, attendeeID: attendeeID}
}

// Event records e in the store's event outbox (see Outbox) in the same
// transaction as the submission's other ops, so that a change is never
// durable without the event that announces it. A store without an outbox
// ignores it (the caller then publishes the event for delivery itself; see
// HasOutbox).
func Event(e events.Event) Op { return Op{kind: opEvent, event: e} }

// HasOutbox reports whether st writes Event ops into a delivery outbox.
func HasOutbox(st Store) bool {
	o, ok := st.(interface{ HasOutbox() bool })
	return ok && o.HasOutbox()
}
