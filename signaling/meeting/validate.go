package meeting

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Input validation, with the constraints of the Chime SDK Meetings service
// model (https://docs.aws.amazon.com/chime-sdk/latest/APIReference/API_Operations_Amazon_Chime_SDK_Meetings.html).
// Each failure names the member the way the API does. Every string is also
// required to be valid UTF-8 without control characters other than those a
// pattern names: NUL, CR and LF never reach the store, the log or an event.

func checkLen(field, v string, lo, hi int) error {
	if !utf8.ValidString(v) {
		return invalid(field, "must be valid UTF-8")
	}
	if n := utf8.RuneCountInString(v); n < lo || n > hi {
		if v == "" && lo > 0 {
			return invalid(field, "a value is required (%d to %d characters)", lo, hi)
		}
		return invalid(field, "must be %d to %d characters long, got %d", lo, hi, n)
	}
	return nil
}

func checkNotReserved(field, v string) error {
	if len(v) >= 4 && strings.EqualFold(v[:4], "aws:") {
		return invalid(field, "values beginning with \"aws:\" are reserved")
	}
	return nil
}

func checkChars(field, v string, ok func(r rune) bool, describe string) error {
	for _, r := range v {
		if !ok(r) {
			return invalid(field, "must match %s; %q is not allowed", describe, r)
		}
	}
	return nil
}

// isIDChar is the class of ExternalUserId, ExternalMeetingId and
// MeetingHostId: [-_&@+=,(){}\[\]\/«».:|'"#a-zA-Z0-9À-ÿ\s]*. The model's \s
// is taken as space and tab only: CR and LF (header and log injection) are
// refused like every other control character.
func isIDChar(r rune) bool {
	return isAlnum(r) || r >= 'À' && r <= 'ÿ' || r == ' ' || r == '\t' ||
		strings.ContainsRune("-_&@+=,(){}[]/«».:|'\"#", r)
}

// idPattern describes isIDChar in error messages.
const idPattern = `[-_&@+=,(){}\[\]\/«».:|'"#a-zA-Z0-9À-ÿ\s]*`

// isTagChar is the class of tag keys and values: [\p{L}\p{Z}\p{N}_.:/=+\-@]*.
func isTagChar(r rune) bool {
	return unicode.IsLetter(r) || unicode.In(r, unicode.Z) || unicode.IsNumber(r) || strings.ContainsRune("_.:/=+-@", r)
}

const tagPattern = `[\p{L}\p{Z}\p{N}_.:/=+\-@]*`

// checkID validates ExternalUserId, ExternalMeetingId or MeetingHostId:
// 2 to 64 characters of idPattern, not starting with "aws:".
func checkID(field, v string) error {
	if err := checkLen(field, v, 2, 64); err != nil {
		return err
	}
	if err := checkChars(field, v, isIDChar, idPattern); err != nil {
		return err
	}
	return checkNotReserved(field, v)
}

func isAlnum(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9'
}

func isTokenChar(r rune) bool  { return isAlnum(r) || r == '-' || r == '_' }
func isTenantChar(r rune) bool { return isTokenChar(r) || strings.ContainsRune("!@#$", r) }
func isArnChar(r rune) bool    { return isAlnum(r) || strings.ContainsRune("/:-_.", r) }

func validateCreateMeeting(in *CreateMeetingInput, withAttendees bool) error {
	if err := checkLen("ClientRequestToken", in.ClientRequestToken, 2, 64); err != nil {
		return err
	}
	if err := checkChars("ClientRequestToken", in.ClientRequestToken, isTokenChar, "[-_a-zA-Z0-9]*"); err != nil {
		return err
	}
	if err := checkLen("MediaRegion", in.MediaRegion, 2, 64); err != nil {
		return err
	}
	if err := checkID("ExternalMeetingId", in.ExternalMeetingId); err != nil {
		return err
	}
	if in.MeetingHostId != "" {
		if err := checkID("MeetingHostId", in.MeetingHostId); err != nil {
			return err
		}
	}
	if in.PrimaryMeetingId != "" && !IsGUID(in.PrimaryMeetingId) {
		return invalid("PrimaryMeetingId", "must be a meeting ID (GUID)")
	}
	if err := validateTenantIDs(in.TenantIds); err != nil {
		return err
	}
	if in.Tags != nil {
		if len(in.Tags) < 1 || len(in.Tags) > 50 {
			return invalid("Tags", "must have 1 to 50 items, got %d", len(in.Tags))
		}
		if err := validateTags(in.Tags); err != nil {
			return err
		}
	}
	if n := in.NotificationsConfiguration; n != nil {
		for _, f := range []struct{ field, arn string }{
			{"NotificationsConfiguration.LambdaFunctionArn", n.LambdaFunctionArn},
			{"NotificationsConfiguration.SnsTopicArn", n.SnsTopicArn},
			{"NotificationsConfiguration.SqsQueueArn", n.SqsQueueArn},
		} {
			if f.arn == "" {
				continue
			}
			if err := validateARN(f.field, f.arn, 1024); err != nil {
				return err
			}
		}
	}
	switch in.MediaPlacementNetworkType {
	case "", "Ipv4Only", "DualStack":
	default:
		return invalid("MediaPlacementNetworkType", "must be Ipv4Only or DualStack")
	}
	if withAttendees {
		if len(in.Attendees) < 1 || len(in.Attendees) > 20 {
			return invalid("Attendees", "must have 1 to 20 items, got %d", len(in.Attendees))
		}
	} else if in.Attendees != nil {
		return invalid("Attendees", "is only accepted by CreateMeetingWithAttendees")
	}
	return nil
}

func validateARN(field, arn string, max int) error {
	if err := checkLen(field, arn, 1, max); err != nil {
		return err
	}
	if !strings.HasPrefix(arn, "arn") || len(arn) < 4 {
		return invalid(field, "must be an ARN (arn:...)")
	}
	return checkChars(field, arn[3:], isArnChar, `^arn[\/\:\-\_\.a-zA-Z0-9]+$`)
}

func validateTenantIDs(ids []string) error {
	if ids == nil {
		return nil
	}
	if len(ids) < 1 || len(ids) > 5 {
		return invalid("TenantIds", "must have 1 to 5 items, got %d", len(ids))
	}
	for _, id := range ids {
		if err := checkLen("TenantIds", id, 2, 256); err != nil {
			return err
		}
		if err := checkChars("TenantIds", id, isTenantChar, "[-_!@#$a-zA-Z0-9]*"); err != nil {
			return err
		}
		run := 1
		for i := 1; i < len(id); i++ {
			if id[i] == id[i-1] {
				run++
				if run >= 4 {
					return invalid("TenantIds", "must not repeat a character 4 or more times in a row")
				}
			} else {
				run = 1
			}
		}
	}
	return nil
}

func validateTags(tags []Tag) error {
	for _, t := range tags {
		if err := checkLen("Tags.Key", t.Key, 1, 128); err != nil {
			return err
		}
		if err := checkChars("Tags.Key", t.Key, isTagChar, "^(?!aws:)"+tagPattern+"$"); err != nil {
			return err
		}
		if err := checkNotReserved("Tags.Key", t.Key); err != nil {
			return err
		}
		if err := checkLen("Tags.Value", t.Value, 0, 256); err != nil {
			return err
		}
		if err := checkChars("Tags.Value", t.Value, isTagChar, "^"+tagPattern+"$"); err != nil {
			return err
		}
	}
	return nil
}

// effectiveFeatures is the meeting's features with Chime's defaults applied.
type effectiveFeatures struct {
	videoMax, contentMax string
	maxCount             int // 0: no per-meeting cap given
}

func featuresOf(f *MeetingFeatures) effectiveFeatures {
	e := effectiveFeatures{videoMax: "HD", contentMax: "FHD"}
	if f == nil {
		return e
	}
	if f.Video != nil && f.Video.MaxResolution != "" {
		e.videoMax = f.Video.MaxResolution
	}
	if f.Content != nil && f.Content.MaxResolution != "" {
		e.contentMax = f.Content.MaxResolution
	}
	if f.Attendee != nil && f.Attendee.MaxCount != nil {
		e.maxCount = *f.Attendee.MaxCount
	}
	return e
}

// validateFeatures checks MeetingFeatures; highRes is the attendee cap that
// FHD video or UHD content imposes (25 by default).
func validateFeatures(f *MeetingFeatures, perMeeting, highRes int) error {
	if f == nil {
		return nil
	}
	if f.Audio != nil {
		switch f.Audio.EchoReduction {
		case "", "AVAILABLE", "UNAVAILABLE":
		default:
			return invalid("MeetingFeatures.Audio.EchoReduction", "must be AVAILABLE or UNAVAILABLE")
		}
	}
	if f.Video != nil {
		switch f.Video.MaxResolution {
		case "", "None", "HD", "FHD":
		default:
			return invalid("MeetingFeatures.Video.MaxResolution", "must be None, HD or FHD")
		}
	}
	if f.Content != nil {
		switch f.Content.MaxResolution {
		case "", "None", "FHD", "UHD":
		default:
			return invalid("MeetingFeatures.Content.MaxResolution", "must be None, FHD or UHD")
		}
	}
	e := featuresOf(f)
	if f.Attendee != nil {
		if f.Attendee.MaxCount == nil {
			return invalid("MeetingFeatures.Attendee.MaxCount", "a value is required when Attendee is given")
		}
		if e.maxCount < 1 || e.maxCount > perMeeting {
			return invalid("MeetingFeatures.Attendee.MaxCount", "must be 1 to %d, got %d", perMeeting, e.maxCount)
		}
	}
	if e.videoMax == "FHD" || e.contentMax == "UHD" {
		if e.maxCount == 0 {
			return invalid("MeetingFeatures.Attendee.MaxCount", "is required when Video.MaxResolution is FHD or Content.MaxResolution is UHD")
		}
		if e.maxCount > highRes {
			return invalid("MeetingFeatures.Attendee.MaxCount", "must be at most %d with FHD video or UHD content, got %d", highRes, e.maxCount)
		}
	}
	return nil
}

func validCapability(v string) bool {
	switch v {
	case "SendReceive", "Send", "Receive", "None":
		return true
	}
	return false
}

// validateCapabilities checks an attendee's capabilities against each other
// and against the meeting's features. nil means the default, SendReceive for
// all three.
func validateCapabilities(c *Capabilities, f effectiveFeatures) error {
	if c == nil {
		return nil
	}
	for _, f := range []struct{ field, v string }{
		{"Capabilities.Audio", c.Audio}, {"Capabilities.Video", c.Video}, {"Capabilities.Content", c.Content},
	} {
		if f.v == "" {
			return invalid(f.field, "a value is required (SendReceive, Send, Receive or None)")
		}
		if !validCapability(f.v) {
			return invalid(f.field, "must be SendReceive, Send, Receive or None, got %q", f.v)
		}
	}
	if f.videoMax == "None" && c.Video != "None" {
		return invalid("Capabilities.Video", "must be None when the meeting's Video.MaxResolution is None")
	}
	if f.contentMax == "None" && c.Content != "None" {
		return invalid("Capabilities.Content", "must be None when the meeting's Content.MaxResolution is None")
	}
	receivesContent := c.Content == "SendReceive" || c.Content == "Receive"
	receivesVideo := c.Video == "SendReceive" || c.Video == "Receive"
	if receivesContent && !receivesVideo {
		return invalid("Capabilities.Content", "can be SendReceive or Receive only when Capabilities.Video is SendReceive or Receive")
	}
	return nil
}

func defaultCapabilities(f effectiveFeatures) Capabilities {
	c := Capabilities{Audio: "SendReceive", Video: "SendReceive", Content: "SendReceive"}
	if f.videoMax == "None" {
		c.Video = "None"
		c.Content = "None" // receiving content needs video receive
	}
	if f.contentMax == "None" {
		c.Content = "None"
	}
	return c
}

func validateAttendeeInput(in *CreateAttendeeInput, f effectiveFeatures) error {
	if err := checkID("ExternalUserId", in.ExternalUserId); err != nil {
		return err
	}
	return validateCapabilities(in.Capabilities, f)
}
