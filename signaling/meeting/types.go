package meeting

import "github.com/confab-media/confab/signaling/store"

// The request and response shapes of the Chime SDK Meetings API (apiVersion
// 2021-07-15), field for field: https://docs.aws.amazon.com/chime-sdk/latest/APIReference/API_Operations_Amazon_Chime_SDK_Meetings.html
// The API layer decodes JSON straight into the inputs and encodes the views.

// Re-exported record shapes, so callers need not import store.
type (
	MeetingFeatures            = store.MeetingFeatures
	NotificationsConfiguration = store.NotificationsConfiguration
	Tag                        = store.Tag
	Capabilities               = store.Capabilities
)

// CreateMeetingInput is the body of CreateMeeting (and, with Attendees, of
// CreateMeetingWithAttendees).
type CreateMeetingInput struct {
	ClientRequestToken         string
	MediaRegion                string
	ExternalMeetingId          string
	MeetingHostId              string
	NotificationsConfiguration *NotificationsConfiguration
	MeetingFeatures            *MeetingFeatures
	PrimaryMeetingId           string
	TenantIds                  []string
	Tags                       []Tag
	MediaPlacementNetworkType  string
	// Attendees is only for CreateMeetingWithAttendees.
	Attendees []CreateAttendeeInput
}

// CreateAttendeeInput is the body of CreateAttendee and one item of the batch
// operations.
type CreateAttendeeInput struct {
	ExternalUserId string
	Capabilities   *Capabilities
}

// MediaPlacement tells clients where to connect. SignalingUrl is the only URL
// the browser SDK contacts; AudioHostUrl being non-empty turns audio on.
type MediaPlacement struct {
	AudioHostUrl      string
	AudioFallbackUrl  string
	SignalingUrl      string
	TurnControlUrl    string
	ScreenDataUrl     string
	ScreenViewingUrl  string
	ScreenSharingUrl  string
	EventIngestionUrl string `json:",omitempty"`
}

// Meeting is the API's Meeting object.
type Meeting struct {
	MeetingId         string
	MeetingHostId     string `json:",omitempty"`
	ExternalMeetingId string `json:",omitempty"`
	MediaRegion       string
	MediaPlacement    MediaPlacement
	MeetingFeatures   *MeetingFeatures `json:",omitempty"`
	PrimaryMeetingId  string           `json:",omitempty"`
	TenantIds         []string
	MeetingArn        string
}

// Attendee is the API's Attendee object.
type Attendee struct {
	ExternalUserId string
	AttendeeId     string
	JoinToken      string
	Capabilities   Capabilities
}

// CreateAttendeeError is one failed item of a batch create.
type CreateAttendeeError struct {
	ExternalUserId string
	ErrorCode      string
	ErrorMessage   string
}

// Identity is who a verified join token speaks for.
type Identity struct {
	MeetingID         string
	AttendeeID        string // "<id>#content" for a content-share token
	ExternalUserID    string // "<external id>#content" likewise
	Content           bool
	Capabilities      Capabilities
	ExternalMeetingID string
	MediaRegion       string
	MediaGroup        string
	// MaxResolution is the meeting's Video and Content MaxResolution
	// (MeetingFeatures, Chime's defaults applied): "None" turns that
	// media off for everyone (the SFU refuses cameras or content shares).
	MaxResolution struct{ Video, Content string }
}
