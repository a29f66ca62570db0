package notify

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Dead-letter reasons.
const (
	ReasonTooLarge    = "too_large"    // over Config.MaxMessageBytes: never sent
	ReasonMaxAttempts = "max_attempts" // Retry.MaxAttempts attempts failed
	ReasonMaxAge      = "max_age"      // still failing after Retry.MaxAge
	ReasonHookDeleted = "hook_deleted" // queued for a hook that was deleted
	ReasonOutboxFull  = "outbox_full"  // the target or the outbox was at its Limits
	ReasonPanic       = "panic"        // sending it panicked (a bug; re-drive after the fix)
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

// deadStore is the admin's view of the outbox's dead-letter store: list,
// read, re-drive and discard. Re-drives go through the outbox writer;
// redrivable says whether a dead letter's target can take it back.
type deadStore struct {
	ob         *outbox
	redrivable func(*entry) error // called inside a writer transaction
}

// list returns up to limit dead letters with id > after, optionally of one
// target; next is the id to pass as after for the next page ("" at end).
func (d *deadStore) list(target string, after uint64, limit int) (out []DeadLetter, next string, err error) {
	if d.ob.isClosed() {
		return nil, "", ErrClosed
	}
	out = []DeadLetter{}
	err = d.ob.view(func(tx *bolt.Tx) error {
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

// get returns one dead letter with its event.
func (d *deadStore) get(id string) (DeadLetter, error) {
	seq, err := parseDeadID(id)
	if err != nil {
		return DeadLetter{}, err
	}
	if d.ob.isClosed() {
		return DeadLetter{}, ErrClosed
	}
	var dl DeadLetter
	err = d.ob.view(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketDead).Get(seqKey(seq))
		if v == nil {
			return fmt.Errorf("%w: id %s", ErrDeadLetterNotFound, id)
		}
		e, err := decodeEntry(seqKey(seq), v)
		if err != nil {
			return err
		}
		dl = deadView(e, true)
		return nil
	})
	return dl, err
}

// redrive re-queues one dead letter. A refusal (unknown id, target gone)
// leaves the transaction clean rather than failing it.
func (d *deadStore) redrive(id string) error {
	seq, err := parseDeadID(id)
	if err != nil {
		return err
	}
	var refused error
	err = d.ob.write(func(w *wtx) error {
		e, err := w.deadEntry(seq)
		if err != nil {
			return err
		}
		if e == nil {
			refused = fmt.Errorf("%w: id %s", ErrDeadLetterNotFound, id)
			return nil
		}
		if refused = d.redrivable(e); refused != nil {
			return nil
		}
		return w.redrive(e)
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
func (d *deadStore) redriveAll(target string) (RedriveResult, error) {
	var res RedriveResult
	err := d.ob.write(func(w *wtx) error {
		res = RedriveResult{Skipped: map[string]string{}}
		c := w.tx.Bucket(bucketDead).Cursor()
		var todo []*entry
		for k, v := c.First(); k != nil; k, v = c.Next() {
			e, err := decodeEntry(k, v)
			if err != nil || (target != "" && e.meta.Target != target) {
				continue
			}
			if err := d.redrivable(e); err != nil {
				res.Skipped[strconv.FormatUint(e.seq, 10)] = err.Error()
				continue
			}
			todo = append(todo, e)
		}
		for _, e := range todo {
			if err := w.redrive(e); err != nil {
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
func (d *deadStore) discard(id string) error {
	seq, err := parseDeadID(id)
	if err != nil {
		return err
	}
	var refused error
	err = d.ob.write(func(w *wtx) error {
		ok, err := w.discard(seq)
		if !ok && err == nil {
			refused = fmt.Errorf("%w: id %s", ErrDeadLetterNotFound, id)
		}
		return err
	})
	if err != nil {
		return err
	}
	return refused
}
