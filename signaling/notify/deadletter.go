package notify

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
)

// DeadLetter is an event that a target did not take within its retry budget
// (or that was never sent), as the admin API shows it.
type DeadLetter struct {
	ID        string    `json:"id"`
	Target    string    `json:"target"` // "hook:<name>", a meeting target ARN, or "dlq"
	Reason    string    `json:"reason"` // too_large, max_attempts, max_age, hook_deleted, outbox_full, panic
	Detail    string    `json:"detail"` // human-readable reason
	Attempts  int       `json:"attempts"`
	LastError string    `json:"last_error,omitempty"`
	EventID   string    `json:"event_id"`
	EventType string    `json:"event_type,omitempty"`
	MeetingID string    `json:"meeting_id,omitempty"`
	Accepted  time.Time `json:"accepted_at"`
	DeadAt    time.Time `json:"dead_at"`
	Size      int       `json:"size"`
	// Event is the message body; only in single-letter answers.
	Event json.RawMessage `json:"event,omitempty"`
}

// DeadLetterMessage is the body of the copy of a dead letter sent to
// Config.DLQ. Event is omitted when the event is too large.
type DeadLetterMessage struct {
	Reason    string          `json:"reason"`
	Detail    string          `json:"detail"`
	Target    string          `json:"target"`
	Attempts  int             `json:"attempts"`
	LastError string          `json:"last_error,omitempty"`
	EventID   string          `json:"event_id"`
	EventType string          `json:"event_type,omitempty"`
	MeetingID string          `json:"meeting_id,omitempty"`
	Accepted  time.Time       `json:"accepted_at"`
	DeadAt    time.Time       `json:"dead_at"`
	Event     json.RawMessage `json:"event,omitempty"`
}

func dlqMessage(d *entry) []byte {
	m := DeadLetterMessage{
		Reason: d.meta.Reason, Detail: d.meta.Why, Target: d.meta.Target, Attempts: d.meta.Attempts,
		LastError: d.meta.LastError, EventID: d.meta.EventID, EventType: d.meta.EventType,
		MeetingID: d.meta.MeetingID, Accepted: time.Unix(0, d.meta.First).UTC(), DeadAt: time.Unix(0, d.meta.DeadAt).UTC(),
	}
	if d.meta.Reason != ReasonTooLarge && json.Valid(d.body) {
		m.Event = d.body
	}
	b, _ := json.Marshal(&m)
	if len(b) > maxBatchBytes && m.Event != nil {
		m.Event = nil
		b, _ = json.Marshal(&m)
	}
	return b
}

func deadView(e *entry, withBody bool) DeadLetter {
	d := DeadLetter{
		ID: strconv.FormatUint(e.seq, 10), Target: e.meta.Target, Reason: e.meta.Reason, Detail: e.meta.Why,
		Attempts: e.meta.Attempts, LastError: e.meta.LastError, EventID: e.meta.EventID,
		EventType: e.meta.EventType, MeetingID: e.meta.MeetingID, Size: len(e.body),
		Accepted: time.Unix(0, e.meta.First).UTC(), DeadAt: time.Unix(0, e.meta.DeadAt).UTC(),
	}
	if withBody {
		if json.Valid(e.body) {
			d.Event = e.body
		} else {
			d.Event, _ = json.Marshal(string(e.body))
		}
	}
	return d
}

func parseDeadID(id string) (uint64, error) {
	seq, err := strconv.ParseUint(id, 10, 64)
	if err != nil || seq == 0 {
		return 0, fmt.Errorf("%w: id %q", ErrDeadLetterNotFound, id)
	}
	return seq, nil
}

// deadLetters lists up to limit dead letters with id > after, optionally of
// one target; next is the id to pass as after for the next page ("" at end).
func (s *Service) deadLetters(target string, after uint64, limit int) (out []DeadLetter, next string, err error) {
	if err := s.errClosedIf(); err != nil {
		return nil, "", err
	}
	out = []DeadLetter{}
	err = s.ob.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketDead).Cursor()
		for k, v := c.Seek(seqKey(after + 1)); k != nil; k, v = c.Next() {
			e, err := decodeEntry(k, v)
			if err != nil {
				continue
			}
			if target != "" && e.meta.Target != target {
				continue
			}
			if len(out) == limit {
				next = out[len(out)-1].ID
				return nil
			}
			out = append(out, deadView(e, false))
		}
		return nil
	})
	return out, next, err
}

// deadLetter returns one dead letter with its event.
func (s *Service) deadLetter(id string) (DeadLetter, error) {
	seq, err := parseDeadID(id)
	if err != nil {
		return DeadLetter{}, err
	}
	if err := s.errClosedIf(); err != nil {
		return DeadLetter{}, err
	}
	var d DeadLetter
	err = s.ob.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketDead).Get(seqKey(seq))
		if v == nil {
			return fmt.Errorf("%w: id %s", ErrDeadLetterNotFound, id)
		}
		e, err := decodeEntry(seqKey(seq), v)
		if err != nil {
			return err
		}
		d = deadView(e, true)
		return nil
	})
	return d, err
}

// redrivable reports why a dead letter cannot go back to its target, if so.
// Called inside a writer transaction.
func (s *Service) redrivable(e *entry) error {
	t := e.meta.Target
	switch {
	case len(e.body) > s.cfg.MaxMessageBytes:
		return fmt.Errorf("%w: %w: %d bytes, over the %d-byte limit", ErrNotRedrivable, ErrTooLarge, len(e.body), s.cfg.MaxMessageBytes)
	case strings.HasPrefix(t, hookPrefix):
		if s.hookFor(strings.TrimPrefix(t, hookPrefix)) == nil {
			return fmt.Errorf("%w: hook %s no longer exists", ErrNotRedrivable, strings.TrimPrefix(t, hookPrefix))
		}
	case t == dlqTarget:
		if s.dlq == nil {
			return fmt.Errorf("%w: no DLQ is configured", ErrNotRedrivable)
		}
	default:
		if _, _, err := s.resolver.resolve(t); err != nil {
			return fmt.Errorf("%w: %w", ErrNotRedrivable, err)
		}
	}
	return nil
}

// redriveOne moves dead letter e (key k) back to its target's queue with a
// fresh retry budget: same event id, new seq.
func (s *Service) redriveOne(w *wtx, k []byte, e *entry) error {
	target := e.meta.Target
	size := len(w.tx.Bucket(bucketDead).Get(k))
	if err := w.tx.Bucket(bucketDead).Delete(k); err != nil {
		return err
	}
	w.deadN--
	w.deadBytes -= size
	e.seq = 0
	e.meta.Target, e.meta.Reason, e.meta.Why, e.meta.DeadAt = "", "", "", 0
	e.meta.Attempts, e.meta.LastError = 0, ""
	e.meta.Enqueued = w.now.UnixNano()
	return w.put(target, e)
}

// redrive re-queues one dead letter. A refusal (unknown id, target gone)
// leaves the transaction clean rather than failing it.
func (s *Service) redrive(id string) error {
	seq, err := parseDeadID(id)
	if err != nil {
		return err
	}
	var refused error
	err = s.write(func(w *wtx) error {
		v := w.tx.Bucket(bucketDead).Get(seqKey(seq))
		if v == nil {
			refused = fmt.Errorf("%w: id %s", ErrDeadLetterNotFound, id)
			return nil
		}
		e, err := decodeEntry(seqKey(seq), v)
		if err != nil {
			return err
		}
		if refused = s.redrivable(e); refused != nil {
			return nil
		}
		return s.redriveOne(w, seqKey(seq), e)
	})
	if err != nil {
		return err
	}
	return refused
}

// RedriveResult counts a bulk re-drive.
type RedriveResult struct {
	Redriven int               `json:"redriven"`
	Skipped  map[string]string `json:"skipped,omitempty"` // id → why not
}

// redriveAll re-queues every dead letter (of one target, if set) that can be.
func (s *Service) redriveAll(target string) (RedriveResult, error) {
	var res RedriveResult
	err := s.write(func(w *wtx) error {
		res = RedriveResult{Skipped: map[string]string{}}
		c := w.tx.Bucket(bucketDead).Cursor()
		var todo []*entry
		for k, v := c.First(); k != nil; k, v = c.Next() {
			e, err := decodeEntry(k, v)
			if err != nil || (target != "" && e.meta.Target != target) {
				continue
			}
			if err := s.redrivable(e); err != nil {
				res.Skipped[strconv.FormatUint(e.seq, 10)] = err.Error()
				continue
			}
			todo = append(todo, e)
		}
		for _, e := range todo {
			if err := s.redriveOne(w, seqKey(e.seq), e); err != nil {
				return err
			}
			res.Redriven++
		}
		return nil
	})
	if len(res.Skipped) == 0 {
		res.Skipped = nil
	}
	return res, err
}

// discard deletes one dead letter.
func (s *Service) discard(id string) error {
	seq, err := parseDeadID(id)
	if err != nil {
		return err
	}
	var refused error
	err = s.write(func(w *wtx) error {
		b := w.tx.Bucket(bucketDead)
		v := b.Get(seqKey(seq))
		if v == nil {
			refused = fmt.Errorf("%w: id %s", ErrDeadLetterNotFound, id)
			return nil
		}
		w.deadN--
		w.deadBytes -= len(v)
		return b.Delete(seqKey(seq))
	})
	if err != nil {
		return err
	}
	return refused
}
