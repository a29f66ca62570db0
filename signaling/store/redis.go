package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/confab-media/confab/signaling/events"
)

// Key layout (Redis, every key under RedisConfig.Prefix, "confab:" by default):
//
//	meeting:<meetingID>    string: MeetingRecord JSON
//	attendees:<meetingID>  hash:   attendeeID → AttendeeRecord JSON
//	group:<groupID>        set:    the meeting IDs a media group (node) hosts
//	events                 stream: one entry per Event op (fields "event",
//	                       the events.Event JSON, and "targets", the meeting's
//	                       NotificationsConfiguration JSON when it has one)
//
// A submission is one MULTI/EXEC: its state changes and its events commit
// together or not at all, and the 200 that follows means Redis has them (on
// disk when Redis runs with appendonly yes and appendfsync always, which
// OpenRedis checks and warns about).
const (
	keyMeeting   = "meeting:"
	keyAttendees = "attendees:"
	keyGroup     = "group:"
	keyObjects   = "objects:" // + kind: a hash of id → data
	// StreamEvents is the events stream's key, under the prefix.
	StreamEvents = "events"
)

// RedisConfig says which Redis and which part of it the store uses.
type RedisConfig struct {
	Client *redis.Client
	// Prefix starts every key (default "confab:").
	Prefix string
	// Group is the media group (node) this store loads meetings for.
	Group string
	// StreamMaxLen caps the events stream (approximately; default 1,000,000).
	// Delivery workers delete what they have handed on, so the cap only
	// matters when nobody consumes.
	StreamMaxLen int64
	// QueueDepth is how many submissions may wait for the writer (default 8192).
	QueueDepth int
}

// Redis is the cluster Store: the meetings and attendees every node can read,
// written by one goroutine per node that group-commits queued submissions in
// one MULTI/EXEC each, with their events appended to the events stream in
// the same transaction (the outbox every node's delivery consumes).
type Redis struct {
	rdb    *redis.Client
	ownRDB bool // DialRedis made rdb: Close closes it
	prefix string
	group  string
	maxLen int64
	log    *slog.Logger

	queue chan *submission
	wg    sync.WaitGroup // the writer goroutine

	mu     sync.RWMutex // guards closed against concurrent Submit/Close
	closed bool

	// known caches what a DeleteMeeting needs to undo and an event needs
	// to carry: each meeting's group and notification targets, for the
	// meetings this store has loaded or written. Writer goroutine and Load.
	knownMu sync.Mutex
	known   map[string]meetingMeta
}

// Ready reports whether Redis answers (the probe behind /readyz).
func (s *Redis) Ready(ctx context.Context) error { return s.rdb.Ping(ctx).Err() }

type meetingMeta struct {
	group   string
	targets string // NotificationsConfiguration JSON, "" for none
}

var _ Store = (*Redis)(nil)

// RedisOptions parses a redis:// or rediss:// URL into client options with
// the store's timeouts: 2 s to connect, 3 s to read or write.
func RedisOptions(rawURL string) (*redis.Options, error) {
	opt, err := redis.ParseURL(rawURL)
	if err != nil {
		return nil, err
	}
	opt.DialTimeout = 2 * time.Second
	opt.ReadTimeout = 3 * time.Second
	opt.WriteTimeout = 3 * time.Second
	return opt, nil
}

// DialRedis opens a client on opt and a store on it (OpenRedis) for the
// media group group. The store owns the client: Client returns it for the
// other users of that Redis, and Close closes it last.
func DialRedis(ctx context.Context, opt *redis.Options, group string, log *slog.Logger) (*Redis, error) {
	rdb := redis.NewClient(opt)
	s, err := OpenRedis(ctx, RedisConfig{Client: rdb, Group: group}, log)
	if err != nil {
		_ = rdb.Close()
		return nil, err
	}
	s.ownRDB = true
	return s, nil
}

// Client is the Redis client the store writes with.
func (s *Redis) Client() *redis.Client { return s.rdb }

// OpenRedis starts a store on cfg.Client. It checks that Redis answers and
// warns when its persistence would let an acknowledged write be lost.
func OpenRedis(ctx context.Context, cfg RedisConfig, log *slog.Logger) (*Redis, error) {
	if cfg.Client == nil {
		return nil, errors.New("store: redis client is nil")
	}
	if cfg.Prefix == "" {
		cfg.Prefix = "confab:"
	}
	if cfg.StreamMaxLen <= 0 {
		cfg.StreamMaxLen = 1_000_000
	}
	if cfg.QueueDepth <= 0 {
		cfg.QueueDepth = 8192
	}
	if err := cfg.Client.Ping(ctx).Err(); err != nil {
		return nil, fmt.Errorf("store: redis: %w", err)
	}
	if v, err := cfg.Client.ConfigGet(ctx, "appendfsync").Result(); err == nil && v["appendfsync"] != "always" {
		log.Warn("store: redis does not fsync every write (appendfsync is not always): a crash of Redis can lose acknowledged changes",
			"appendfsync", v["appendfsync"])
	}
	s := &Redis{
		rdb: cfg.Client, prefix: cfg.Prefix, group: cfg.Group, maxLen: cfg.StreamMaxLen, log: log,
		queue: make(chan *submission, cfg.QueueDepth), known: map[string]meetingMeta{},
	}
	s.wg.Add(1)
	go s.writeLoop()
	return s, nil
}

// HasOutbox reports that Event ops go to the events stream (store.HasOutbox).
func (s *Redis) HasOutbox() bool { return true }

// StreamKey is the full key of the events stream.
func (s *Redis) StreamKey() string { return s.prefix + StreamEvents }

// Load reads the meetings of this store's group and their attendees.
func (s *Redis) Load(ctx context.Context) ([]MeetingRecord, []AttendeeRecord, error) {
	return s.LoadGroup(ctx, s.group)
}

// LoadGroup reads the meetings a media group hosts and their attendees (a
// surviving node reads a dead one's this way to end them).
func (s *Redis) LoadGroup(ctx context.Context, group string) ([]MeetingRecord, []AttendeeRecord, error) {
	ids, err := s.rdb.SMembers(ctx, s.prefix+keyGroup+group).Result()
	if err != nil {
		return nil, nil, fmt.Errorf("store: load group %s: %w", group, err)
	}
	var ms []MeetingRecord
	var as []AttendeeRecord
	for _, id := range ids {
		m, ok, err := s.GetMeeting(ctx, id)
		if err != nil {
			return nil, nil, err
		}
		if !ok {
			continue
		}
		ms = append(ms, m)
		vals, err := s.rdb.HVals(ctx, s.prefix+keyAttendees+id).Result()
		if err != nil {
			return nil, nil, fmt.Errorf("store: load attendees of %s: %w", id, err)
		}
		for _, v := range vals {
			var a AttendeeRecord
			if err := json.Unmarshal([]byte(v), &a); err != nil {
				return nil, nil, fmt.Errorf("store: attendee of %s: %w", id, err)
			}
			as = append(as, a)
		}
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].CreatedAt.Before(ms[j].CreatedAt) })
	sort.Slice(as, func(i, j int) bool { return as[i].CreatedAt.Before(as[j].CreatedAt) })
	return ms, as, nil
}

// GetMeeting reads one meeting record (ok false: there is none) and
// remembers its group and targets for a later delete or event.
func (s *Redis) GetMeeting(ctx context.Context, meetingID string) (MeetingRecord, bool, error) {
	var m MeetingRecord
	v, err := s.rdb.Get(ctx, s.prefix+keyMeeting+meetingID).Bytes()
	if errors.Is(err, redis.Nil) {
		return m, false, nil
	}
	if err != nil {
		return m, false, fmt.Errorf("store: get meeting %s: %w", meetingID, err)
	}
	if err := json.Unmarshal(v, &m); err != nil {
		return m, false, fmt.Errorf("store: meeting %s: %w", meetingID, err)
	}
	s.remember(m)
	return m, true, nil
}

func (s *Redis) remember(m MeetingRecord) {
	meta := meetingMeta{group: m.MediaGroup}
	if m.Notifications != nil && *m.Notifications != (NotificationsConfiguration{}) {
		b, _ := json.Marshal(m.Notifications)
		meta.targets = string(b)
	}
	s.knownMu.Lock()
	s.known[m.MeetingID] = meta
	s.knownMu.Unlock()
}

func (s *Redis) meta(meetingID string) meetingMeta {
	s.knownMu.Lock()
	defer s.knownMu.Unlock()
	return s.known[meetingID]
}

// Submit queues ops behind everything submitted before.
func (s *Redis) Submit(ops ...Op) <-chan error {
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

// Close writes what is queued and stops the writer. The client stays the
// caller's to close, unless DialRedis made it: then Close closes it too.
func (s *Redis) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	close(s.queue)
	s.mu.Unlock()
	s.wg.Wait()
	if s.ownRDB {
		_ = s.rdb.Close()
	}
	return nil
}

// writeLoop is the single writer: one submission and whatever else is
// already queued (up to maxBatchOps) go into one MULTI/EXEC.
func (s *Redis) writeLoop() {
	defer s.wg.Done()
	batch := make([]*submission, 0, 256)
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
		err := s.commit(batch)
		if err != nil {
			err = fmt.Errorf("store: commit: %w", err)
			s.log.Error("store commit failed", "err", err, "submissions", len(batch))
		}
		for i, sub := range batch {
			sub.done <- err
			batch[i] = nil
		}
	}
}

// commitTimeout bounds one MULTI/EXEC: a Redis that stops answering fails
// the batch (the API answers 500) instead of holding every caller.
const commitTimeout = 10 * time.Second

func (s *Redis) commit(batch []*submission) error {
	ctx, cancel := context.WithTimeout(context.Background(), commitTimeout)
	defer cancel()
	var after []func()
	_, err := s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		for _, sub := range batch {
			for _, op := range sub.ops {
				fn, err := s.apply(ctx, p, op)
				if err != nil {
					return err
				}
				if fn != nil {
					after = append(after, fn)
				}
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, fn := range after {
		fn()
	}
	return nil
}

// apply queues op in the transaction and returns what to update in the
// cache once it has committed.
func (s *Redis) apply(ctx context.Context, p redis.Pipeliner, op Op) (func(), error) {
	switch op.kind {
	case opPutMeeting:
		v, err := json.Marshal(op.meeting)
		if err != nil {
			return nil, err
		}
		p.Set(ctx, s.prefix+keyMeeting+op.meetingID, v, 0)
		p.SAdd(ctx, s.prefix+keyGroup+op.meeting.MediaGroup, op.meetingID)
		s.remember(op.meeting) // the meeting's own MeetingStarted carries its targets
		return nil, nil
	case opDeleteMeeting:
		p.Del(ctx, s.prefix+keyMeeting+op.meetingID, s.prefix+keyAttendees+op.meetingID)
		if g := s.meta(op.meetingID).group; g != "" {
			p.SRem(ctx, s.prefix+keyGroup+g, op.meetingID)
		}
		return nil, nil
	case opPutAttendee:
		v, err := json.Marshal(op.attendee)
		if err != nil {
			return nil, err
		}
		p.HSet(ctx, s.prefix+keyAttendees+op.meetingID, op.attendeeID, v)
		return nil, nil
	case opDeleteAttendee:
		p.HDel(ctx, s.prefix+keyAttendees+op.meetingID, op.attendeeID)
		return nil, nil
	case opPutObject:
		p.HSet(ctx, s.prefix+keyObjects+op.object.Kind, op.object.ID, op.object.Data)
		return nil, nil
	case opDeleteObject:
		p.HDel(ctx, s.prefix+keyObjects+op.object.Kind, op.object.ID)
		return nil, nil
	case opEvent:
		v, err := json.Marshal(op.event)
		if err != nil {
			return nil, err
		}
		values := []any{"event", v}
		if t := s.meta(op.event.Detail.MeetingID).targets; t != "" {
			values = append(values, "targets", t)
		}
		p.XAdd(ctx, &redis.XAddArgs{Stream: s.StreamKey(), MaxLen: s.maxLen, Approx: true, Values: values})
		if op.event.Detail.EventType == events.MeetingEnded {
			id := op.event.Detail.MeetingID
			return func() {
				s.knownMu.Lock()
				delete(s.known, id)
				s.knownMu.Unlock()
			}, nil
		}
		return nil, nil
	default:
		return nil, fmt.Errorf("unknown op kind %d", op.kind)
	}
}

// LoadObjects returns the objects of kind, by id (every node's).
func (s *Redis) LoadObjects(ctx context.Context, kind string) ([]Object, error) {
	m, err := s.rdb.HGetAll(ctx, s.prefix+keyObjects+kind).Result()
	if err != nil {
		return nil, fmt.Errorf("store: load %s: %w", kind, err)
	}
	out := make([]Object, 0, len(m))
	for id, v := range m {
		out = append(out, Object{Kind: kind, ID: id, Data: []byte(v)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}
