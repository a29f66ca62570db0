package meeting

import (
	"context"
	"strings"

	"github.com/confab-media/confab/signaling/store"
)

const maxTags = 50

// meetingByARN resolves arn:aws:chime:<region>:<account>:meeting/<MeetingId>.
func (s *Service) meetingByARN(arn string) (*liveMeeting, error) {
	if err := validateARN("ResourceARN", arn, 1011); err != nil {
		return nil, err
	}
	notFound := errorf(ErrResourceGone, "Resource %s not found", arn)
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || parts[2] != "chime" || parts[4] != s.cfg.AccountID {
		return nil, notFound
	}
	id, ok := strings.CutPrefix(parts[5], "meeting/")
	if !ok || !IsGUID(id) {
		return nil, notFound
	}
	m, err := s.lookup(id)
	if err != nil || m.rec.MediaRegion != parts[3] {
		return nil, notFound
	}
	return m, nil
}

// ListTagsForResource returns a meeting's tags.
func (s *Service) ListTagsForResource(_ context.Context, arn string) ([]Tag, error) {
	m, err := s.meetingByARN(arn)
	if err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]Tag{}, m.rec.Tags...), nil
}

// TagResource adds or replaces tags on a meeting (at most 50 in all).
func (s *Service) TagResource(_ context.Context, arn string, tags []Tag) error {
	if len(tags) < 1 || len(tags) > maxTags {
		return invalid("Tags", "must have 1 to %d items, got %d", maxTags, len(tags))
	}
	if err := validateTags(tags); err != nil {
		return err
	}
	return s.updateTags(arn, func(cur []Tag) ([]Tag, error) {
		next := append([]Tag{}, cur...)
		for _, t := range tags {
			replaced := false
			for i := range next {
				if next[i].Key == t.Key {
					next[i].Value, replaced = t.Value, true
				}
			}
			if !replaced {
				next = append(next, t)
			}
		}
		if len(next) > maxTags {
			return nil, errorf(ErrTooManyTags, "A meeting can have at most %d tags; this request would make %d", maxTags, len(next))
		}
		return next, nil
	})
}

// UntagResource removes tags by key; absent keys are ignored.
func (s *Service) UntagResource(_ context.Context, arn string, keys []string) error {
	if len(keys) < 1 || len(keys) > maxTags {
		return invalid("TagKeys", "must have 1 to %d items, got %d", maxTags, len(keys))
	}
	for _, k := range keys {
		if err := checkLen("TagKeys", k, 1, 128); err != nil {
			return err
		}
		if err := checkChars("TagKeys", k, isTagChar, "^(?!aws:)"+tagPattern+"$"); err != nil {
			return err
		}
	}
	return s.updateTags(arn, func(cur []Tag) ([]Tag, error) {
		next := make([]Tag, 0, len(cur))
		for _, t := range cur {
			drop := false
			for _, k := range keys {
				drop = drop || t.Key == k
			}
			if !drop {
				next = append(next, t)
			}
		}
		return next, nil
	})
}

func (s *Service) updateTags(arn string, change func([]Tag) ([]Tag, error)) error {
	m, err := s.meetingByARN(arn)
	if err != nil {
		return err
	}
	m.mu.Lock()
	if m.ended {
		m.mu.Unlock()
		return errorf(ErrResourceGone, "Resource %s not found", arn)
	}
	next, err := change(m.rec.Tags)
	if err != nil {
		m.mu.Unlock()
		return err
	}
	m.rec.Tags = next
	ch := s.p.Store.Submit(store.PutMeeting(m.rec))
	m.mu.Unlock()
	return commit(ch)
}

// StartMeetingTranscription always fails: Confab has no transcription
// engine. The meeting must exist, so callers still learn about bad IDs first.
func (s *Service) StartMeetingTranscription(_ context.Context, meetingID string, hasConfig bool) error {
	if !hasConfig {
		return invalid("TranscriptionConfiguration", "a value is required")
	}
	if _, err := s.GetMeeting(context.Background(), meetingID); err != nil {
		return err
	}
	return errorf(ErrUnprocessable, "Meeting transcription is not available: this Confab deployment has no transcription engine")
}

// StopMeetingTranscription fails like StartMeetingTranscription.
func (s *Service) StopMeetingTranscription(_ context.Context, meetingID string) error {
	if _, err := s.GetMeeting(context.Background(), meetingID); err != nil {
		return err
	}
	return errorf(ErrUnprocessable, "Meeting transcription is not available: this Confab deployment has no transcription engine")
}
