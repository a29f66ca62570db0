package notify

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/confab-media/confab/signaling/events"
)

// Bucket layout (bbolt). In confab serve the buckets live in the control
// plane's own file (confab.db, Params.DB), next to meetings and attendees,
// so that a change and its event commit in one transaction (WriteEvents);
// without Params.DB they live in <Dir>/notify.db. The "notify." prefix keeps
// them apart from the store's buckets.
//
//	notify.outbox/<target>/<seq>  → entry   one nested bucket per target key
//	notify.dead/<seq>             → entry   the dead-letter store (meta has Target, Reason)
//	notify.meetings/<meetingID>   → meetingReg JSON
//	notify.hooks/<name>           → Hook JSON (hooks created through the admin API)
//
// <seq> is 8 bytes big-endian from the outbox bucket's sequence, so every
// bucket iterates in acceptance order and a dead letter keeps its outbox seq.
// An entry is uvarint(len(meta)) ‖ meta JSON ‖ body, the body being the exact
// bytes sent.
var (
	bucketOutbox   = []byte("notify.outbox")
	bucketDead     = []byte("notify.dead")
	bucketMeetings = []byte("notify.meetings")
	bucketHooks    = []byte("notify.hooks")
	// allBuckets pairs each bucket with its name in notify.db files written
	// before the buckets moved into confab.db (see importLegacy).
	allBuckets = [][2][]byte{
		{bucketOutbox, []byte("outbox")}, {bucketDead, []byte("dead")},
		{bucketMeetings, []byte("meetings")}, {bucketHooks, []byte("hooks")},
	}
)

// meta is the stored description of an entry.
type meta struct {
	EventID   string `json:"id"`
	EventType string `json:"type,omitempty"`
	MeetingID string `json:"meeting,omitempty"`
	First     int64  `json:"first"` // unix ns when accepted
	Enqueued  int64  `json:"enq"`   // unix ns the retry budget counts from (re-drive resets it)
	Attempts  int    `json:"att,omitempty"`
	LastError string `json:"err,omitempty"`
	// Dead letters only.
	Target string `json:"target,omitempty"`
	Reason string `json:"reason,omitempty"`
	Why    string `json:"why,omitempty"`
	DeadAt int64  `json:"dead,omitempty"`
}

// entry is one event bound for one target.
type entry struct {
	seq  uint64
	meta meta
	body []byte
}

func seqKey(seq uint64) []byte {
	var k [8]byte
	binary.BigEndian.PutUint64(k[:], seq)
	return k[:]
}

func (e *entry) encode() []byte {
	m, err := json.Marshal(&e.meta)
	if err != nil { // strings and integers only
		panic(fmt.Sprintf("notify: marshal meta: %v", err))
	}
	b := make([]byte, 0, binary.MaxVarintLen64+len(m)+len(e.body))
	b = binary.AppendUvarint(b, uint64(len(m)))
	b = append(b, m...)
	return append(b, e.body...)
}

// decodeEntry parses a stored value; the body is copied out of bbolt's mmap.
func decodeEntry(k, v []byte) (*entry, error) {
	if len(k) != 8 {
		return nil, fmt.Errorf("notify: bad key length %d", len(k))
	}
	n, w := binary.Uvarint(v)
	if w <= 0 || uint64(len(v)-w) < n {
		return nil, errors.New("notify: corrupt entry")
	}
	e := &entry{seq: binary.BigEndian.Uint64(k)}
	if err := json.Unmarshal(v[w:w+int(n)], &e.meta); err != nil {
		return nil, fmt.Errorf("notify: corrupt entry meta: %w", err)
	}
	e.body = append([]byte(nil), v[w+int(n):]...)
	return e, nil
}

// pending is an event encoded for the outbox by its caller, off the writer
// goroutine, ready to be put in the queues of its targets.
type pending struct {
	meta  meta
	body  []byte
	value []byte // the stored entry; nil when the event is too large
	why   string // why it is too large ("" when it fits)
}

// newPending encodes e as accepted at now; an event over maxBytes is marked
// for the dead-letter store (reason too_large) instead.
func newPending(e events.Event, now time.Time, maxBytes int) *pending {
	p := &pending{body: e.JSON(), meta: meta{
		EventID: e.ID, EventType: string(e.Detail.EventType), MeetingID: e.Detail.MeetingID,
		First: now.UnixNano(), Enqueued: now.UnixNano(),
	}}
	if len(p.body) > maxBytes {
		p.why = fmt.Sprintf("event is %d bytes, over the %d-byte limit", len(p.body), maxBytes)
	} else {
		p.value = (&entry{meta: p.meta, body: p.body}).encode()
	}
	return p
}

// put queues the event for each target in w (or dead-letters it there).
func (p *pending) put(w *wtx, targets []string) error {
	for _, t := range targets {
		var err error
		if p.why != "" {
			err = w.deadLetter(t, &entry{meta: p.meta, body: p.body}, ReasonTooLarge, p.why)
		} else {
			_, err = w.putValue(t, 0, p.value)
		}
		if err != nil {
			return err
		}
	}
	return nil
}
