package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"sort"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/confab-media/confab/signaling/events"
)

// Bucket layout (bbolt, one file):
//
//	meetings:  <meetingID>               → MeetingRecord JSON
//	attendees: <meetingID>/<attendeeID>  → AttendeeRecord JSON
//	objects:   <kind>/<id>               → Object.Data
//	notify.*:  the event outbox (signaling/notify), when one is attached
var (
	bucketMeetings  = []byte("meetings")
	bucketAttendees = []byte("attendees")
	bucketObjects   = []byte("objects")
)

// maxBatchOps bounds how many queued ops one transaction takes.
const maxBatchOps = 4096

// BoltConfig tunes the embedded store.
type BoltConfig struct {
	// Path of the database file; Open uses <dataDir>/confab.db.
	Path string
	// QueueDepth is how many submissions may wait for the writer (default 8192).
	QueueDepth int
}

// Bolt is the embedded Store: one bbolt file written by a single goroutine
// that group-commits whatever has been submitted while the previous commit was
// syncing. Throughput therefore grows with concurrency while each caller waits
// for at most about two fsyncs.
type Bolt struct {
	db  *bolt.DB
	log *slog.Logger

	queue chan *submission
	wg    sync.WaitGroup // the writer goroutine

	mu     sync.RWMutex // guards closed against concurrent Submit/Close
	closed bool

	// outbox receives the batch's Event ops inside its transaction. Set
	// once by SetOutbox before the first Submit; read by the writer only.
	outbox Outbox
}

// Ready reports whether the file takes a write: a write transaction
// that changes nothing (the probe behind /readyz; it waits for the
// writer's lock like any commit).
func (b *Bolt) Ready(context.Context) error {
	b.mu.RLock()
	closed := b.closed
	b.mu.RUnlock()
	if closed {
		return errors.New("store: closed")
	}
	return b.db.Update(func(*bolt.Tx) error { return nil })
}

// Outbox writes events into the transaction that makes the changes they
// announce durable: both commit, or neither does. signaling/notify
// implements it on the same bbolt file (its buckets are prefixed
// "notify.").
type Outbox interface {
	// WriteEvents runs on the store's writer goroutine inside the write
	// transaction, after the batch's state ops, with the batch's events in
	// submission order. It returns what to run once the transaction has
	// committed (nil: nothing); an error fails the whole batch.
	WriteEvents(tx *bolt.Tx, evs []events.Event) (committed func(), err error)
}

type submission struct {
	ops  []Op
	done chan error
}

var _ Store = (*Bolt)(nil)

// OpenBolt opens (creating if needed) the store in dataDir and starts its writer.
func OpenBolt(dataDir string, log *slog.Logger) (*Bolt, error) {
	return OpenBoltConfig(BoltConfig{Path: filepath.Join(dataDir, "confab.db")}, log)
}

// OpenBoltConfig opens the store described by cfg.
func OpenBoltConfig(cfg BoltConfig, log *slog.Logger) (*Bolt, error) {
	if cfg.QueueDepth <= 0 {
		cfg.QueueDepth = 8192
	}
	db, err := bolt.Open(cfg.Path, 0o600, &bolt.Options{
		Timeout:        2 * time.Second, // another confab holding the file lock
		NoFreelistSync: true,
		FreelistType:   bolt.FreelistMapType,
		// Address space, not disk: growing the file (the event outbox lives
		// here too) then needs no remap, which would wait for every open
		// read transaction (delivery workers read the outbox).
		InitialMmapSize: 256 << 20,
	})
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", cfg.Path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bucketMeetings, bucketAttendees, bucketObjects} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("store: init %s: %w", cfg.Path, err)
	}
	s := &Bolt{db: db, log: log, queue: make(chan *submission, cfg.QueueDepth)}
	s.wg.Add(1)
	go s.writeLoop()
	return s, nil
}

// DB is the open bbolt file, for a component that keeps its own buckets in
// the same file (signaling/notify's outbox). It must not touch the store's
// buckets, and it must be done with the file before Close.
func (s *Bolt) DB() *bolt.DB { return s.db }

// SetOutbox attaches the event outbox: from then on Event ops are written
// through o. Call it once, before the first Submit.
func (s *Bolt) SetOutbox(o Outbox) { s.outbox = o }

// HasOutbox reports whether an outbox is attached (see store.HasOutbox).
func (s *Bolt) HasOutbox() bool { return s.outbox != nil }

// Load reads every record. Attendees of a missing meeting (possible only if
// a crash interleaved oddly) are skipped.
func (s *Bolt) Load(ctx context.Context) ([]MeetingRecord, []AttendeeRecord, error) {
	var ms []MeetingRecord
	var as []AttendeeRecord
	err := s.db.View(func(tx *bolt.Tx) error {
		known := map[string]bool{}
		err := tx.Bucket(bucketMeetings).ForEach(func(k, v []byte) error {
			var m MeetingRecord
			if err := json.Unmarshal(v, &m); err != nil {
				return fmt.Errorf("meeting %s: %w", k, err)
			}
			known[m.MeetingID] = true
			ms = append(ms, m)
			return ctx.Err()
		})
		if err != nil {
			return err
		}
		return tx.Bucket(bucketAttendees).ForEach(func(k, v []byte) error {
			var a AttendeeRecord
			if err := json.Unmarshal(v, &a); err != nil {
				return fmt.Errorf("attendee %s: %w", k, err)
			}
			if known[a.MeetingID] {
				as = append(as, a)
			}
			return ctx.Err()
		})
	})
	if err != nil {
		return nil, nil, fmt.Errorf("store: load: %w", err)
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].CreatedAt.Before(ms[j].CreatedAt) })
	sort.Slice(as, func(i, j int) bool { return as[i].CreatedAt.Before(as[j].CreatedAt) })
	return ms, as, nil
}

// Submit queues ops behind everything submitted before.
func (s *Bolt) Submit(ops ...Op) <-chan error {
	sub := &submission{ops: ops, done: make(chan error, 1)}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		sub.done <- ErrClosed
		return sub.done
	}
	s.queue <- sub
	return sub.done
}

// Close writes what is queued, stops the writer and closes the file.
func (s *Bolt) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	close(s.queue)
	s.mu.Unlock()
	s.wg.Wait()
	return s.db.Close()
}

// writeLoop is the single writer: it takes one submission, then everything
// else already queued (up to maxBatchOps), and commits them in one transaction.
func (s *Bolt) writeLoop() {
	defer s.wg.Done()
	batch := make([]*submission, 0, 256)
	var evs []events.Event
	for first := range s.queue {
		batch = append(batch[:0], first)
		n := len(first.ops)
	drain:
		for n < maxBatchOps {
			select {
			case sub, ok := <-s.queue:
				if !ok {
					break drain
				}
				batch = append(batch, sub)
				n += len(sub.ops)
			default:
				break drain
			}
		}
		var committed func()
		err := s.db.Update(func(tx *bolt.Tx) error {
			evs = evs[:0]
			for _, sub := range batch {
				for _, op := range sub.ops {
					if op.kind == opEvent {
						evs = append(evs, op.event)
						continue
					}
					if err := applyBolt(tx, op); err != nil {
						return err
					}
				}
			}
			if len(evs) == 0 || s.outbox == nil {
				return nil
			}
			var err error
			committed, err = s.outbox.WriteEvents(tx, evs)
			return err
		})
		if err != nil {
			err = fmt.Errorf("store: commit: %w", err)
			s.log.Error("store commit failed", "err", err, "submissions", len(batch))
		} else if committed != nil {
			committed()
		}
		clear(evs)
		for i, sub := range batch {
			sub.done <- err
			batch[i] = nil
		}
	}
}

func applyBolt(tx *bolt.Tx, op Op) error {
	meetings, attendees := tx.Bucket(bucketMeetings), tx.Bucket(bucketAttendees)
	switch op.kind {
	case opPutMeeting:
		v, err := json.Marshal(op.meeting)
		if err != nil {
			return err
		}
		return meetings.Put([]byte(op.meetingID), v)
	case opDeleteMeeting:
		if err := meetings.Delete([]byte(op.meetingID)); err != nil {
			return err
		}
		prefix := []byte(op.meetingID + "/")
		c := attendees.Cursor()
		for k, _ := c.Seek(prefix); k != nil && hasPrefix(k, prefix); k, _ = c.Seek(prefix) {
			if err := c.Delete(); err != nil {
				return err
			}
		}
		return nil
	case opPutAttendee:
		v, err := json.Marshal(op.attendee)
		if err != nil {
			return err
		}
		return attendees.Put(attendeeKey(op.meetingID, op.attendeeID), v)
	case opDeleteAttendee:
		return attendees.Delete(attendeeKey(op.meetingID, op.attendeeID))
	case opPutObject:
		return tx.Bucket(bucketObjects).Put(attendeeKey(op.object.Kind, op.object.ID), op.object.Data)
	case opDeleteObject:
		return tx.Bucket(bucketObjects).Delete(attendeeKey(op.object.Kind, op.object.ID))
	default:
		return fmt.Errorf("unknown op kind %d", op.kind)
	}
}

func attendeeKey(meetingID, attendeeID string) []byte {
	k := make([]byte, 0, len(meetingID)+1+len(attendeeID))
	k = append(k, meetingID...)
	k = append(k, '/')
	return append(k, attendeeID...)
}

func hasPrefix(b, prefix []byte) bool {
	return len(b) >= len(prefix) && string(b[:len(prefix)]) == string(prefix)
}

// LoadObjects returns the objects of kind, by id.
func (b *Bolt) LoadObjects(_ context.Context, kind string) ([]Object, error) {
	var out []Object
	err := b.db.View(func(tx *bolt.Tx) error {
		prefix := []byte(kind + "/")
		c := tx.Bucket(bucketObjects).Cursor()
		for k, v := c.Seek(prefix); k != nil && hasPrefix(k, prefix); k, v = c.Next() {
			out = append(out, Object{Kind: kind, ID: string(k[len(prefix):]), Data: append([]byte(nil), v...)})
		}
		return nil
	})
	return out, err
}
