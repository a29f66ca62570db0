package notify

import (
	"encoding/json"
	"strings"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
)

// meetingReg is a meeting's registered targets.
type meetingReg struct {
	Targets MeetingTargets `json:"targets"`
	EndedAt int64          `json:"ended,omitempty"` // unix ns of MeetingEnded; 0 while live
}

// meetingSet holds the meetings' registered targets in memory; the registry
// stores them in notify.meetings.
type meetingSet struct {
	grace time.Duration // Config.MeetingGrace

	mu sync.Mutex // guards m; never held while waiting for the outbox writer
	m  map[string]meetingReg
}

// load reads the stored registrations and returns the keys of those past
// their grace period, to delete.
func (ms *meetingSet) load(b *bolt.Bucket, now time.Time) (expired [][]byte, err error) {
	ms.mu.Lock()
	defer ms.mu.Unlock()
	err = b.ForEach(func(k, v []byte) error {
		var r meetingReg
		if err := json.Unmarshal(v, &r); err != nil {
			return nil
		}
		if r.EndedAt != 0 && now.Sub(time.Unix(0, r.EndedAt)) > ms.grace {
			expired = append(expired, append([]byte(nil), k...))
			return nil
		}
		ms.m[string(k)] = r
		return nil
	})
	return expired, err
}

// set records a meeting's registration; the zero one forgets the meeting.
func (ms *meetingSet) set(id string, r meetingReg) {
	ms.mu.Lock()
	defer ms.mu.Unlock()
	if r == (meetingReg{}) {
		delete(ms.m, id)
	} else {
		ms.m[id] = r
	}
}

func (ms *meetingSet) len() int {
	ms.mu.Lock()
	defer ms.mu.Unlock()
	return len(ms.m)
}

// route adds rt.meetingID's targets to rt. When ended (the event is
// chime:MeetingEnded) it marks the meeting ended and prunes the
// registrations past their grace period, recording both in rt.
func (ms *meetingSet) route(rt *route, ended bool, now time.Time) {
	ms.mu.Lock()
	defer ms.mu.Unlock()
	if r, ok := ms.m[rt.meetingID]; ok {
		for _, a := range []string{r.Targets.SqsQueueArn, r.Targets.SnsTopicArn, r.Targets.LambdaFunctionArn} {
			if a != "" {
				rt.targets = append(rt.targets, a)
			}
		}
		if ended && r.EndedAt == 0 {
			r.EndedAt = now.UnixNano()
			ms.m[rt.meetingID] = r
			rt.ended = &r
		}
	}
	if ended {
		for id, r := range ms.m {
			if r.EndedAt != 0 && now.Sub(time.Unix(0, r.EndedAt)) > ms.grace {
				delete(ms.m, id)
				rt.prune = append(rt.prune, id)
			}
		}
	}
}

// setMeeting records where a meeting's events go; see
// Service.SetMeetingTargets.
func (r *registry) setMeeting(meetingID string, t MeetingTargets) error {
	if t.empty() {
		return r.forgetMeeting(meetingID)
	}
	if err := r.resolver.CheckTargets(t); err != nil {
		return err
	}
	id := strings.ToLower(meetingID)
	reg := meetingReg{Targets: t}
	v, _ := json.Marshal(&reg)
	r.meetings.set(id, reg)
	return r.ob.write(func(w *wtx) error { return w.tx.Bucket(bucketMeetings).Put([]byte(id), v) })
}

// forgetMeeting drops a meeting's targets; see Service.ForgetMeeting.
func (r *registry) forgetMeeting(meetingID string) error {
	id := strings.ToLower(meetingID)
	r.meetings.set(id, meetingReg{})
	return r.ob.write(func(w *wtx) error { return w.tx.Bucket(bucketMeetings).Delete([]byte(id)) })
}
